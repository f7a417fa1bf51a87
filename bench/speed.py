"""Speed benchmark: Sentinel side by side with raw SQL, Soda Core 4 and Great Expectations 1.x, on the same data.

The canonical suite on deals(id, owner, amount, currency, close_date, updated_at):
  row count > 0; freshness of updated_at (2 days); amount between 0 and 5,000,000 with every violating id;
  currency in {USD} with the exact count of each unexpected value; mean(amount) between bounds;
  0.5 and 0.99 quantiles of amount between bounds.

Each side, on the same DuckDB file (and PostgreSQL table for raw SQL and Sentinel):
- raw SQL: a hand-written script, one aggregate scan, then the violating ids and the unexpected-currency
  counts. The least any tool can do and return the same.
- Sentinel: `sentinel run --json` (one JSON document with the results, every violating id and each unexpected
  value's count, incidents opened and the run written to the state store).
- Soda Core 4 (contracts API: `soda contract verify`, soda-duckdb, telemetry off): a data contract with
  row_count, freshness, `invalid` (valid_min/valid_max, valid_values) and an `aggregate` avg check. It has no
  quantile check: the quantiles are `metric` checks on a DuckDB SQL expression (`quantile_disc`). It returns
  pass/fail and the metric values (invalid_count, avg, ...) from one aggregate scan: no ids of the violating
  rows (failed-row samples need Soda Cloud's diagnostics warehouse) and no count per unexpected value.
- Great Expectations 1.x (ephemeral context): the same six expectations, result format COMPLETE with `id` as
  the unexpected-index column, so it returns the violating ids and the unexpected values' counts. It has no
  freshness expectation: the script computes now - 2 days and expects max(updated_at) above it. On DuckDB
  GX's SQL engine loses results (GX #10738), so the script reads the four columns the suite names into pandas
  (as Sentinel's GX path does on DuckDB) and validates that frame; the read is timed with it.

Targets (issue 13, item 7), each a ratio measured in this one invocation, interleaved rounds, medians:
  fresh process, DuckDB, 10 rows and N rows: Sentinel <= 0.8x Soda and <= 0.15x GX;
  warm (one process, repeated runs as the daemon runs them: collect + save with its engine cache):
    the canonical suite <= 1.15x raw SQL on DuckDB at N rows, <= 1.05x on PostgreSQL;
  warm per-run overhead on the 10-row table (Sentinel's run minus the raw statements' time) <= 10 ms.
The floor row is what any process pays before it reads a byte: start Python and import the libraries
`sentinel run --json` needs (duckdb, SQLAlchemy with the DuckDB and SQLite dialects, pydantic, PyYAML).

    python bench/speed.py                      # 10 rows and 10M rows, DuckDB and PostgreSQL, 5 rounds
    python bench/speed.py --rows 1000000 --backends duckdb --runs 3
    python bench/speed.py --smoke --detectors  # tiny tables, one round, every case: checks the harness (CI)
    python bench/speed.py --no-peers           # raw SQL and Sentinel only

With --detectors, a second `sentinel run` per case runs the three detectors (volume of updated_at by hour,
magnitude of amount within owner, subschema of amount by currency), fresh and warm, against the same raw-SQL
script (issue 3's target: within 2x of raw DuckDB at 10M rows; PostgreSQL RSS flat in the row count).

PostgreSQL: 127.0.0.1:5432, database `test` (override with SENTINEL_BENCH_PG); tables live in schema
`bench_speed` and are reused between invocations when their row count matches. Soda and GX run on DuckDB
only (soda-postgres is not installed). Peers that are not installed are left out and said so.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
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
TINY_WARM_RUNS = 60  # warm runs on the 10-row table: each takes milliseconds, so many give a stable median

GENERATE_SELECT = """
    SELECT i AS id,
           'rep' || (i % 97) AS owner,
           CASE WHEN i % {step} = 7 THEN (CASE WHEN i % 2 = 0 THEN -100.0 ELSE 9000000.0 END)
                ELSE round(exp(7 + 2.5 * ((i * 7919) % 10007) / 10007.0)) END AS amount,
           CASE WHEN i % 1000 = 3 THEN 'EUR' WHEN i % 5000 = 11 THEN 'JPY' ELSE 'USD' END AS currency,
           DATE '2026-01-01' + CAST(i % 365 AS INTEGER) AS close_date,
           {now} - (i % 86400) * INTERVAL '1 second' AS updated_at
"""

# The raw-SQL side, as functions of an open DBAPI connection: used by the fresh script and the warm loop alike.
RAW_FUNCS = """
AGG = '''SELECT count(*), max(updated_at),
    sum(CASE WHEN amount IS NOT NULL AND NOT (amount >= 0 AND amount <= 5000000) THEN 1 ELSE 0 END),
    count(amount), sum(CASE WHEN currency IS NOT NULL AND currency NOT IN ('USD') THEN 1 ELSE 0 END),
    count(currency), avg(amount), {quantiles} FROM {table}'''
IDS = '''SELECT id, amount FROM {table} WHERE amount IS NOT NULL AND NOT (amount >= 0 AND amount <= 5000000)
    ORDER BY id LIMIT 100000'''
CUR = '''SELECT currency, count(*) FROM {table} WHERE currency IS NOT NULL AND currency NOT IN ('USD')
    GROUP BY currency ORDER BY 2 DESC'''

def raw_suite(con):
    cur = con.cursor()
    agg = cur.execute(AGG).fetchone()
    ids = cur.execute(IDS).fetchall() if agg[2] else []
    counts = cur.execute(CUR).fetchall() if agg[4] else []
    assert agg[0] > 0 and len(ids) == agg[2], (agg, len(ids))
    return agg[0], len(ids), counts
"""
DUCKDB_QUANTILES = "quantile_disc(amount, [0.5, 0.99])"
PG_QUANTILES = "percentile_disc(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY amount)"


def raw_funcs(backend: str) -> str:
    quantiles, table = (DUCKDB_QUANTILES, "deals") if backend == "duckdb" else (PG_QUANTILES, f"{SCHEMA}.deals")
    return RAW_FUNCS.replace("{quantiles}", quantiles).replace("{table}", table)


RAW_CONNECT = {
    "duckdb": "import duckdb\ndef connect(where):\n    return duckdb.connect(where, read_only=True)\n",
    "postgresql": "import psycopg\ndef connect(where):\n    return psycopg.connect(where)\n",
}
RAW_FRESH = "import sys\n{connect}{funcs}\nprint(*raw_suite(connect(sys.argv[1])))\n"

# Warm, as the daemon runs: one process, config loaded and imports paid once; Sentinel's run (collect with the
# daemon's engine cache, then save, as Daemon._measure and Daemon._save do) and the raw statements alternate
# run by run in the same process, so load on the machine hits both alike. DuckDB: the raw side opens its file
# each round as a Sentinel run does (the daemon keeps no DuckDB connection between runs); PostgreSQL: it keeps
# one connection (the daemon keeps a pool). Prints the two medians.
WARM_PAIR = """
import os, statistics, sys, time
{connect}{funcs}
from sentinel.config import load_config
from sentinel.runner import collect, save
from sentinel.store import Store
from sentinel.daemon import settle_heap
cfg = load_config(sys.argv[1])
store = Store(cfg.state_url)
ds, engines = cfg.datasets[0], {{}}
where, runs, keep = sys.argv[2], int(sys.argv[3]), {keep}
con = connect(where) if keep else None
per_check = globals().get("raw_detectors_per_check")  # the detectors by hand, also one check at a time
def by_hand(suite):
    began = time.perf_counter()
    c = con if keep else connect(where)
    suite(c)
    if not keep:
        c.close()
    return time.perf_counter() - began
raw_t, sen_t, one_t = [], [], []
for i in range(runs + 1):
    raw = by_hand(raw_suite)
    began = time.perf_counter()
    save(store, collect(cfg, store, ds, engines=engines), cfg)
    sen = time.perf_counter() - began
    one = by_hand(per_check) if per_check is not None else None
    if i:  # the first of each is a warm-up
        raw_t.append(raw)
        sen_t.append(sen)
        if per_check is not None:
            one_t.append(one)
    else:
        settle_heap()  # as the daemon does after its first run
print(statistics.median(raw_t), statistics.median(sen_t), *([statistics.median(one_t)] if one_t else []), flush=True)
os._exit(0)  # skip teardown: a Spark Connect session's __del__ can hang closing its channel (SPARK-55620)
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

# The daemon's case: one process, config loaded and imports paid once, the same run repeated: collect (with
# the daemon's engine cache) and save, as Daemon._measure and Daemon._save do.
WARM = """
import statistics, sys, time
from sentinel.config import load_config
from sentinel.runner import collect, save
from sentinel.store import Store
from sentinel.daemon import settle_heap
cfg = load_config(sys.argv[1])
store = Store(cfg.state_url)
ds, engines = cfg.datasets[0], {}
times = []
for i in range(int(sys.argv[2]) + 1):
    began = time.perf_counter()
    save(store, collect(cfg, store, ds, engines=engines), cfg)
    times.append(time.perf_counter() - began)
    if not i:
        settle_heap()  # as the daemon does after its first run
print(statistics.median(times[1:]))
"""

SODA_DATA_SOURCE = """
type: duckdb
name: wh
connection:
  database: "{path}"
  read_only: true
"""

SODA_CONTRACT = """
dataset: wh/main/deals
checks:
  - row_count:
      threshold: {{must_be_greater_than: 0}}
  - freshness:
      column: updated_at
      threshold: {{unit: hour, must_be_less_than_or_equal: 48}}
columns:
  - name: currency
    checks:
      - invalid:
          valid_values: [USD]
  - name: amount
    checks:
      - invalid:
          valid_min: 0
          valid_max: 5000000
      - aggregate:
          function: avg
          threshold:
            must_be_between: {{greater_than_or_equal: 100, less_than_or_equal: 1000000}}
      - metric:
          qualifier: q50
          expression: quantile_disc(amount, 0.5)
          threshold:
            must_be_between: {{greater_than_or_equal: {q50[0]}, less_than_or_equal: {q50[1]}}}
      - metric:
          qualifier: q99
          expression: quantile_disc(amount, 0.99)
          threshold:
            must_be_between: {{greater_than_or_equal: {q99[0]}, less_than_or_equal: {q99[1]}}}
"""
SODA_CHECKS = 7

# Soda in one process, the contract verified repeatedly (for the warm per-run row).
SODA_WARM = """
import statistics, sys, time
from soda_core.contracts.api.verify_api import verify_contract_locally
times = []
for _ in range(int(sys.argv[3]) + 1):
    began = time.perf_counter()
    verify_contract_locally(data_source_file_path=sys.argv[1], contract_file_path=sys.argv[2])
    times.append(time.perf_counter() - began)
print(statistics.median(times[1:]))
"""

GX_SUITE = """
import datetime as dt, json, logging, statistics, sys, time
logging.getLogger("great_expectations").addHandler(logging.NullHandler())
import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.data_context.types.base import ProgressBarsConfig

path, runs = sys.argv[1], int(sys.argv[2])
ctx = gx.get_context(mode="ephemeral")
ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
asset = ctx.data_sources.add_pandas("wh").add_dataframe_asset("deals")
batches = asset.add_batch_definition_whole_dataframe("all")
FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["id"]}

def validate():
    with duckdb.connect(path, read_only=True) as con:
        frame = con.sql("SELECT id, amount, currency, updated_at FROM deals").df()
    suite = gx.ExpectationSuite("canonical", expectations=[
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        gxe.ExpectColumnMaxToBeBetween(column="updated_at", min_value=dt.datetime.now() - dt.timedelta(days=2)),
        gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=5_000_000),
        gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=["USD"]),
        gxe.ExpectColumnMeanToBeBetween(column="amount", min_value=100, max_value=1_000_000),
        gxe.ExpectColumnQuantileValuesToBeBetween(column="amount", quantile_ranges={
            "quantiles": [0.5, 0.99], "value_ranges": [Q50_RANGE, Q99_RANGE]}),
    ])
    return batches.get_batch(batch_parameters={"dataframe": frame}).validate(suite, result_format=FORMAT)

if runs == 0:  # a fresh process: one validation, and a summary the harness checks
    res = validate()
    errors = [r.exception_info for r in res.results if r.exception_info.get("raised_exception")]
    ids = sum(len(r.result.get("unexpected_index_list") or []) for r in res.results)
    print(json.dumps({"results": len(res.results), "errors": len(errors), "ids": ids}))
else:
    validate()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        validate()
        times.append(time.perf_counter() - began)
    print(statistics.median(times))
""".replace("Q50_RANGE", str(list(Q50))).replace("Q99_RANGE", str(list(Q99)))

# What any `sentinel run --json` on this stack pays before it reads a byte: start Python and import the
# libraries the run needs, printed next to the fresh runs so they can be read against it.
FLOOR = """
import os
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
import duckdb, pydantic, sqlalchemy, yaml
import sqlalchemy.dialects.postgresql.psycopg2, sqlalchemy.dialects.sqlite  # duckdb_engine's base; the store's
class Probe(pydantic.BaseModel):  # pydantic loads its machinery with the first model
    a: int
"""

SODA_ENV = {"SODA_CORE_TELEMETRY_ENABLED": "false"}  # no span export to collect.soda.io (retries without network)


def version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def sentinel_cmd() -> list[str]:
    return [sys.executable, "-m", "sentinel"]


def soda_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("soda")
    return [str(exe)] if exe.exists() else [shutil.which("soda") or "soda"]


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


def write_project(folder: Path, url: str, table: str, checks: str = CHECKS, source_type: str = "sql") -> Path:
    (folder / "checks").mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(
        textwrap.dedent(f"""
        state: sqlite:///state.db
        evidence_limit: 100000
        sources:
          wh: {{type: {source_type}, url: "{url}"}}
        """)
    )
    (folder / "checks" / "deals.yaml").write_text(checks.format(table=table, q50=list(Q50), q99=list(Q99)))
    return folder / "config.yaml"


def write_soda(folder: Path, db: Path) -> tuple[Path, Path]:
    (folder / "soda-ds.yml").write_text(SODA_DATA_SOURCE.format(path=db))
    (folder / "soda-contract.yml").write_text(SODA_CONTRACT.format(q50=Q50, q99=Q99))
    return folder / "soda-ds.yml", folder / "soda-contract.yml"


def run_checked(cmd: list[str], ok_codes=(0, 1), env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(cmd[:4])} ... exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return proc


def timed(cmd: list[str], ok_codes=(0, 1), env: dict | None = None) -> float:
    start = time.perf_counter()
    run_checked(cmd, ok_codes, env)
    return time.perf_counter() - start


def last_float(cmd: list[str], env: dict | None = None) -> float:
    return float(run_checked(cmd, (0,), env).stdout.strip().splitlines()[-1])


def peak_rss_mib(cmd: list[str]) -> float:
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


class Side:
    """One contender of a case: how to run it fresh, and what its output must show (checked once, untimed)."""

    def __init__(self, name: str, cmd: list[str], env: dict | None = None, check=None):
        self.name, self.cmd, self.env, self.check = name, cmd, env, check


def bad_rows(n: int) -> int:
    """How many rows GENERATE_SELECT makes violate the amount range (i % step == 7)."""
    step = max(n // BAD_AMOUNTS, 1)
    return 0 if step <= 7 else n // step + (n % step >= 7)


def check_sentinel(proc: subprocess.CompletedProcess, ids: int) -> None:
    import json

    doc = json.loads(proc.stdout)
    amount = next(r for r in doc["results"] if r["check"].startswith("expect_column_values_to_be_between"))
    got = amount["observed"]["unexpected_count"], len(((amount["evidence"] or {}).get("rows") or {}).get("items", []))
    if len(doc["results"]) != 6 or got != (ids, ids):
        raise SystemExit(f"sentinel: {len(doc['results'])} results, (count, ids) {got}; expected 6 and {ids}")


def check_soda(proc: subprocess.CompletedProcess) -> None:
    out = proc.stdout + proc.stderr
    if "Runtime Errors | 0" not in out or f"Checks         | {SODA_CHECKS} " not in out:
        raise SystemExit(f"soda did not evaluate the {SODA_CHECKS} checks without error:\n{out[-3000:]}")


def check_gx(proc: subprocess.CompletedProcess, ids: int) -> None:
    import json

    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    if doc["results"] != 6 or doc["errors"] or doc["ids"] < ids:
        raise SystemExit(f"gx: {doc}, expected 6 results, no errors and >= {ids} ids")


def race(label: str, sides: list[Side], runs: int, rss: bool = False) -> dict:
    """Fresh processes, interleaved rounds (drift in machine load hits every side alike), medians."""
    times: dict[str, list[float]] = {s.name: [] for s in sides}
    for side in sides:  # checked once; this also warms the OS cache for every side alike (timed with --smoke only)
        began = time.perf_counter()
        proc = run_checked(side.cmd, env=side.env)
        if runs == 1:
            times[side.name].append(time.perf_counter() - began)
        if side.check:
            side.check(proc)
    for _ in range(runs if runs > 1 else 0):
        for side in sides:
            times[side.name].append(timed(side.cmd, env=side.env))
    row = {"case": label, **{name: statistics.median(t) for name, t in times.items()}}
    row["rss_mib"] = peak_rss_mib(next(s for s in sides if s.name == "sentinel").cmd) if rss else None
    return row


# --- the GX long tail (issue 13, item 8): a six-expectation GX suite, Sentinel vs Great Expectations alone ---

LONG_TAIL_SUITE = {
    "name": "deals",
    "expectations": [  # issue 13 item 8: three common expectations, a regex, value lengths, a column pair
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

# The same suite with its regex written with `\d`, which Sentinel leaves to GX (Python's `\d` is Unicode-aware,
# the databases' are not): the batched GX path, measured too.
LONG_TAIL_WITH_GX = {
    "name": "deals",
    "expectations": [
        *LONG_TAIL_SUITE["expectations"][:3],
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "owner", "regex": "^rep\\d+$"}},
        *LONG_TAIL_SUITE["expectations"][4:],
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


def gx_suite_case(tmp: Path, rows: int, runs: int, suite: dict = LONG_TAIL_SUITE, label: str = "native") -> dict:
    """A fresh `sentinel run` of the six-expectation suite vs GX alone on the same DuckDB table, interleaved
    with a process that only imports GX (the floor both pay, teardown included). Both must report the same
    count for each expectation; GX keeps its default result format (counts and 20 examples), Sentinel lists
    every flagged id up to evidence_limit."""
    import json

    folder = tmp / f"gx-suite-{len(label)}-{rows}"  # one folder per suite
    (folder / "checks").mkdir(parents=True)
    db = folder / "wh.duckdb"
    make_gx_suite_table(db, rows)
    (folder / "deals.json").write_text(json.dumps(suite))
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
    if ours != theirs or not all(theirs[e["type"]] for e in suite["expectations"][3:]):
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
    row = {"case": f"duckdb {rows:,} GX suite ({label})", "raw_s": gx_s, "sentinel_s": sen_s, "ratio": sen_s / gx_s}
    row["rss_mib"] = peak_rss_mib(sen)
    target = " (target <= 0.7)" if suite is LONG_TAIL_SUITE else ""  # the suite; the other measures GX's path
    print(
        f"GX suite (3 native + match_regex, value_lengths, column pair; {label}) on {rows:,} DuckDB rows, "
        f"median of {runs}:\n"
        f"  wall: GX alone {gx_s:.3f} s, `sentinel run` {sen_s:.3f} s, ratio {row['ratio']:.2f}{target}; "
        f"importing GX alone (the floor both pay) {floor_s:.3f} s\n"
        f"  CPU:  GX alone {gx_c:.3f} s, `sentinel run` {sen_c:.3f} s, ratio {sen_c / gx_c:.2f}; "
        f"importing GX alone {floor_c:.3f} s; beyond it GX {gx_c - floor_c:.3f} s, Sentinel {sen_c - floor_c:.3f} s\n"
        f"  peak RSS of `sentinel run` {row['rss_mib']:.0f} MiB"
    )
    return row


def fmt(v: float | None, width: int = 10, digits: int = 3) -> str:
    return f"{v:>{width}.{digits}f}" if v is not None else f"{'-':>{width}}"


def verdict(ratio: float, limit: float) -> str:
    return "met" if ratio <= limit else "NOT met"


# --explained: the detectors with and without `explained_by` on a table whose amount follows qty (log scale:
# amount = qty x a unit price with 0.4 of noise in ln, 0.01% of rows x10), each a fresh `sentinel run`.
EXPLAINED_SELECT = """
    SELECT i AS id, 'rep' || (i % 97) AS owner, q AS qty,
           round(q * exp(3 + 0.4 * (((i * 104729) % 9973) / 9973.0 - 0.5))
                 * (CASE WHEN i % 10007 = 7 THEN 10 ELSE 1 END), 2) AS amount,
           CASE WHEN i % 1000 = 3 THEN 'EUR' WHEN i % 5000 = 11 THEN 'JPY' ELSE 'USD' END AS currency
    FROM (SELECT i, CAST(1 + floor(exp(4.0 * ((i * 7919) % 10007) / 10007.0)) AS INTEGER) AS q FROM {source}) AS s
"""
# the floor of a fitted check's scoring scan: one pass testing each row against a band on two columns (the unit
# price amount / qty between two constants), as comparisons and as logarithms; DuckDB, 1 and 2 threads
EXPLAINED_FLOOR = {
    "comparisons": "SELECT count(*) FROM deals_explained "
    "WHERE amount > 47.5 * CAST(qty AS DOUBLE) OR amount < 8.58 * CAST(qty AS DOUBLE)",
    "logarithms": "SELECT count(*) FROM deals_explained "
    "WHERE abs(log10(abs(amount)) - log10(abs(CAST(qty AS DOUBLE))) - 1.305) > 0.382",
}
EXPLAINED_CHECKS = {
    "magnitude within owner": "magnitude: {{column: amount, group_by: [owner]{extra}}}",
    "subschema by currency": "subschema: {{value_column: amount, category_column: currency{extra}}}",
}


def explained_case(rows: int, backends: list[str], runs: int) -> None:
    """Each check of EXPLAINED_CHECKS with `explained_by: [qty]` against the same check without it, on the same
    table: fresh `sentinel run` processes in interleaved rounds (medians of wall and of CPU time: the latter is
    steadier on a busy machine), the same run warm (in one process, as the daemon runs it) and the peak RSS of
    each. Issue 13's target, DuckDB at 20M rows: with <= 1.5x without, peak RSS <= 500 MiB."""

    import resource

    def cpu() -> float:  # user + system seconds of finished children
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

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
            used: dict = {k: [] for k in cmds}
            for _ in range(runs):  # interleaved: drift in the machine's load hits every case alike
                for k, cfg in cmds.items():
                    before = cpu()
                    fresh[k].append(timed([*sentinel_cmd(), "run", "--config", str(cfg)]))
                    used[k].append(cpu() - before)
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
                        statistics.median(used[name, x]),
                        float(warm.stdout.strip().splitlines()[-1]),
                        peak_rss_mib([*sentinel_cmd(), "run", "--config", str(cfg)]),
                    )
                out.append(row)
            if backend == "duckdb":
                floors = explained_floor(folder / "wh.duckdb", runs)
    print(
        f"explained_by: [qty], {runs} interleaved rounds (medians); fresh `sentinel run`: wall and CPU seconds; "
        "warm: the same run repeated in one process (wall)"
    )
    print(
        f"{'case':<40}{'without s':>10}{'with s':>8}{'ratio':>7}{'CPU w/o':>9}{'CPU with':>9}{'ratio':>7}"
        f"{'warm w/o':>10}{'warm with':>10}{'ratio':>7}{'RSS w/o MiB':>12}{'RSS with':>10}"
    )
    for r in out:
        (f0, c0, w0, m0), (f1, c1, w1, m1) = r[False], r[True]
        cells = f"{f0:>10.3f}{f1:>8.3f}{f1 / f0:>7.2f}{c0:>9.3f}{c1:>9.3f}{c1 / c0:>7.2f}"
        cells += f"{w0:>10.3f}{w1:>10.3f}{w1 / w0:>7.2f}{m0:>12.0f}{m1:>10.0f}"
        print(f"{r['case']:<40}{cells}")
    if "duckdb" in backends:
        print("floor: one hand-written DuckDB scan testing each row against a band on amount and qty (median wall s):")
        for (how, threads), t in floors.items():
            print(f"  {how:<12} {threads} thread{'s' if threads > 1 else ''}: {t:.3f}")
    print("target (DuckDB, 20M rows): with explained_by <= 1.5x without, peak RSS <= 500 MiB")


def explained_floor(db: Path, runs: int) -> dict[tuple[str, int], float]:
    """EXPLAINED_FLOOR's scans, each the median of `runs` after a warm-up, in one read-only connection."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    out = {}
    for threads in (1, 2):
        con.execute(f"SET threads = {threads}")
        for how, sql in EXPLAINED_FLOOR.items():
            times = []
            for _ in range(runs + 1):
                start = time.perf_counter()
                con.execute(sql).fetchall()
                times.append(time.perf_counter() - start)
            out[how, threads] = statistics.median(times[1:])
    con.close()
    return out


# --- Spark (issue 14, item 6): the canonical suite and the three detectors on a Spark Connect server ---------
# Warm, as the daemon runs: one process, one Spark Connect session for the hand-written statements and
# Sentinel's own (kept by its engine cache) on the same server, run by run alternately; the same rows as the
# DuckDB file (written to Parquet by DuckDB, read by Spark as an external table) and the DuckDB pair beside it.
SPARK_QUANTILES = (
    "percentile_disc(0.5) WITHIN GROUP (ORDER BY amount), percentile_disc(0.99) WITHIN GROUP (ORDER BY amount)"
)
SPARK_CONNECT = """
import warnings
warnings.simplefilter("ignore", FutureWarning)  # pyspark on pandas 3
from pyspark.sql import SparkSession
class _Cursor:  # the raw statements through pyspark itself: spark.sql(...) to Arrow, :name markers bound
    def __init__(self, spark):
        self.spark, self.rows = spark, []
    def execute(self, sql, params=None):
        self.rows = [tuple(r.values()) for r in self.spark.sql(sql, args=params).toArrow().to_pylist()]
        return self
    def fetchone(self):
        return self.rows[0]
    def fetchall(self):
        return self.rows
class _Con:
    def __init__(self, spark):
        self.spark = spark
    def cursor(self):
        return _Cursor(self.spark)
def connect(where):
    return _Con(SparkSession.builder.remote(where).create())
"""

# The three detectors by hand: the fewest statements a careful engineer would write for what they return, in
# each engine's own SQL, group labels bound as parameters (never pasted into the SQL), every column named (the
# Spark cursor reads Arrow rows by name):
#   1. volume: rows per hour over the 18 training and 4 detection hours (complete hours before now); the
#      flagged hours from the median and MAD of log1p(count) over the training hours, in Python (22 rows).
#   2. magnitude's and subschema's references in one statement: per owner and per currency, the row count
#      and the robust centre (median) and spread (1.4826 MAD) of y = log10|amount|, exact, over a sample of
#      about 200,000 rows chosen by a hash of the key (every `every`-th hash; the whole table up to 200,000
#      rows), as Sentinel's references are: over every row, each engine's approximate quantile took 2-3x
#      Sentinel's whole run (10M rows: DuckDB 3.2 s, Spark 81 s).
#   3. the flagged rows of both, keys and values, in one scan joined to those references: magnitude's rows
#      beyond 3.5 robust sigmas of their owner (Iglewicz and Hoaglin's cut-off), subschema's tail rows beyond
#      max(3 sigmas, 0.5 decades) of their currency; a side of a currency's tail that outnumbers the other
#      (by 5 rows and 3x) is a shifted mode, its offset the median distance of its rows (in Python).
# Statement 2's per-currency counts are subschema's shares, its per-currency centres the mixed-currency
# offsets. The flagged counts are asserted against the bad rows the table was built with.
RAW_DETECTORS = '''
import datetime as _dt, math as _math, statistics as _st
BAD = {bad}
_mark = {mark}
STATS = """WITH r AS (SELECT owner, currency, log10(abs(amount)) AS y FROM {table}
                    WHERE amount IS NOT NULL AND amount <> 0 AND {sampled}),
  mo AS (SELECT owner, {q50}(y, 0.5) AS m, count(*) AS n FROM r GROUP BY owner),
  mc AS (SELECT currency, {q50}(y, 0.5) AS m, count(*) AS n FROM r GROUP BY currency)
SELECT 'owner' AS kind, mo.owner AS g, mo.m AS m, 1.4826 * {q50}(abs(r.y - mo.m), 0.5) AS s, mo.n AS n
  FROM r JOIN mo ON r.owner = mo.owner GROUP BY mo.owner, mo.m, mo.n
UNION ALL
SELECT 'currency', mc.currency, mc.m, 1.4826 * {q50}(abs(r.y - mc.m), 0.5), mc.n
  FROM r JOIN mc ON r.currency = mc.currency GROUP BY mc.currency, mc.m, mc.n"""
FLAGGED = """SELECT d.id, d.currency, d.amount, d.y - o.m AS dev_o, o.s AS s_o, d.y - c.m AS dev_c, c.s AS s_c
FROM (SELECT id, owner, currency, amount, log10(abs(amount)) AS y FROM {table}
      WHERE amount IS NOT NULL AND amount <> 0) AS d
  JOIN (VALUES {{owners}}) AS o (g, m, s) ON d.owner = o.g
  JOIN (VALUES {{currencies}}) AS c (g, m, s) ON d.currency = c.g
WHERE (o.s > 0 AND abs(d.y - o.m) > 3.5 * o.s) OR abs(d.y - c.m) > greatest(3 * c.s, 0.5)
ORDER BY d.id LIMIT 100000"""
HOURS = """SELECT {hour} AS h, count(*) AS n FROM {table} WHERE updated_at >= {{lo}} AND updated_at < {{hi}}
GROUP BY 1 ORDER BY 1"""

def _values(rows, first):
    marks, params = [], []
    for i, row in enumerate(rows):
        marks.append("(" + ", ".join(_mark(first + 3 * i + j) for j in range(3)) + ")")
        params += list(row)
    return ", ".join(marks), params

def _params(params):
    return {params}

def _robust(xs):
    m = _st.median(xs)
    return m, 1.4826 * _st.median(abs(x - m) for x in xs)

def _volume(cur):
    end = _dt.datetime.now(_dt.UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    hours = cur.execute(HOURS.format(lo=_mark(0), hi=_mark(1)), _params([end - _dt.timedelta(hours=22), end]))
    counts = {{h.replace(tzinfo=None): n for h, n in hours.fetchall()}}
    series = [counts.get(end - _dt.timedelta(hours=22 - i), 0) for i in range(22)]
    m, sd = _robust([_math.log1p(n) for n in series[:18]])
    return [n for n in series[18:] if abs(_math.log1p(n) - m) > 3.5 * max(sd, 1e-9)
            and abs(n - _math.expm1(m)) > 0.25 * _math.expm1(m)]

def _modes(currencies, devs):
    """Shifted modes from each currency's (label, m, s) and the tail rows' (label, deviation)."""
    modes = []
    for label, _m, s_ in currencies:
        edge = max(3 * s_, 0.5)
        above = [d for g, d in devs if g == label and d > edge]
        below = [d for g, d in devs if g == label and d < -edge]
        for side, other in ((above, below), (below, above)):
            if len(side) >= len(other) + 5 and len(side) >= 3 * len(other):
                modes.append((label, len(side), _st.median(side)))
    return modes

def raw_detectors(con):
    cur = con.cursor()
    volume = _volume(cur)
    stats = cur.execute(STATS).fetchall()
    owners = [(g, m_, s_) for kind, g, m_, s_, _n in stats if kind == "owner"]
    currencies = [(g, m_, s_) for kind, g, m_, s_, _n in stats if kind == "currency"]
    o_sql, o_params = _values(owners, 0)
    c_sql, c_params = _values(currencies, len(o_params))
    rows = cur.execute(FLAGGED.format(owners=o_sql, currencies=c_sql), _params(o_params + c_params)).fetchall()
    magnitude = [r for r in rows if r[4] and abs(r[3]) > 3.5 * r[4]]
    modes = _modes(currencies, [(r[1], r[5]) for r in rows])
    assert len(magnitude) == BAD and sum(n for _l, n, _o in modes) == BAD, (len(magnitude), modes)
    return len(volume), len(magnitude), modes

def raw_suite(con):  # the name the warm loop calls
    return raw_detectors(con)

# The same by hand, one check at a time, as a tool that runs each check on its own must: magnitude's reference
# and flagged rows, then subschema's, each its own sample and its own scan (5 statements instead of 3).
ONE_STATS = """WITH r AS (SELECT {{col}} AS g, log10(abs(amount)) AS y FROM {table}
                    WHERE amount IS NOT NULL AND amount <> 0 AND {sampled}),
  m AS (SELECT g, {q50}(y, 0.5) AS m, count(*) AS n FROM r GROUP BY g)
SELECT m.g AS g, m.m AS m, 1.4826 * {q50}(abs(r.y - m.m), 0.5) AS s FROM r JOIN m ON r.g = m.g GROUP BY m.g, m.m"""
ONE_FLAGGED = """SELECT d.id, d.g, d.amount, d.y - o.m AS dev, o.s AS s
FROM (SELECT id, {{col}} AS g, amount, log10(abs(amount)) AS y FROM {table}
      WHERE amount IS NOT NULL AND amount <> 0) AS d
  JOIN (VALUES {{groups}}) AS o (g, m, s) ON d.g = o.g
WHERE {{beyond}} ORDER BY d.id LIMIT 100000"""

def _one_check(cur, col, beyond):
    refs = [tuple(r) for r in cur.execute(ONE_STATS.format(col=col)).fetchall()]
    sql, params = _values(refs, 0)
    return refs, cur.execute(ONE_FLAGGED.format(col=col, groups=sql, beyond=beyond), _params(params)).fetchall()

def raw_detectors_per_check(con):
    cur = con.cursor()
    volume = _volume(cur)
    _owners, magnitude = _one_check(cur, "owner", "o.s > 0 AND abs(d.y - o.m) > 3.5 * o.s")
    currencies, rows = _one_check(cur, "currency", "abs(d.y - o.m) > greatest(3 * o.s, 0.5)")
    modes = _modes(currencies, [(r[1], r[3]) for r in rows])
    assert len(magnitude) == BAD and sum(n for _l, n, _o in modes) == BAD, (len(magnitude), modes)
    return len(volume), len(magnitude), modes
'''
RAW_DETECTOR_SQL = {  # each engine's spelling: exact quantile, sample, hour bucket, parameter marker and binding
    "duckdb": {
        "q50": "quantile_cont",
        "sampled": "hash(id) % {every} = 0",
        "hour": "date_trunc('hour', updated_at)",
        "mark": "lambda i: '?'",
        "params": "params",
    },
    "spark": {  # naive datetimes as UTC instants (pyspark would read them in this process's zone)
        "q50": "percentile",
        "sampled": "pmod(xxhash64(id), {every}) = 0",
        "hour": "CAST(date_trunc('HOUR', updated_at) AS TIMESTAMP_NTZ)",
        "mark": "lambda i: f':p{i}'",
        "params": "{f'p{i}': v.replace(tzinfo=_dt.UTC) if isinstance(v, _dt.datetime) else v"
        " for i, v in enumerate(params)}",
    },
}


def raw_detectors(engine: str, table: str, bad: int, rows: int) -> str:
    """The hand-written detector statements for `engine` (duckdb or spark), as source for the warm loop."""
    spelling = RAW_DETECTOR_SQL[engine]
    sampled = spelling["sampled"].format(every=max(1, rows // 200_000))
    return RAW_DETECTORS.format(table=table, bad=bad, **{**spelling, "sampled": sampled})


def spark_case(rows: int, runs: int) -> None:
    """The canonical suite and the detectors on Spark (warm, one process) beside the same on DuckDB. A Spark
    Connect server is started for the case (tests/spark_server.py) unless SENTINEL_BENCH_SPARK names one."""
    import duckdb

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from spark_server import SparkServer, problem

    why = problem()
    if why:
        raise SystemExit(f"--spark: {why}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = SparkServer(tmp / "spark", os.environ.get("SENTINEL_BENCH_SPARK"))
        (tmp / "spark").mkdir()
        db = tmp / "wh.duckdb"
        make_duckdb(db, rows)
        parquet = tmp / "deals_parquet"
        con = duckdb.connect(str(db))
        con.execute(f"COPY deals TO '{parquet}' (FORMAT parquet, PER_THREAD_OUTPUT true)")
        con.close()
        own = not os.environ.get("SENTINEL_BENCH_SPARK")
        if own:
            began = time.perf_counter()
            server.start()
            print(f"Spark Connect server on {server.url} up in {time.perf_counter() - began:.1f} s")
        try:
            client = server.client()
            client.sql("CREATE SCHEMA IF NOT EXISTS bench_speed")
            client.sql("DROP TABLE IF EXISTS bench_speed.deals")
            client.sql(f"CREATE TABLE bench_speed.deals USING parquet LOCATION '{parquet}'")
            spark_funcs = RAW_FUNCS.replace("{quantiles}", SPARK_QUANTILES).replace("{table}", "bench_speed.deals")
            rows_out = []
            bad = bad_rows(rows)
            for label, url, table, where, funcs, connect, keep in (
                ("DuckDB", f"duckdb:///{db}", "deals", str(db), raw_funcs("duckdb"), RAW_CONNECT["duckdb"], False),
                ("Spark", server.url, "bench_speed.deals", server.url, spark_funcs, SPARK_CONNECT, True),
            ):
                folder = tmp / label
                folder.mkdir()
                by_hand = raw_detectors("spark" if label == "Spark" else "duckdb", table, bad, rows)
                for name, checks, raw in (("canonical suite", CHECKS, funcs), ("detectors", DETECTORS, by_hand)):
                    cfg = write_project(
                        folder / name.replace(" ", "_"), url, table, checks, "spark" if label == "Spark" else "sql"
                    )
                    pair = WARM_PAIR.format(connect=connect, funcs=raw, keep=keep)
                    out = run_checked([sys.executable, "-c", pair, str(cfg), where, str(runs)], (0,)).stdout
                    raw_s, sen_s, *one = map(float, out.strip().splitlines()[-1].split())
                    rows_out.append((f"{label} {rows:,} rows, {name}", raw_s, sen_s))
                    if one:  # the detectors by hand, one check at a time: the floor of a per-check design
                        rows_out.append((f"{label} {rows:,} rows, {name} (hand: per check)", one[0], sen_s))
        finally:
            if own:
                server.stop()
    print(
        f"\nSpark and DuckDB, warm (one process, Sentinel's run and the hand-written statements alternating: the "
        f"canonical ones, or the detectors' by hand), medians of {runs} runs; load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'case':<64}{'raw SQL s':>10}{'sentinel s':>11}{'ratio':>7}  target")
    for case, raw_s, sen_s in rows_out:
        target = "<= 1.2x raw Spark SQL: " + verdict(sen_s / raw_s, 1.2) if case.startswith("Spark") else ""
        if case.endswith("(hand: per check)"):  # not the target's baseline: what a per-check design is up against
            target = f"hand per check / hand: {raw_s / next(r for c, r, _ in rows_out if case.startswith(c)):.2f}x"
        print(f"{case:<64}{fmt(raw_s)}{fmt(sen_s, 11)}{fmt(sen_s / raw_s, 7, 2)}  {target}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000_000], help="sizes besides the 10-row table")
    ap.add_argument("--backends", nargs="+", default=["duckdb", "postgresql"])
    ap.add_argument("--runs", type=int, default=5, help="interleaved rounds (warm: runs in the one process)")
    ap.add_argument("--detectors", action="store_true", help="also time the volume/magnitude/subschema run")
    ap.add_argument("--gx-suite", action="store_true", help="also time a GX suite with long-tail expectations")
    ap.add_argument("--no-peers", action="store_true", help="leave Soda Core and Great Expectations out")
    ap.add_argument(
        "--explained", type=int, nargs="?", const=20_000_000, metavar="ROWS", help="explained_by's case (20M rows)"
    )
    ap.add_argument(
        "--spark", type=int, nargs="?", const=10_000_000, metavar="ROWS", help="Spark's case beside DuckDB (10M rows)"
    )
    ap.add_argument("--smoke", action="store_true", help="10k rows, 1 round: checks the harness, not the speed")
    args = ap.parse_args()
    if args.smoke:
        args.rows, args.runs = [10_000], 1
    # A regular `pip install` byte-compiles the package; an editable one does not, and with
    # PYTHONDONTWRITEBYTECODE set every run would compile Sentinel's modules again. Measure the installed case.
    import compileall

    import sentinel

    compileall.compile_dir(Path(sentinel.__file__).parent, quiet=1)
    if args.spark:  # that case alone
        return spark_case(10_000 if args.smoke else args.spark, args.runs)
    if args.explained:  # that case alone
        return explained_case(10_000 if args.smoke else args.explained, args.backends, args.runs)
    versions = {d: version(d) for d in ("dq-sentinel", "soda-core", "soda-duckdb", "great-expectations", "duckdb")}
    soda = not args.no_peers and versions["soda-core"] is not None and versions["soda-duckdb"] is not None
    gx = not args.no_peers and versions["great-expectations"] is not None
    fresh, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.gx_suite or args.smoke:
            n = 1_000 if args.smoke else 1_000_000
            gx_suite_case(tmp, n, args.runs)  # all six compiled by Sentinel: GX is not imported
            gx_suite_case(tmp, n, args.runs, LONG_TAIL_WITH_GX, "regex with \\d left to GX")
        sizes = [("duckdb", 10)] + [(b, n) for n in args.rows for b in args.backends]
        for backend, n in sizes:
            folder = tmp / f"{backend}-{n}"
            folder.mkdir()
            label = "DuckDB" if backend == "duckdb" else "PostgreSQL"
            if backend == "duckdb":
                db = folder / "wh.duckdb"
                make_duckdb(db, n)
                url, table, where = f"duckdb:///{db}", "deals", str(db)
            else:
                make_postgres(n)
                url, table, where = PG.replace("postgresql://", "postgresql+psycopg://"), f"{SCHEMA}.deals", PG
            ids = bad_rows(n)
            funcs, connect = raw_funcs(backend), RAW_CONNECT[backend]
            raw = Side("raw", [sys.executable, "-c", RAW_FRESH.format(connect=connect, funcs=funcs), where])
            cfg = write_project(folder, url, table)
            sen_cmd = [*sentinel_cmd(), "run", "--json", "--config", str(cfg)]
            sides = [raw, Side("sentinel", sen_cmd, check=lambda p, ids=ids: check_sentinel(p, ids))]
            if backend == "duckdb" and soda:
                ds_file, contract = write_soda(folder, db)
                cmd = [*soda_cmd(), "contract", "verify", "-c", str(contract), "-ds", str(ds_file)]
                sides.append(Side("soda", cmd, SODA_ENV, check_soda))
            if backend == "duckdb" and gx:
                cmd = [sys.executable, "-c", GX_SUITE, str(db), "0"]
                sides.append(Side("gx", cmd, check=lambda p, ids=ids: check_gx(p, ids)))
            if n == 10:
                sides.append(Side("floor", [sys.executable, "-c", FLOOR]))
            runs = max(args.runs, 3) if n == 10 else args.runs
            fresh.append(race(f"fresh, {label} {n:,} rows", sides, runs, rss=not args.smoke))
            # warm, in one process each: the canonical suite repeated, and the raw statements repeated
            w_runs = (TINY_WARM_RUNS if not args.smoke else 5) if n == 10 else args.runs
            pair = WARM_PAIR.format(connect=connect, funcs=funcs, keep=backend != "duckdb")
            out = run_checked([sys.executable, "-c", pair, str(cfg), where, str(w_runs)], (0,)).stdout
            raw_s, sen_s = map(float, out.strip().splitlines()[-1].split())
            row = {"case": f"warm, {label} {n:,} rows", "raw": raw_s, "sentinel": sen_s}
            if n == 10 and soda:
                soda_warm = [sys.executable, "-c", SODA_WARM, str(ds_file), str(contract), str(w_runs)]
                row["soda"] = last_float(soda_warm, SODA_ENV)
            if n == 10 and gx:
                row["gx"] = last_float(
                    [sys.executable, "-c", GX_SUITE, str(db), str(min(w_runs, 10 if not args.smoke else 2))]
                )
            warm.append(row)
            if args.detectors and n != 10:
                det = write_project(folder / "detectors", url, table, DETECTORS)
                sen_det = Side("sentinel", [*sentinel_cmd(), "run", "--json", "--config", str(det)])
                fresh.append(
                    race(f"fresh, {label} {n:,} rows, detectors", [raw, sen_det], args.runs, rss=not args.smoke)
                )
                det_warm = last_float([sys.executable, "-c", WARM, str(det), str(args.runs)])
                warm.append({"case": f"warm, {label} {n:,} rows, detectors", "raw": row["raw"], "sentinel": det_warm})
    report(versions, soda, gx, fresh, warm, args)


def report(versions: dict, soda: bool, gx: bool, fresh: list[dict], warm: list[dict], args) -> None:
    print("versions: " + ", ".join(f"{k} {v or 'not installed'}" for k, v in versions.items()))
    if not soda or not gx:
        print("left out: " + ", ".join(n for n, on in (("Soda Core", soda), ("Great Expectations", gx)) if not on))
    cols = f"{'raw SQL s':>10}{'sentinel s':>11}{'soda s':>9}{'gx s':>9}{'sen/raw':>9}"
    print(
        f"\n{'fresh process, median of interleaved rounds':<40}{cols}{'sen/soda':>9}{'sen/gx':>8}{'RSS MiB':>8}  target"
    )
    for r in fresh:
        sen, raw, so, g = r["sentinel"], r["raw"], r.get("soda"), r.get("gx")
        vs_soda, vs_gx = (sen / so if so else None), (sen / g if g else None)
        targets = (
            [f"<= 0.8x soda: {verdict(vs_soda, 0.8)}"] if vs_soda is not None and "detectors" not in r["case"] else []
        )
        targets += [f"<= 0.15x gx: {verdict(vs_gx, 0.15)}"] if vs_gx is not None else []
        rss = f"{r['rss_mib']:>8.0f}" if r.get("rss_mib") else f"{'-':>8}"
        print(
            f"{r['case']:<40}{fmt(raw)}{fmt(sen, 11)}{fmt(so, 9)}{fmt(g, 9)}{fmt(sen / raw, 9, 2)}"
            f"{fmt(vs_soda, 9, 2)}{fmt(vs_gx, 8, 2)}{rss}  {'; '.join(targets)}"
        )
        if "floor" in r:
            print(f"{'floor: Python + the run`s imports':<40}{fmt(None)}{fmt(r['floor'], 11)}")
    print(f"\n{'warm, one process, median of repeated runs':<40}{cols}  target")
    for r in warm:
        sen, raw = r["sentinel"], r["raw"]
        if "detectors" in r["case"]:
            target = ""
        elif " 10 rows" in r["case"]:
            over = (sen - raw) * 1000
            target = f"Sentinel's overhead {over:.1f} ms a run (<= 10 ms: {'met' if over <= 10 else 'NOT met'})"
        else:
            limit = 1.15 if "DuckDB" in r["case"] else 1.05
            target = f"<= {limit}x raw: {verdict(sen / raw, limit)}"
        print(
            f"{r['case']:<40}{fmt(raw)}{fmt(sen, 11)}{fmt(r.get('soda'), 9)}{fmt(r.get('gx'), 9)}"
            f"{fmt(sen / raw, 9, 2)}  {target}"
        )
    if args.detectors:
        print("detectors: DuckDB 10M fresh ratio <= 2.0 (vs the raw canonical suite), PostgreSQL RSS flat in rows")


if __name__ == "__main__":
    main()
