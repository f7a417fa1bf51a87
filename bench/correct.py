"""SQL correction target benchmark (issue 12): promotion cost and the overlay view's verification cost.

(1) Promoting a change-set of 10,000 rows (amount -> amount / 10) through `sentinel.correctors.sql` (one
    transaction: one conditional `UPDATE ... FROM (VALUES ...) ... RETURNING key` per field, then only the cells
    it did not match read under lock and checked to hold the new value) against a hand-written
    `UPDATE deals SET amount = v.new FROM (VALUES ...) v(k, old, new) WHERE id = v.k AND amount = v.old` with
    its row count checked, on the same table, through the raw driver (psycopg, duckdb). Best of N after a
    warm-up; the data is restored (untimed) after each run. Target: sentinel <= 1.5x the hand-written statement.
(2) The dataset's check suite (not_empty, magnitude with group_by, expect between, volume) measured by
    `sentinel.runner.measure` on the staged overlay view (the same 10,000-row change-set) against the plain
    table, each in its own process (best of N after a warm-up; peak RSS of that process). Target <= 1.2x.

    python bench/correct.py                              # (1) on 1M rows; (2) at 10M rows; DuckDB + PostgreSQL
    python bench/correct.py --rows 10000000 --pg-rows 1000000
    python bench/correct.py --smoke                      # tiny sizes, one run (CI: checks the harness)

Tables come from bench/speed.py's generator (DuckDB files in a temporary folder; PostgreSQL in schema
`bench_correct`, reused between invocations when the row count matches). PostgreSQL: SENTINEL_BENCH_PG.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from speed import GENERATE_SELECT, PG, make_duckdb, write_project

SCHEMA = "bench_correct"
STAGING = "bench_correct_stg"

SUITE = """
datasets:
  - name: deals
    source: wh
    table: {table}
    key: id
    checks:
      - not_empty: {{}}
      - magnitude: {{column: amount, group_by: [owner]}}
      - expect:
          type: expect_column_values_to_be_between
          kwargs: {{column: amount, min_value: 0, max_value: 50000000}}
      - volume: {{timestamp_column: updated_at, bucket: hour, training_period: 18h, detection_period: 4h}}
"""

# One measured case in its own process: warm-up, then `runs` timed `measure` calls; prints the best wall-clock and
# CPU seconds (all of DuckDB's threads: less sensitive than wall-clock to other jobs on the machine), RSS, statuses.
MEASURE = """
import datetime as dt, json, resource, sys, time
from sentinel.config import load_config
from sentinel.runner import measure
cfg = load_config(sys.argv[1])
ds = cfg.dataset("deals").model_copy(update={"table": sys.argv[2]})
now = dt.datetime.now()
measure(cfg, ds, now, None)
times, cpu = [], []
for _ in range(int(sys.argv[3])):
    began, began_cpu = time.perf_counter(), time.process_time()
    res = measure(cfg, ds, now, None)
    times.append(time.perf_counter() - began)
    cpu.append(time.process_time() - began_cpu)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"best": min(times), "cpu": min(cpu), "rss_mib": rss, "status": {r.check: r.status for r in res}}))
"""


# DuckDB's per-row costs behind the view's (one thread, CPU seconds, best of 5, in its own process): a scan of
# production, the same scan with the cheapest per-row predicate, with the overlay's probe of the changed rows'
# rowids, with the LEFT JOIN on the key it replaced, and the staged view itself.
FLOOR = """
import json, sys, time, duckdb
db, view, cells = sys.argv[1:4]
con = duckdb.connect(db, read_only=True)
con.execute("SET threads = 1")
n = con.execute("SELECT count(*) FROM deals").fetchone()[0]
queries = {
    "scan": "SELECT count(*), sum(amount) FROM deals",
    "cheapest predicate (rowid % 1000 <> 999)": "SELECT count(*), sum(amount) FROM deals WHERE rowid % 1000 <> 999",
    "rowid NOT IN (the cells' rowids)": f"SELECT count(*), sum(amount) FROM deals WHERE rowid NOT IN "
    f"(SELECT rid FROM {cells} WHERE rid IS NOT NULL)",
    "LEFT JOIN cells on the key": f"SELECT count(*), sum(CASE WHEN c.s0 THEN c.v0 ELSE t.amount END) FROM deals t "
    f"LEFT JOIN {cells} c ON t.id = c.k",
    "the overlay view": f"SELECT count(*), sum(amount) FROM {view}",
}
out = {}
for name, sql in queries.items():
    best = 1e9
    for _ in range(5):
        began = time.process_time()
        con.execute(sql).fetchall()
        best = min(best, time.process_time() - began)
    out[name] = best
print(json.dumps({"rows": n, "cpu": out}))
"""


def bench_floor(db: str, view: str, cells: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", FLOOR, db, view, cells], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"floor measurement failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_postgres(rows: int) -> None:
    """speed.py's table, in this benchmark's own schema (promotion writes it; speed.py's stays untouched)."""
    import psycopg

    step = max(rows // 500, 1)
    with psycopg.connect(PG, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        have = con.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = 'deals'", (SCHEMA,)
        ).fetchone()[0]
        if have and con.execute(f"SELECT count(*) FROM {SCHEMA}.deals").fetchone()[0] == rows:
            return
        con.execute(f"DROP TABLE IF EXISTS {SCHEMA}.deals")
        select = GENERATE_SELECT.format(step=step, now="localtimestamp")
        con.execute(f"CREATE TABLE {SCHEMA}.deals AS {select} FROM generate_series(1::bigint, {rows}::bigint) AS i")
        con.execute(f"ALTER TABLE {SCHEMA}.deals ADD PRIMARY KEY (id)")
        con.execute(f"ANALYZE {SCHEMA}.deals")


def project(folder: Path, url: str, table: str):
    """A config whose source writes through the same URL into the benchmark's staging schema."""
    from sentinel.config import load_config
    from sentinel.correctors.base import Where

    path = write_project(folder, url, table, SUITE)
    text = path.read_text().replace('url: "' + url + '"}', f'url: "{url}", staging_schema: {STAGING}}}')
    path.write_text(text)
    cfg = load_config(path)
    ds = cfg.dataset("deals")
    return path, cfg, Where(cfg, "wh", ds, table, "id")


def change_set(where, n: int, rows: int) -> list:
    """n cells spread over the first `rows` rows: amount -> amount / 10, old as evidence carries a DOUBLE."""
    from sentinel.checks.exact import shifted
    from sentinel.correctors.base import Cell
    from sentinel.correctors.sql import SqlTarget

    step = max(rows // n, 1)
    keys = [str(i * step + 1) for i in range(n)]
    target = SqlTarget(where)
    try:
        now = target.read(keys, ["amount"])
    finally:
        target.close()
    return [Cell(k, "amount", now[k]["amount"], shifted(now[k]["amount"], 1)) for k in keys]


class Raw:
    """The hand-written promotion: one UPDATE ... FROM (VALUES ...) with the old value as precondition,
    the row count checked, all in one transaction, through the raw driver."""

    def __init__(self, backend: str, db: str, table: str):
        self.backend, self.db, self.table = backend, db, table
        self.pg = None
        if backend == "postgresql":
            import psycopg

            self.pg = psycopg.connect(PG)

    def apply(self, cells: list, inverse: bool = False) -> None:
        rows = [(int(c.key), float(c.new if inverse else c.old), float(c.old if inverse else c.new)) for c in cells]
        flat = [x for r in rows for x in r]
        if self.backend == "postgresql":
            values = ", ".join(["(%s, %s, %s)"] * len(rows))
            sql = f"UPDATE {self.table} AS t SET amount = v.new FROM (VALUES {values}) v(k, old, new) "
            sql += "WHERE t.id = v.k AND t.amount = v.old"
            with self.pg.transaction():
                n = self.pg.execute(sql, flat).rowcount
                if n != len(rows):
                    raise RuntimeError(f"hand-written UPDATE matched {n} of {len(rows)} rows")
            return
        import duckdb

        values = ", ".join(["(?, ?, ?)"] * len(rows))
        sql = f"UPDATE {self.table} AS t SET amount = v.new FROM (VALUES {values}) v(k, old, new) "
        sql += "WHERE t.id = v.k AND t.amount = v.old"
        con = duckdb.connect(self.db)
        try:
            con.execute("BEGIN")
            n = con.execute(sql, flat).fetchone()[0]
            if n != len(rows):
                raise RuntimeError(f"hand-written UPDATE matched {n} of {len(rows)} rows")
            con.execute("COMMIT")
        finally:
            con.close()

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()


def bench_promote(backend: str, where, db: str, table: str, cells: list, runs: int) -> dict:
    """Best-of-`runs` seconds of the target's promote and of the hand-written statement, after a warm-up."""
    from sentinel.correctors.sql import SqlTarget

    raw = Raw(backend, db, table)
    target = SqlTarget(where)
    sen_t, raw_t = [], []
    try:
        for i in range(runs + 1):  # the first round warms both up (caches, the target's describe)
            began = time.perf_counter()
            done = target.promote(1, cells, {})
            elapsed = time.perf_counter() - began
            assert done["written"] == len(cells), done
            raw.apply(cells, inverse=True)  # restore, untimed
            began = time.perf_counter()
            raw.apply(cells)
            raw_elapsed = time.perf_counter() - began
            raw.apply(cells, inverse=True)
            if i:
                sen_t.append(elapsed)
                raw_t.append(raw_elapsed)
    finally:
        target.close()
        raw.close()
    return {"raw_s": min(raw_t), "sentinel_s": min(sen_t), "ratio": min(sen_t) / min(raw_t)}


def bench_measure(config: Path, table: str, view: str, runs: int, rounds: int) -> tuple[dict, dict]:
    """Table and view measured in alternating processes, `rounds` of each: the best of every round counts, so a
    burst of load on a shared machine does not land on one side only."""
    best: list[dict] = [{}, {}]
    for _ in range(rounds):
        for i, t in enumerate((table, view)):
            proc = subprocess.run(
                [sys.executable, "-c", MEASURE, str(config), t, str(runs)], capture_output=True, text=True
            )
            if proc.returncode:
                raise SystemExit(f"measure on {t} failed:\n{proc.stderr[-2000:]}")
            got = json.loads(proc.stdout.strip().splitlines()[-1])
            if not best[i]:
                best[i] = got
            else:
                best[i].update(
                    best=min(best[i]["best"], got["best"]),
                    cpu=min(best[i]["cpu"], got["cpu"]),
                    rss_mib=max(best[i]["rss_mib"], got["rss_mib"]),
                )
    return best[0], best[1]


def setup(backend: str, rows: int, folder: Path) -> tuple[str, str, str]:
    """(url, table, db file or '') for a fresh table of `rows` rows."""
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "duckdb":
        db = folder / "wh.duckdb"
        make_duckdb(db, rows)
        return f"duckdb:///{db}", "deals", str(db)
    make_postgres(rows)
    return PG.replace("postgresql://", "postgresql+psycopg://"), f"{SCHEMA}.deals", ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--promote-rows", type=int, default=1_000_000, help="table size for (1)")
    ap.add_argument("--cells", type=int, default=10_000, help="rows in the change-set")
    ap.add_argument(
        "--clustered", action="store_true", help="(2): the change-set's rows are the table's first ones, not spread"
    )
    ap.add_argument("--rows", type=int, default=10_000_000, help="table size for (2) on DuckDB")
    ap.add_argument("--pg-rows", type=int, default=10_000_000, help="table size for (2) on PostgreSQL")
    ap.add_argument("--backends", nargs="+", default=["duckdb", "postgresql"])
    ap.add_argument("--runs", type=int, default=3, help="timed runs in each measuring process (best counts)")
    ap.add_argument("--rounds", type=int, default=2, help="(2): alternating table/view processes of each")
    ap.add_argument("--parts", nargs="+", type=int, default=[1, 2], help="which of (1) and (2) to run")
    ap.add_argument("--smoke", action="store_true", help="tiny tables, one run: checks the harness, not the speed")
    args = ap.parse_args()
    if args.smoke:
        args.promote_rows, args.cells, args.rows, args.pg_rows = 10_000, 500, 10_000, 10_000
        args.runs = args.rounds = 1
    began = time.perf_counter()
    promote_rows, measure_rows, floors = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for backend in args.backends:
            url, table, db = "", "", ""
            if 1 in args.parts:
                url, table, db = setup(backend, args.promote_rows, tmp / f"{backend}-promote")
                _config, _cfg, where = project(tmp / f"{backend}-promote", url, table)
                cells = change_set(where, args.cells, args.promote_rows)
                row = bench_promote(backend, where, db, table, cells, args.runs)
                promote_rows.append({"case": f"{backend} {args.promote_rows:,} rows, {len(cells):,} cells", **row})
            if 2 not in args.parts:
                continue

            n = args.rows if backend == "duckdb" else args.pg_rows
            if n != args.promote_rows or backend == "duckdb" or not url:
                url, table, db = setup(backend, n, tmp / f"{backend}-measure")
            config, _cfg, where = project(tmp / f"{backend}-measure", url, table)
            cells = change_set(where, args.cells, args.cells if args.clustered else n)
            from sentinel.correctors.sql import SqlTarget

            target = SqlTarget(where)
            try:
                t0 = time.perf_counter()
                handle = target.stage(1, cells)
                stage_s = time.perf_counter() - t0
                view = f"{STAGING}.{handle['view']}"
                plain, staged = bench_measure(config, table, view, args.runs, args.rounds)
                if backend == "duckdb":
                    floors.append(
                        (
                            f"{n:,} rows, {len(cells):,} cells",
                            bench_floor(db, view, f"{STAGING}.{handle['cells_table']}"),
                        )
                    )
                target.discard(1, handle)
            finally:
                target.close()
            spread = "clustered" if args.clustered else "spread"
            case = f"{backend} {n:,} rows, {len(cells):,} {spread} cells ({handle['overlay']})"
            measure_rows.append({"case": case, "plain": plain, "staged": staged, "stage_s": stage_s})
    print(f"(1) promote a change-set: the target vs a hand-written UPDATE ... FROM (VALUES ...), best of {args.runs}")
    print(f"{'case':<42}{'raw s':>9}{'sentinel s':>12}{'ratio':>8}")
    for r in promote_rows:
        print(f"{r['case']:<42}{r['raw_s']:>9.3f}{r['sentinel_s']:>12.3f}{r['ratio']:>8.2f}")
    print("target: ratio <= 1.5")
    print(
        "(2) the check suite by sentinel.runner.measure: staged overlay view vs plain table, "
        f"best of {args.runs} x {args.rounds} alternating processes (CPU: all threads)"
    )
    print(
        f"{'case':<54}{'table s':>9}{'view s':>9}{'ratio':>7}{'CPU table':>11}{'CPU view':>10}{'ratio':>7}"
        f"{'RSS table':>11}{'RSS view':>10}{'stage s':>9}"
    )
    for r in measure_rows:
        p, s = r["plain"], r["staged"]
        print(
            f"{r['case']:<54}{p['best']:>9.3f}{s['best']:>9.3f}{s['best'] / p['best']:>7.2f}"
            f"{p['cpu']:>11.3f}{s['cpu']:>10.3f}{s['cpu'] / p['cpu']:>7.2f}"
            f"{p['rss_mib']:>10.0f}M{s['rss_mib']:>9.0f}M{r['stage_s']:>9.3f}"
        )
        if p["status"] != s["status"]:
            print(f"  statuses: table {p['status']} / view {s['status']}")
    print("target: ratio <= 1.2 (peak RSS: of the measuring process)")
    for case, f in floors:
        print(f"(3) DuckDB, {case}: CPU of one scan of amount, one thread, best of 5; ns a row over the plain scan")
        scan = f["cpu"]["scan"]
        for name, cpu in f["cpu"].items():
            extra = "" if name == "scan" else f"{(cpu - scan) / f['rows'] * 1e9:>8.1f} ns/row"
            print(f"  {name:<42}{cpu:>8.3f} s{extra}")
    print(f"total {time.perf_counter() - began:.1f} s at {dt.datetime.now():%Y-%m-%d %H:%M}")


if __name__ == "__main__":
    main()
