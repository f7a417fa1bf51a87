"""Speed benchmark: whole `sentinel run` processes vs a hand-written raw-SQL script doing the same work.

The canonical suite on deals(id, owner, amount, currency, close_date, updated_at):
  row count > 0; freshness of updated_at; amount between 0 and 5,000,000 with every violating id;
  currency in {USD} with the exact count of each unexpected value; mean(amount) between bounds;
  0.5 and 0.99 quantiles between bounds.
Both sides do one aggregate scan, then fetch the violating ids and the unexpected currency counts.

    python bench/speed.py                      # 1M and 10M rows, DuckDB and PostgreSQL, 5 runs each
    python bench/speed.py --rows 1000000 --backends duckdb --runs 3
    python bench/speed.py --smoke              # tiny tables, one run: checks the harness works (CI)
    python bench/speed.py --detectors          # also time volume + magnitude + subschema on the same table

With --detectors, a second `sentinel run` per case runs the three detectors (volume of updated_at by hour,
magnitude of amount within owner, subschema of amount by currency) and is timed against the same raw-SQL
script (issue 3's target: within 2x of raw DuckDB at 10M rows; PostgreSQL RSS flat in the row count); the
"warm" row times the same run repeated inside one process, as the daemon runs it (imports paid once).

PostgreSQL: 127.0.0.1:5432, database `test` (override with SENTINEL_BENCH_PG); tables live in schema
`bench_speed` and are reused between invocations when their row count matches.
Prints medians, the ratio sentinel/raw, the cold run on a 10-row table and peak RSS of `sentinel run`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PG = os.environ.get("SENTINEL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = "bench_speed"
BAD_AMOUNTS = 500  # violating rows (amount < 0 or > 5,000,000): every id must come back
Q50, Q99 = (1_000, 100_000), (10_000, 5_000_000)

GENERATE_SELECT = """
    SELECT i AS id,
           'rep' || (i % 97) AS owner,
           CASE WHEN i % {step} = 7 THEN (CASE WHEN i % 2 = 0 THEN -100.0 ELSE 9000000.0 END)
                ELSE round(exp(7 + 2.5 * ((i * 7919) % 10007) / 10007.0)) END AS amount,
           CASE WHEN i % 1000 = 3 THEN 'EUR' WHEN i % 5000 = 11 THEN 'JPY' ELSE 'USD' END AS currency,
           DATE '2026-01-01' + CAST(i % 365 AS INTEGER) AS close_date,
           {now} - (i % 86400) * INTERVAL '1 second' AS updated_at
"""

RAW_DUCKDB = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
agg = con.execute('''SELECT count(*), max(updated_at),
    sum(CASE WHEN amount IS NOT NULL AND NOT (amount >= 0 AND amount <= 5000000) THEN 1 ELSE 0 END),
    count(amount), sum(CASE WHEN currency IS NOT NULL AND currency NOT IN ('USD') THEN 1 ELSE 0 END),
    count(currency), avg(amount), quantile_disc(amount, [0.5, 0.99]) FROM deals''').fetchone()
ids = con.execute('''SELECT id, amount FROM deals WHERE amount IS NOT NULL AND NOT (amount >= 0 AND amount <= 5000000)
    ORDER BY id LIMIT 100000''').fetchall() if agg[2] else []
cur = con.execute('''SELECT currency, count(*) FROM deals WHERE currency IS NOT NULL AND currency NOT IN ('USD')
    GROUP BY currency ORDER BY 2 DESC''').fetchall() if agg[4] else []
assert agg[0] > 0 and len(ids) == agg[2], (agg, len(ids))
print(agg[0], len(ids), cur)
"""

RAW_PG = """
import sys, psycopg
con = psycopg.connect(sys.argv[1])
cur = con.cursor()
cur.execute('''SELECT count(*), max(updated_at),
    sum(CASE WHEN amount IS NOT NULL AND NOT (amount >= 0 AND amount <= 5000000) THEN 1 ELSE 0 END),
    count(amount), sum(CASE WHEN currency IS NOT NULL AND currency NOT IN ('USD') THEN 1 ELSE 0 END),
    count(currency), avg(amount), percentile_disc(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY amount)
    FROM bench_speed.deals''')
agg = cur.fetchone()
ids = []
if agg[2]:
    cur.execute('''SELECT id, amount FROM bench_speed.deals WHERE amount IS NOT NULL
        AND NOT (amount >= 0 AND amount <= 5000000) ORDER BY id LIMIT 100000''')
    ids = cur.fetchall()
counts = []
if agg[4]:
    cur.execute('''SELECT currency, count(*) FROM bench_speed.deals WHERE currency IS NOT NULL
        AND currency NOT IN ('USD') GROUP BY currency ORDER BY 2 DESC''')
    counts = cur.fetchall()
assert agg[0] > 0 and len(ids) == agg[2], (agg, len(ids))
print(agg[0], len(ids), counts)
"""

CHECKS = """
datasets:
  - name: deals
    source: wh
    table: {table}
    key: id
    checks:
      - not_empty: {{}}
      - freshness: {{column: updated_at, max_age: 2d}}
      - expect:
          type: expect_column_values_to_be_between
          kwargs: {{column: amount, min_value: 0, max_value: 5000000}}
      - expect: {{type: expect_column_values_to_be_in_set, kwargs: {{column: currency, value_set: [USD]}}}}
      - expect:
          type: expect_column_mean_to_be_between
          kwargs: {{column: amount, min_value: 100, max_value: 1000000}}
      - expect:
          type: expect_column_quantile_values_to_be_between
          kwargs: {{column: amount, quantile_ranges: {{quantiles: [0.5, 0.99], value_ranges: [{q50}, {q99}]}}}}
"""

DETECTORS = """
datasets:
  - name: deals
    source: wh
    table: {table}
    key: id
    checks:
      - volume: {{timestamp_column: updated_at, bucket: hour, training_period: 18h, detection_period: 4h}}
      - magnitude: {{column: amount, group_by: [owner]}}
      - subschema: {{value_column: amount, category_column: currency}}
"""

# The daemon's case: one process, config loaded and imports paid once, the same run repeated.
WARM = """
import statistics, sys, time
from sentinel.config import load_config
from sentinel.runner import run_dataset
from sentinel.store import Store
cfg = load_config(sys.argv[1])
store = Store(cfg.state_url)
run_dataset(cfg, store, cfg.datasets[0])
times = []
for _ in range(int(sys.argv[2])):
    began = time.perf_counter()
    run_dataset(cfg, store, cfg.datasets[0])
    times.append(time.perf_counter() - began)
print(statistics.median(times))
"""


# What any `sentinel run` on this stack pays before it reads a byte: start Python and import the libraries the
# run path needs (issue 2 names them), printed next to the cold run so that figure can be read against it.
FLOOR = """
import os
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
import duckdb, duckdb_engine, pydantic, rich.console, rich.table, sqlalchemy, typer, yaml
class Probe(pydantic.BaseModel):  # pydantic loads its machinery with the first model
    a: int
"""


def sentinel_cmd() -> list[str]:
    return [sys.executable, "-m", "sentinel"]


def make_duckdb(path: Path, rows: int) -> None:
    import duckdb

    step = max(rows // BAD_AMOUNTS, 1)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    select = GENERATE_SELECT.format(step=step, now="now()::TIMESTAMP")
    con.execute(f"CREATE TABLE deals AS {select} FROM (SELECT range AS i FROM range(1, {rows + 1}))")
    con.close()


def make_postgres(rows: int) -> None:
    import psycopg

    step = max(rows // BAD_AMOUNTS, 1)
    with psycopg.connect(PG, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        have = con.execute(
            "SELECT reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = 'deals'",
            (SCHEMA,),
        ).fetchone()
        if have and have[0] == rows and con.execute(f"SELECT count(*) FROM {SCHEMA}.deals").fetchone()[0] == rows:
            con.execute(f"UPDATE {SCHEMA}.deals SET updated_at = updated_at WHERE false")
            return
        con.execute(f"DROP TABLE IF EXISTS {SCHEMA}.deals")
        select = GENERATE_SELECT.format(step=step, now="localtimestamp")
        con.execute(f"CREATE TABLE {SCHEMA}.deals AS {select} FROM generate_series(1::bigint, {rows}::bigint) AS i")
        con.execute(f"ANALYZE {SCHEMA}.deals")


def write_project(folder: Path, url: str, table: str, checks: str = CHECKS) -> Path:
    (folder / "checks").mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(
        textwrap.dedent(f"""
        state: sqlite:///state.db
        evidence_limit: 100000
        sources:
          wh: {{type: sql, url: "{url}"}}
        """)
    )
    (folder / "checks" / "deals.yaml").write_text(checks.format(table=table, q50=list(Q50), q99=list(Q99)))
    return folder / "config.yaml"


def timed(cmd: list[str], ok_codes=(0, 1)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return elapsed


def peak_rss_mib(cmd: list[str]) -> float:
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def compare(label: str, raw: list[str], sentinel: list[str], runs: int, rss: bool) -> dict:
    timed(raw)  # warm the OS cache for both sides alike
    timed(sentinel)
    raw_t, sen_t = [], []
    for _ in range(runs):  # interleaved, so drift in machine load hits both
        raw_t.append(timed(raw))
        sen_t.append(timed(sentinel))
    row = {"case": label, "raw_s": statistics.median(raw_t), "sentinel_s": statistics.median(sen_t)}
    row["ratio"] = row["sentinel_s"] / row["raw_s"]
    row["rss_mib"] = peak_rss_mib(sentinel) if rss else None
    return row


# --- the GX long tail (issue 13, item 8): a six-expectation GX suite, Sentinel vs Great Expectations alone ---

GX_SUITE = {
    "name": "deals",
    "expectations": [  # three Sentinel compiles into its scan, three it hands to GX in one validation
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "amount"}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "amount", "min_value": 0, "max_value": 5e6},
        },
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "currency", "value_set": ["USD", "EUR"]}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "owner", "regex": "^rep[0-9]+$"}},
        {
            "type": "expect_column_value_lengths_to_be_between",
            "kwargs": {"column": "currency", "min_value": 3, "max_value": 3},
        },
        {
            "type": "expect_column_pair_values_a_to_be_greater_than_b",
            "kwargs": {"column_A": "amount", "column_B": "cost"},
        },
    ],
}

# Great Expectations on its own, as its docs run it on a table: load it into pandas, validate the suite.
GX_ALONE = """
import json, sys, duckdb, great_expectations as gx
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
df = duckdb.connect(sys.argv[1], read_only=True).execute("SELECT * FROM deals").df()
ctx = gx.get_context(mode="ephemeral")
items = json.loads(open(sys.argv[2]).read())["expectations"]
suite = gx.ExpectationSuite(name="deals", expectations=[ExpectationConfiguration(**e).to_domain_obj() for e in items])
asset = ctx.data_sources.add_pandas("p").add_dataframe_asset("deals")
batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df})
res = batch.validate(suite)
print(json.dumps([(r.expectation_config.type, r.result.get("unexpected_count")) for r in res.results]))
"""


def make_gx_suite_table(path: Path, rows: int) -> None:
    """deals(id, owner, amount, cost, currency): each long-tail expectation fails on its own rows."""
    import duckdb

    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute(f"""
        CREATE TABLE deals AS
        SELECT i AS id,
               CASE WHEN i % 1999 = 5 THEN 'Rep ' || (i % 97) ELSE 'rep' || (i % 97) END AS owner,
               round(exp(7 + 2.5 * ((i * 7919) % 10007) / 10007.0)) AS amount,
               CASE WHEN i % 2503 = 9 THEN 1.1 ELSE 0.6 END * round(exp(7 + 2.5 * ((i * 7919) % 10007) / 10007.0))
                   AS cost,
               CASE WHEN i % 3001 = 2 THEN 'US' WHEN i % 1000 = 3 THEN 'EUR' ELSE 'USD' END AS currency
        FROM (SELECT range AS i FROM range(1, {rows + 1}))""")
    con.close()


def gx_suite_case(tmp: Path, rows: int, runs: int) -> dict:
    """A fresh `sentinel run` of the six-expectation suite vs GX alone on the same DuckDB table, interleaved
    with a process that only imports GX (the floor both pay, teardown included). Both must report the same
    count for each expectation; GX keeps its default result format (counts and 20 examples), Sentinel lists
    every flagged id up to evidence_limit."""
    import json

    folder = tmp / f"gx-suite-{rows}"
    (folder / "checks").mkdir(parents=True)
    db = folder / "wh.duckdb"
    make_gx_suite_table(db, rows)
    (folder / "deals.json").write_text(json.dumps(GX_SUITE))
    (folder / "config.yaml").write_text(
        f'state: sqlite:///state.db\nsources:\n  wh: {{type: sql, url: "duckdb:///{db}"}}\n'
    )
    (folder / "checks" / "deals.yaml").write_text(
        "datasets:\n  - name: deals\n    source: wh\n    table: deals\n    key: id\n"
        "    checks:\n      - expect_suite: deals.json\n"
    )
    gx_alone = [sys.executable, "-c", GX_ALONE, str(db), str(folder / "deals.json")]
    sen = [*sentinel_cmd(), "run", "--config", str(folder / "config.yaml")]
    floor = [sys.executable, "-c", "import great_expectations"]
    # the verdicts first (this also warms the OS cache): the same count of each expectation on both sides
    theirs = dict(json.loads(subprocess.run(gx_alone, capture_output=True, text=True, check=True).stdout))
    doc = json.loads(subprocess.run([*sen, "--json"], capture_output=True, text=True).stdout)
    ours = {r["expected"]["expectation"]: r["observed"]["unexpected_count"] for r in doc["results"]}
    if ours != theirs or not all(theirs[e["type"]] for e in GX_SUITE["expectations"][3:]):
        raise SystemExit(f"GX suite: Sentinel counted {ours}, GX alone {theirs}")
    import resource

    def cpu() -> float:  # user + system seconds of finished children: steadier than wall time on a busy machine
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    wall: dict[str, list[float]] = {"gx": [], "sentinel": [], "floor": []}
    used: dict[str, list[float]] = {"gx": [], "sentinel": [], "floor": []}
    for _ in range(runs):  # interleaved, so drift in machine load hits all three
        for name, cmd in (("gx", gx_alone), ("sentinel", sen), ("floor", floor)):
            before = cpu()
            wall[name].append(timed(cmd))
            used[name].append(cpu() - before)
    gx_s, sen_s, floor_s = (statistics.median(wall[k]) for k in ("gx", "sentinel", "floor"))
    gx_c, sen_c, floor_c = (statistics.median(used[k]) for k in ("gx", "sentinel", "floor"))
    row = {"case": f"duckdb {rows:,} GX suite", "raw_s": gx_s, "sentinel_s": sen_s, "ratio": sen_s / gx_s}
    row["rss_mib"] = peak_rss_mib(sen)
    print(
        f"GX suite (3 native + match_regex, value_lengths, column pair) on {rows:,} DuckDB rows, median of {runs}:\n"
        f"  wall: GX alone {gx_s:.3f} s, `sentinel run` {sen_s:.3f} s, ratio {row['ratio']:.2f} (target <= 0.7); "
        f"importing GX alone (the floor both pay) {floor_s:.3f} s\n"
        f"  CPU:  GX alone {gx_c:.3f} s, `sentinel run` {sen_c:.3f} s, ratio {sen_c / gx_c:.2f}; "
        f"importing GX alone {floor_c:.3f} s; beyond it GX {gx_c - floor_c:.3f} s, Sentinel {sen_c - floor_c:.3f} s\n"
        f"  peak RSS of `sentinel run` {row['rss_mib']:.0f} MiB"
    )
    return row


# --explained: the detectors with and without `explained_by` on a table whose amount follows qty (log scale:
# amount = qty x a unit price with 0.4 of noise in ln, 0.01% of rows x10), each a fresh `sentinel run`.
EXPLAINED_SELECT = """
    SELECT i AS id, 'rep' || (i % 97) AS owner, q AS qty,
           round(q * exp(3 + 0.4 * (((i * 104729) % 9973) / 9973.0 - 0.5))
                 * (CASE WHEN i % 10007 = 7 THEN 10 ELSE 1 END), 2) AS amount,
           CASE WHEN i % 1000 = 3 THEN 'EUR' WHEN i % 5000 = 11 THEN 'JPY' ELSE 'USD' END AS currency
    FROM (SELECT i, CAST(1 + floor(exp(4.0 * ((i * 7919) % 10007) / 10007.0)) AS INTEGER) AS q FROM {source}) AS s
"""
EXPLAINED_CHECKS = {
    "magnitude within owner": "magnitude: {{column: amount, group_by: [owner]{extra}}}",
    "subschema by currency": "subschema: {{value_column: amount, category_column: currency{extra}}}",
}


def explained_case(rows: int, backends: list[str], runs: int) -> None:
    """Each check of EXPLAINED_CHECKS with `explained_by: [qty]` against the same check without it, on the same
    table: fresh `sentinel run` processes in interleaved rounds (medians), the same run warm (in one process, as
    the daemon runs it) and the peak RSS of each. Issue 13's target, DuckDB at 20M rows: with <= 1.5x without,
    peak RSS <= 500 MiB."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            folder = Path(tmp) / backend
            folder.mkdir()
            if backend == "duckdb":
                import duckdb

                con = duckdb.connect(str(folder / "wh.duckdb"))
                source = f"(SELECT range AS i FROM range(1, {rows + 1})) AS r"
                con.execute(f"CREATE TABLE deals_explained AS {EXPLAINED_SELECT.format(source=source)}")
                con.close()
                url, table = f"duckdb:///{folder / 'wh.duckdb'}", "deals_explained"
            else:
                import psycopg

                table = f"{SCHEMA}.deals_explained"
                with psycopg.connect(PG, autocommit=True) as con:
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
                    con.execute(f"DROP TABLE IF EXISTS {table}")
                    source = f"generate_series(1::bigint, {rows}::bigint) AS i"
                    con.execute(f"CREATE TABLE {table} AS {EXPLAINED_SELECT.format(source=source)}")
                    con.execute(f"ANALYZE {table}")
                url = PG.replace("postgresql://", "postgresql+psycopg://")
            cmds = {}
            for name, check in EXPLAINED_CHECKS.items():
                for extra in ("", ", explained_by: [qty]"):
                    sub = folder / f"{name.split()[0]}{'-x' if extra else ''}"
                    listed = check.format(extra=extra)
                    text = f"datasets:\n  - {{name: deals, source: wh, table: {table}, key: id, checks: [{listed}]}}\n"
                    text = text.replace("{", "{{").replace("}", "}}")  # write_project formats it
                    cmds[name, bool(extra)] = write_project(sub, url, table, text)
            for cfg in cmds.values():  # the first run learns (subschema's shares) and records the speculative scan
                timed([*sentinel_cmd(), "run", "--config", str(cfg)])
            fresh: dict = {k: [] for k in cmds}
            for _ in range(runs):  # interleaved: drift in the machine's load hits every case alike
                for k, cfg in cmds.items():
                    fresh[k].append(timed([*sentinel_cmd(), "run", "--config", str(cfg)]))
            for name in EXPLAINED_CHECKS:
                row = {"case": f"{backend} {rows:,} {name}"}
                for x in (False, True):
                    cfg = cmds[name, x]
                    warm = subprocess.run(
                        [sys.executable, "-c", WARM, str(cfg), str(runs)], capture_output=True, text=True
                    )
                    if warm.returncode:
                        raise SystemExit(f"warm run failed:\n{warm.stderr[-2000:]}")
                    row[x] = (
                        statistics.median(fresh[name, x]),
                        float(warm.stdout.strip().splitlines()[-1]),
                        peak_rss_mib([*sentinel_cmd(), "run", "--config", str(cfg)]),
                    )
                out.append(row)
    print(f"explained_by: [qty], {runs} interleaved rounds (medians); warm: the same run repeated in one process")
    print(
        f"{'case':<44}{'without s':>10}{'with s':>8}{'ratio':>7}{'warm w/o':>10}{'warm with':>10}{'ratio':>7}"
        f"{'RSS w/o MiB':>12}{'RSS with':>10}"
    )
    for r in out:
        (f0, w0, m0), (f1, w1, m1) = r[False], r[True]
        cells = f"{f0:>10.3f}{f1:>8.3f}{f1 / f0:>7.2f}{w0:>10.3f}{w1:>10.3f}{w1 / w0:>7.2f}{m0:>12.0f}{m1:>10.0f}"
        print(f"{r['case']:<44}{cells}")
    print("target (DuckDB, 20M rows): with explained_by <= 1.5x without, peak RSS <= 500 MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--backends", nargs="+", default=["duckdb", "postgresql"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--detectors", action="store_true", help="also time the volume/magnitude/subschema run")
    ap.add_argument("--gx-suite", action="store_true", help="also time a GX suite with long-tail expectations")
    ap.add_argument(
        "--explained", type=int, nargs="?", const=20_000_000, metavar="ROWS", help="explained_by's case (20M rows)"
    )
    ap.add_argument("--smoke", action="store_true", help="10k rows, 1 run: checks the harness, not the speed")
    args = ap.parse_args()
    if args.smoke:
        args.rows, args.runs = [10_000], 1
    # A regular `pip install` byte-compiles the package; an editable one does not, and with
    # PYTHONDONTWRITEBYTECODE set every run would compile Sentinel's modules again. Measure the installed case.
    import compileall

    import sentinel

    compileall.compile_dir(Path(sentinel.__file__).parent, quiet=1)
    if args.explained:  # that case alone
        return explained_case(10_000 if args.smoke else args.explained, args.backends, args.runs)
    rows_out = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.gx_suite or args.smoke:
            gx_suite_case(tmp, 1_000 if args.smoke else 1_000_000, args.runs)
        tiny = tmp / "tiny"
        tiny.mkdir()
        make_duckdb(tiny / "wh.duckdb", 10)
        cfg = write_project(tiny, f"duckdb:///{tiny / 'wh.duckdb'}", "deals")
        cold, floor = [], []
        for _ in range(max(args.runs, 3)):  # interleaved, like compare()
            cold.append(timed([*sentinel_cmd(), "run", "--config", str(cfg)]))
            floor.append(timed([sys.executable, "-c", FLOOR]))
        for n in args.rows:
            for backend in args.backends:
                folder = tmp / f"{backend}-{n}"
                folder.mkdir()
                if backend == "duckdb":
                    db = folder / "wh.duckdb"
                    make_duckdb(db, n)
                    url, table = f"duckdb:///{db}", "deals"
                    raw = [sys.executable, "-c", RAW_DUCKDB, str(db)]
                else:
                    make_postgres(n)
                    url, table = PG.replace("postgresql://", "postgresql+psycopg://"), f"{SCHEMA}.deals"
                    raw = [sys.executable, "-c", RAW_PG, PG]
                cfg = write_project(folder, url, table)
                sen = [*sentinel_cmd(), "run", "--config", str(cfg)]
                rows_out.append(compare(f"{backend} {n:,} rows", raw, sen, args.runs, rss=True))
                if args.detectors:
                    det = write_project(folder / "detectors", url, table, DETECTORS)
                    sen = [*sentinel_cmd(), "run", "--config", str(det)]
                    rows_out.append(compare(f"{backend} {n:,} detectors", raw, sen, args.runs, rss=True))
                    out = subprocess.run(
                        [sys.executable, "-c", WARM, str(det), str(args.runs)], capture_output=True, text=True
                    )
                    if out.returncode:
                        raise SystemExit(f"warm run failed:\n{out.stderr[-2000:]}")
                    warm = float(out.stdout.strip().splitlines()[-1])
                    raw_s = rows_out[-1]["raw_s"]
                    rows_out.append(
                        {
                            "case": f"{backend} {n:,} detectors, warm",
                            "raw_s": raw_s,
                            "sentinel_s": warm,
                            "ratio": warm / raw_s,
                            "rss_mib": None,
                        }
                    )
    print(
        f"cold `sentinel run`, 10-row DuckDB table: median {statistics.median(cold):.3f} s "
        f"(target <= 0.6 s) over {len(cold)} runs"
    )
    print(
        f"floor: starting Python and importing duckdb, duckdb_engine, pydantic, rich, SQLAlchemy, typer and PyYAML "
        f"takes {statistics.median(floor):.3f} s (median)"
    )
    print(f"{'case':<36}{'raw SQL s':>11}{'sentinel s':>12}{'ratio':>8}{'peak RSS MiB':>14}")
    for r in rows_out:
        rss = f"{r['rss_mib']:.0f}" if r["rss_mib"] is not None else "-"
        print(f"{r['case']:<36}{r['raw_s']:>11.3f}{r['sentinel_s']:>12.3f}{r['ratio']:>8.2f}{rss:>14}")
    print("targets: DuckDB 10M ratio <= 1.25, PostgreSQL 10M ratio <= 1.10, RSS on PostgreSQL <= 150 MiB")
    if args.detectors:
        print("detectors: DuckDB 10M ratio <= 2.0 (vs the raw canonical suite), PostgreSQL RSS flat in rows")


if __name__ == "__main__":
    main()
