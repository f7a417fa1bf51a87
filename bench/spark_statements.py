"""Where Sentinel's detectors spend their time on Spark: each statement's wall time, beside the floor of a statement.

    python bench/spark_statements.py 10000000 --runs 3   # the detectors of bench/speed.py on 10M rows
    python bench/spark_statements.py --smoke             # 10,000 rows, one run: checks the harness (CI)

The same table and checks as `bench/speed.py --spark` (DETECTORS: volume of updated_at by hour, magnitude of
amount within owner, subschema of amount by currency), run warm in this process as the daemon runs them
(collect with its engine cache, then save). Each statement sent to Spark is timed through SQLAlchemy's cursor
events and printed with its first words, per run; then the median per statement. The floor: `SELECT 1`, a bare
`count(*)` of the table (Parquet footers only) and `count(*), sum(amount)` (one column read), medians of 5.
A Spark Connect server is started for the run unless SENTINEL_BENCH_SPARK names one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import speed  # noqa: E402 - the table, checks and project of bench/speed.py

WORDS = 12  # of each statement's text shown


def floor(client, table: str, runs: int = 5) -> dict[str, float]:
    out = {}
    for label, sql in (
        ("SELECT 1", "SELECT 1"),
        ("count(*)", f"SELECT count(*) FROM {table}"),
        ("count(*), sum(amount)", f"SELECT count(*), sum(amount) FROM {table}"),
    ):
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            client.sql(sql).toArrow()
            times.append(time.perf_counter() - began)
        out[label] = statistics.median(times)
    return out


def profile(cfg_path: Path, runs: int) -> tuple[list[float], dict[int, list[tuple[str, float]]]]:
    """Sentinel's run `runs` times after a warm-up: each run's wall time and its statements (text, seconds)."""
    from sentinel.config import load_config
    from sentinel.daemon import settle_heap
    from sentinel.runner import collect, save
    from sentinel.store import Store

    cfg = load_config(str(cfg_path))
    store, ds, engines = Store(cfg.state_url), cfg.datasets[0], {}
    sent: list[tuple[str, float]] = []

    def before(conn, cursor, statement, params, context, executemany):
        context._bench_began = time.perf_counter()

    def after(conn, cursor, statement, params, context, executemany):
        if conn.engine.dialect.name == "spark":
            sent.append((" ".join(statement.split()[:WORDS]), time.perf_counter() - context._bench_began))

    sa.event.listen(sa.Engine, "before_cursor_execute", before)
    sa.event.listen(sa.Engine, "after_cursor_execute", after)
    totals, statements = [], {}
    for i in range(runs + 1):
        sent.clear()
        began = time.perf_counter()
        save(store, collect(cfg, store, ds, engines=engines), cfg)
        if i:  # the first is a warm-up
            totals.append(time.perf_counter() - began)
            statements[i] = list(sent)
        else:
            settle_heap()  # as the daemon does after its first run
    return totals, statements


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", type=int, nargs="?", default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="10,000 rows, one run")
    args = ap.parse_args()
    rows, runs = (10_000, 1) if args.smoke else (args.rows, args.runs)
    warnings.simplefilter("ignore", FutureWarning)  # pyspark on pandas 3
    import duckdb
    from spark_server import SparkServer, problem

    why = problem()
    if why:
        raise SystemExit(f"spark_statements: {why}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "spark").mkdir()
        server = SparkServer(tmp / "spark", os.environ.get("SENTINEL_BENCH_SPARK"))
        db, parquet = tmp / "wh.duckdb", tmp / "deals_parquet"
        speed.make_duckdb(db, rows)
        con = duckdb.connect(str(db))
        con.execute(f"COPY deals TO '{parquet}' (FORMAT parquet, PER_THREAD_OUTPUT true)")
        con.close()
        own = not os.environ.get("SENTINEL_BENCH_SPARK")
        if own:
            server.start()
        try:
            client = server.client()
            client.sql("CREATE SCHEMA IF NOT EXISTS bench_statements")
            client.sql("DROP TABLE IF EXISTS bench_statements.deals")
            client.sql(f"CREATE TABLE bench_statements.deals USING parquet LOCATION '{parquet}'")
            least = floor(client, "bench_statements.deals")
            cfg = speed.write_project(tmp / "project", server.url, "bench_statements.deals", speed.DETECTORS, "spark")
            os.chdir(cfg.parent)  # the project's state store is relative to it
            totals, statements = profile(cfg, runs)
        finally:
            if own:
                server.stop()
    print(f"Spark, {rows:,} rows, warm; load {os.getloadavg()[0]:.1f} at the end")
    print("floor of a statement (median of 5): " + ", ".join(f"{k} {v:.3f} s" for k, v in least.items()))
    for i, sent in statements.items():
        print(f"run {i}: {totals[i - 1]:.2f} s, {len(sent)} statements, {sum(s for _, s in sent):.2f} s in them")
        for text, s in sent:
            print(f"  {s:7.3f}  {text}")
    print(f"median run {statistics.median(totals):.2f} s; per statement (median over runs):")
    for j, (text, _) in enumerate(statements[1]):
        ts = [sent[j][1] for sent in statements.values() if len(sent) > j]
        print(f"  {statistics.median(ts):7.3f}  {text}")
    sys.stdout.flush()
    os._exit(0)  # skip teardown: a Spark Connect session's __del__ can hang closing its channel (SPARK-55620)


if __name__ == "__main__":
    main()
