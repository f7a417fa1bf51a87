"""Daemon benchmark: many datasets on short schedules, one real `sentinel daemon` process.

    python bench/daemon.py                                  # 500 datasets, every 60s, for one hour
    python bench/daemon.py --datasets 100 --every 12 --duration 720   # 60 ticks in 12 minutes, same load
    python bench/daemon.py --smoke                          # 20 datasets, every 2s, 12 s (CI)

Half the datasets read a local DuckDB file, half a PostgreSQL table (127.0.0.1:5432/test, schema
`bench_daemon`; SENTINEL_BENCH_PG overrides); each runs `not_empty` and a range expectation. The state store is
PostgreSQL (schema `bench_daemon_state`, dropped first) unless --sqlite. Printed: scheduling lag (run start
minus its nominal tick, from the state store) p50 / p99 / max, runs per minute, ticks missed, and the daemon's
RSS sampled every few seconds (first quarter vs last quarter: flat or growing).
Targets (issue 4): lag p99 < 2 s, memory flat.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import duckdb
import sqlalchemy as sa

PG = os.environ.get("SENTINEL_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SRC_SCHEMA, STATE_SCHEMA = "bench_daemon", "bench_daemon_state"


def setup(folder: Path, n: int, every: int, sqlite_state: bool, workers: int) -> str:
    con = duckdb.connect(str(folder / "wh.duckdb"))
    con.execute("CREATE TABLE deals AS SELECT range AS id, 100.0 + range AS amount FROM range(1000)")
    con.close()
    engine = sa.create_engine(PG)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {STATE_SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {STATE_SCHEMA}"))
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SRC_SCHEMA}"))
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {SRC_SCHEMA}.deals"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {SRC_SCHEMA}.deals AS "
                "SELECT g AS id, 100.0 + g AS amount FROM generate_series(1, 1000) g"
            )
        )
    engine.dispose()
    state = "sqlite:///state.db" if sqlite_state else f"{PG}?options=-csearch_path%3D{STATE_SCHEMA}"
    (folder / "config.yaml").write_text(
        textwrap.dedent(f"""
        state: "{state}"
        sources:
          duck: {{type: sql, url: "duckdb:///wh.duckdb"}}
          pg: {{type: sql, url: "{PG}"}}
        daemon: {{workers: {workers}, heartbeat: 5s}}
        """)
    )
    (folder / "checks").mkdir()
    items = []
    for i in range(n):
        src, table = ("duck", "deals") if i % 2 == 0 else ("pg", f"{SRC_SCHEMA}.deals")
        items.append(
            f"""
  - name: ds{i:04d}
    source: {src}
    table: {table}
    key: id
    schedule: every {every}s
    checks:
      - not_empty: {{}}
      - expect: {{type: expect_column_values_to_be_between, kwargs: {{column: amount, min_value: 0}}}}"""
        )
    (folder / "checks" / "bench.yaml").write_text("datasets:" + "".join(items) + "\n")
    return state if not sqlite_state else f"sqlite:///{folder / 'state.db'}"


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=int, default=500)
    ap.add_argument("--every", type=int, default=60, help="schedule interval in seconds")
    ap.add_argument("--duration", type=int, default=3600, help="seconds to run")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--sqlite", action="store_true", help="SQLite state store instead of PostgreSQL")
    ap.add_argument("--smoke", action="store_true", help="20 datasets, every 2s, for 12 s")
    args = ap.parse_args()
    if args.smoke:
        args.datasets, args.every, args.duration = 20, 2, 12
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        state = setup(folder, args.datasets, args.every, args.sqlite, args.workers)
        log = open(folder / "daemon.log", "wb")  # noqa: SIM115
        cmd = [
            sys.executable,
            "-m",
            "sentinel",
            "daemon",
            "--config",
            str(folder / "config.yaml"),
            "--log-format",
            "json",
        ]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
        began = time.time()
        samples: list[tuple[float, float]] = []
        try:
            while time.time() - began < args.duration:
                time.sleep(min(5.0, args.duration / 10))
                if proc.poll() is not None:
                    raise SystemExit(f"daemon exited {proc.returncode}:\n{(folder / 'daemon.log').read_text()[-3000:]}")
                value = rss_mib(proc.pid)
                if value is not None:
                    samples.append((time.time() - began, value))
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(120)
            log.close()
        engine = sa.create_engine(state)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(sa.text("t.dataset, r.started_at, t.tick, t.done_at")).select_from(
                    sa.text("ticks t JOIN runs r ON r.run_uid = t.run_uid")
                )
            ).all()
            errors = conn.execute(sa.text("SELECT count(*) FROM results WHERE status = 'error'")).scalar()
        engine.dispose()

    def aware(v):
        import datetime as dt

        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v)
        return v if v.tzinfo else v.replace(tzinfo=dt.UTC)

    # each dataset's first run is the boot catch-up of a tick before the daemon started: start-up, not lag
    first: dict[str, object] = {}
    for r in sorted(rows, key=lambda r: aware(r.tick)):
        first.setdefault(r.dataset, aware(r.tick))
    lags = sorted(
        (aware(r.started_at) - aware(r.tick)).total_seconds() for r in rows if aware(r.tick) != first[r.dataset]
    )
    if not lags:
        raise SystemExit("no scheduled runs recorded")
    ticks_expected = args.datasets * max(int(args.duration // args.every) - 1, 1)
    p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]  # noqa: E731
    print(f"datasets {args.datasets}, every {args.every}s, {args.duration}s, workers {args.workers}, exit code {code}")
    print(f"runs written: {len(rows)} ({60 * len(rows) / args.duration:.0f} per minute), check errors: {errors}")
    print(f"scheduled runs (boot catch-up excluded): {len(lags)} of about {ticks_expected} ticks")
    print(f"lag s: p50 {p(0.5):.3f}  p99 {p(0.99):.3f}  max {lags[-1]:.3f}   (target p99 < 2 s)")
    if samples:
        values = [v for _, v in samples]
        q = max(len(values) // 4, 1)
        early, late = statistics.mean(values[:q]), statistics.mean(values[-q:])
        print(
            f"RSS MiB: first quarter {early:.0f}, last quarter {late:.0f}, max {max(values):.0f} "
            f"({len(values)} samples; target: flat)"
        )


if __name__ == "__main__":
    main()
