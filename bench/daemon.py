"""Daemon benchmark: many datasets on short schedules, real `sentinel daemon` processes on one state store.

    python bench/daemon.py                                  # 500 datasets, every 60s, for one hour
    python bench/daemon.py --datasets 100 --every 12 --duration 720   # 60 ticks in 12 minutes, same load
    python bench/daemon.py --replicas 1,2,4 --datasets 300 --every 5 --duration 90   # replicas scaling
    python bench/daemon.py --replicas 1,2,4 --datasets 200 --every 5 --duration 30 --source-latency 0.2
    python bench/daemon.py --smoke                          # 20 datasets every 2s: 1 daemon 12 s, 2 daemons 8 s (CI)

Half the datasets read a local DuckDB file, half a PostgreSQL table (127.0.0.1:5432/test, schema
`bench_daemon`; SENTINEL_BENCH_PG overrides); each runs `not_empty` and a range expectation. The state store is
PostgreSQL (schema `bench_daemon_state_<pid>`, fresh for each fleet, dropped at the end) unless --sqlite.

One daemon: scheduling lag (run start minus its nominal tick, from the state store) p50 / p99 / max, runs per
minute, ticks missed, and the daemon's RSS sampled every few seconds (first quarter vs last quarter).
Targets (issue 4): lag p99 < 2 s, memory flat.

`--replicas 1,2,4`: for each N, a fresh state schema and N separate daemon processes (not threads: the GIL
would serialise them) on it, run for --duration, then SIGTERM. Measured over a steady window (from one
interval after the last daemon's first heartbeat to the stop), all read from the state store: runs/s, the
share of due ticks served, lag p50/p99, ticks written more than once, the runs each daemon wrote; beside
them the daemons' CPU per run (/proc) and, scraped from each daemon's /metrics just before the stop, the runs
measured and then dropped because another daemon had written the tick (the lease should make that 0).
Targets (issue 14): runs/s within 80% of linear up to the machine's cores, no tick run twice, lag p99 < 2 s
at the N whose throughput suffices. Pick a load one daemon cannot hold (--datasets / --every above its
runs/s). Rounds (--rounds) repeat 1,2,4,... interleaved; the figures are per-N medians.

`--source-latency S`: every dataset reads a PostgreSQL view whose queries wait S seconds on the server
(`pg_sleep`), as a remote warehouse makes a run wait while using no CPU here. A daemon is then bound by its
workers waiting (about workers / S runs/s), not by this machine's cores, which is where replicas add
throughput on a host of any size; without it, every run is CPU on this machine and the cores bound the fleet.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import duckdb
import sqlalchemy as sa

PG = os.environ.get("SENTINEL_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SRC_SCHEMA, STATE_SCHEMA = "bench_daemon", f"bench_daemon_state_{os.getpid()}"  # one per bench: no clash
CLK_TCK = os.sysconf("SC_CLK_TCK")
APP = f"sentinel_bench_{os.getpid()}"  # the daemons' PostgreSQL sessions, to read their backends' CPU


def tagged(url: str) -> str:
    """The URL with application_name set, so the server's backends serving the daemons can be found."""
    return f"{url}{'&' if '?' in url else '?'}application_name={APP}"


def setup(folder: Path, n: int, every: int, sqlite_state: bool, workers: int, latency: float = 0.0) -> str:
    """Sources (a DuckDB file, a PostgreSQL table) and the project; returns the state store URL. With `latency`,
    every dataset reads a PostgreSQL view that waits that long on the server at each query (`pg_sleep`), as a
    remote warehouse makes a run wait without using this machine's CPU."""
    con = duckdb.connect(str(folder / "wh.duckdb"))
    con.execute("CREATE TABLE deals AS SELECT range AS id, 100.0 + range AS amount FROM range(1000)")
    con.close()
    engine = sa.create_engine(PG)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SRC_SCHEMA}"))
        conn.execute(sa.text(f"DROP VIEW IF EXISTS {SRC_SCHEMA}.deals_slow"))
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {SRC_SCHEMA}.deals"))
        conn.execute(
            sa.text(
                f"CREATE TABLE {SRC_SCHEMA}.deals AS "
                "SELECT g AS id, 100.0 + g AS amount FROM generate_series(1, 1000) g"
            )
        )
        conn.execute(
            sa.text(
                f"CREATE VIEW {SRC_SCHEMA}.deals_slow AS SELECT d.* FROM {SRC_SCHEMA}.deals d, "
                f"(SELECT pg_sleep({float(latency)})) AS wait"
            )
        )
    engine.dispose()
    state = "sqlite:///state.db" if sqlite_state else tagged(f"{PG}?options=-csearch_path%3D{STATE_SCHEMA}")
    (folder / "config.yaml").write_text(
        textwrap.dedent(f"""
        state: "{state}"
        sources:
          duck: {{type: sql, url: "duckdb:///wh.duckdb"}}
          pg: {{type: sql, url: "{tagged(PG)}"}}
        daemon: {{workers: {workers}, heartbeat: {HEARTBEAT}s}}
        """)
    )
    (folder / "checks").mkdir()
    items = []
    for i in range(n):
        src, table = ("duck", "deals") if i % 2 == 0 else ("pg", f"{SRC_SCHEMA}.deals")
        if latency:
            src, table = "pg", f"{SRC_SCHEMA}.deals_slow"
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


def fresh_state(create: bool = True) -> None:
    """An empty PostgreSQL state schema: each fleet starts from nothing, as the daemons migrate it."""
    engine = sa.create_engine(PG)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {STATE_SCHEMA} CASCADE"))
        if create:
            conn.execute(sa.text(f"CREATE SCHEMA {STATE_SCHEMA}"))
    engine.dispose()


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def backends_cpu(engine: sa.Engine) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving the daemons (the server runs on this machine)."""
    with engine.connect() as conn:
        pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"), {"a": APP})
        return {pid: cpu_seconds(pid) for (pid,) in pids}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def aware(v: dt.datetime | str) -> dt.datetime:
    if isinstance(v, str):
        v = dt.datetime.fromisoformat(v)
    return v if v.tzinfo else v.replace(tzinfo=dt.UTC)


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


class Fleet:
    """N `sentinel daemon` processes on one project folder, each with its log and a /metrics port."""

    def __init__(self, folder: Path, n: int, tag: str) -> None:
        self.folder = folder
        self.ports = [free_port() for _ in range(n)]
        self.logs = [open(folder / f"daemon-{tag}-{i}.log", "wb") for i in range(n)]  # noqa: SIM115
        cmd = [sys.executable, "-m", "sentinel", "daemon", "--config", str(folder / "config.yaml")]
        self.procs = [
            subprocess.Popen(
                [*cmd, "--log-format", "json", "--http", f"127.0.0.1:{port}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=folder,
            )
            for port, log in zip(self.ports, self.logs, strict=True)
        ]

    def check_alive(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:
                tail = Path(self.logs[i].name).read_text()[-3000:]
                raise SystemExit(f"daemon {i} exited {proc.returncode}:\n{tail}")

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def skipped(self) -> dict[str, float]:
        """sentinel_runs_skipped_total by reason, and sentinel_runs_adopted_total as "adopted", summed over the
        daemons' /metrics."""
        out: dict[str, float] = {}
        for port in self.ports:
            try:
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
            except OSError:
                continue
            for reason, value in re.findall(r'^sentinel_runs_skipped_total\{reason="(\w+)"\} (\S+)$', text, re.M):
                out[reason] = out.get(reason, 0.0) + float(value)
            for value in re.findall(r"^sentinel_runs_adopted_total (\S+)$", text, re.M):
                out["adopted"] = out.get("adopted", 0.0) + float(value)
        return out

    def stop(self) -> list[int]:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(120) for proc in self.procs]
        for log in self.logs:
            log.close()
        return codes


# --- one daemon: lag and memory over a long run ------------------------------------------------------------


def single(args: argparse.Namespace, folder: Path, state: str) -> None:
    if not args.sqlite:
        fresh_state()
    fleet = Fleet(folder, 1, "single")
    proc = fleet.procs[0]
    began = time.time()
    samples: list[tuple[float, float]] = []
    try:
        while time.time() - began < args.duration:
            time.sleep(min(5.0, args.duration / 10))
            fleet.check_alive()
            value = rss_mib(proc.pid)
            if value is not None:
                samples.append((time.time() - began, value))
    finally:
        code = fleet.stop()[0]
    engine = sa.create_engine(state)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(sa.text("t.dataset, r.started_at, t.tick, t.done_at")).select_from(
                sa.text("ticks t JOIN runs r ON r.run_uid = t.run_uid")
            )
        ).all()
        errors = conn.execute(sa.text("SELECT count(*) FROM results WHERE status = 'error'")).scalar()
    engine.dispose()

    # each dataset's first run is the boot catch-up of a tick before the daemon started: start-up, not lag
    first: dict[str, dt.datetime] = {}
    for r in sorted(rows, key=lambda r: aware(r.tick)):
        first.setdefault(r.dataset, aware(r.tick))
    lags = sorted(
        (aware(r.started_at) - aware(r.tick)).total_seconds() for r in rows if aware(r.tick) != first[r.dataset]
    )
    if not lags:
        raise SystemExit("no scheduled runs recorded")
    ticks_expected = args.datasets * max(int(args.duration // args.every) - 1, 1)
    p = lambda q: quantile(lags, q)  # noqa: E731
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


# --- N replicas: throughput, lag and exactly-once ---------------------------------------------------------


HEARTBEAT = 5  # seconds: each daemon reads the live set at its heartbeat
RACES = ("leased", "done", "taken")  # /metrics skip reasons that are a lost lease race


@dataclasses.dataclass
class FleetResult:
    n: int
    window: float  # seconds measured
    runs: int  # runs started in the window
    lag_p50: float
    lag_p99: float
    doubled: int  # (dataset, tick) written more than once, from the store
    unclaimed: int  # runs written without their tick's claim
    per_daemon: list[int]  # runs each daemon wrote, whole run
    dropped: float  # measured, then not written: another daemon had the tick (daemons' /metrics)
    races: float  # lease attempts that found the dataset leased or its tick done, per run in the window
    adopted: float  # peers' ticks taken over, per run in the window
    skips: dict[str, float]  # sentinel_runs_skipped_total by reason over the window, all daemons
    cpu_ms_per_run: float  # the daemons' CPU in the window per run
    pg_ms_per_run: float  # the PostgreSQL backends' CPU serving them (state store and source), per run
    errors: int
    codes: list[int]

    @property
    def rate(self) -> float:
        return self.runs / self.window if self.window else 0.0


def run_fleet(folder: Path, state: str, n: int, args: argparse.Namespace, tag: str) -> FleetResult:
    fresh_state()
    engine = sa.create_engine(state)
    fleet = Fleet(folder, n, tag)
    try:
        up = None
        deadline = time.time() + 120
        while up is None:  # every daemon has written its first heartbeat: all are scheduling
            time.sleep(0.2)
            fleet.check_alive()
            try:
                with engine.connect() as conn:
                    if conn.execute(sa.text("SELECT count(*) FROM daemons")).scalar() == n:
                        up = dt.datetime.now(dt.UTC)
            except sa.exc.DBAPIError:
                pass  # not migrated yet
            if time.time() > deadline:
                raise SystemExit(f"{n} daemons did not all start within 120 s")
        # start-up, not steady state: the boot catch-up burst and one interval after it, and the heartbeat after
        # which every daemon has seen all N (until then the first ones run the others' shares as their own)
        w0 = up + dt.timedelta(seconds=args.every + HEARTBEAT)
        time.sleep(max((w0 - dt.datetime.now(dt.UTC)).total_seconds(), 0))
        cpu0, pg0, skipped0 = fleet.cpu(), backends_cpu(engine), fleet.skipped()
        time.sleep(args.duration)
        fleet.check_alive()
        w1 = dt.datetime.now(dt.UTC)
        cpu1, pg1 = fleet.cpu(), backends_cpu(engine)
        skipped = fleet.skipped()
    finally:
        codes = fleet.stop()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT t.dataset, t.tick, r.started_at FROM ticks t JOIN runs r ON r.run_uid = t.run_uid")
        ).all()
        doubled = conn.execute(
            sa.text("SELECT count(*) FROM (SELECT run_uid FROM runs GROUP BY run_uid HAVING count(*) > 1) x")
        ).scalar_one()
        doubled += conn.execute(
            sa.text("SELECT count(*) FROM (SELECT dataset, tick FROM ticks GROUP BY 1, 2 HAVING count(*) > 1) x")
        ).scalar_one()
        unclaimed = conn.execute(
            sa.text("SELECT count(*) FROM runs r WHERE NOT EXISTS (SELECT 1 FROM ticks t WHERE t.run_uid = r.run_uid)")
        ).scalar_one()
        per_daemon = [c for (c,) in conn.execute(sa.text("SELECT count(*) FROM ticks GROUP BY host ORDER BY 1 DESC"))]
        errors = conn.execute(sa.text("SELECT count(*) FROM results WHERE status = 'error'")).scalar_one()
    engine.dispose()
    window = (w1 - w0).total_seconds()
    inside = [r for r in rows if w0 <= aware(r.started_at) < w1]
    lags = sorted((aware(r.started_at) - aware(r.tick)).total_seconds() for r in inside)
    return FleetResult(
        n=n,
        window=window,
        runs=len(inside),
        lag_p50=quantile(lags, 0.5),
        lag_p99=quantile(lags, 0.99),
        doubled=doubled,
        unclaimed=unclaimed,
        per_daemon=per_daemon,
        dropped=skipped.get("taken", 0.0),
        # over the window only: the boot catch-up, where every daemon tries every dataset once, is not steady state
        races=sum(skipped.get(k, 0.0) - skipped0.get(k, 0.0) for k in RACES) / max(len(inside), 1),
        skips={k: v - skipped0.get(k, 0.0) for k, v in skipped.items() if v - skipped0.get(k, 0.0)},
        adopted=(skipped.get("adopted", 0.0) - skipped0.get("adopted", 0.0)) / max(len(inside), 1),
        cpu_ms_per_run=1000 * (cpu1 - cpu0) / max(len(inside), 1),
        pg_ms_per_run=1000 * sum(c - pg0.get(pid, 0.0) for pid, c in pg1.items()) / max(len(inside), 1),
        errors=errors,
        codes=codes,
    )


def replicas(args: argparse.Namespace, folder: Path, state: str, counts: list[int]) -> int:
    """Every N in `counts`, `args.rounds` times interleaved; prints per-N medians. Exit 1 if a tick ran twice."""
    cores = os.cpu_count() or 1
    offered = args.datasets / args.every
    print(
        f"replicas {','.join(map(str, counts))}: datasets {args.datasets}, every {args.every}s "
        f"(offered {offered:.1f} runs/s), workers {args.workers} per daemon, {args.duration}s measured per fleet, "
        f"{f'every query waits {args.source_latency:g} s on the server, ' if args.source_latency else ''}"
        f"{args.rounds} round(s); this machine has {cores} cores (the target is near-linear up to {cores}; "
        "PostgreSQL, the sources and the daemons share them)"
    )
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    results: dict[int, list[FleetResult]] = {n: [] for n in counts}
    for r in range(args.rounds):
        for n in counts:
            res = run_fleet(folder, state, n, args, f"r{r}n{n}")
            results[n].append(res)
            print(
                f"  round {r + 1} N={n}: {res.rate:.1f} runs/s ({res.runs} in {res.window:.0f} s), "
                f"lag p99 {res.lag_p99:.2f} s, doubled {res.doubled}, dropped {res.dropped:.0f}, "
                f"per daemon {res.per_daemon}, {res.races:.2f} lost lease races/run, {res.adopted:.2f} adopted/run "
                f"(skips in the window: {', '.join(f'{k} {v:.0f}' for k, v in sorted(res.skips.items())) or 'none'}), "
                f"CPU-ms/run: daemons {res.cpu_ms_per_run:.0f} + PostgreSQL {res.pg_ms_per_run:.0f}, "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    base = statistics.median(r.rate for r in results[counts[0]]) / counts[0]
    heads = ["N", "runs/s", "served", f"vs N={counts[0]}", "of linear", "lag p50", "lag p99", "doubled", "dropped"]
    heads += ["races/run", "adopted/run", "CPU-ms/run", "PG-ms/run", "errors", "exit"]
    print(" ".join(f"{h:>10}" for h in heads))
    bad = 0
    for n in counts:
        rs = results[n]

        def med(f, rs=rs) -> float:
            return statistics.median(f(r) for r in rs)

        rate = med(lambda r: r.rate)
        doubled = sum(r.doubled + r.unclaimed for r in rs)
        bad += doubled
        cells = [
            f"{n}",
            f"{rate:.1f}",
            f"{rate / offered:.0%}",
            f"{rate / (base * counts[0]):.2f}x",
            f"{rate / (base * n):.0%}",
            f"{med(lambda r: r.lag_p50):.2f}s",
            f"{med(lambda r: r.lag_p99):.2f}s",
            f"{doubled}",
            f"{sum(r.dropped for r in rs):.0f}",
            f"{med(lambda r: r.races):.2f}",
            f"{med(lambda r: r.adopted):.2f}",
            f"{med(lambda r: r.cpu_ms_per_run):.0f}",
            f"{med(lambda r: r.pg_ms_per_run):.0f}",
            f"{sum(r.errors for r in rs)}",
            f"{sorted({c for r in rs for c in r.codes})}",
        ]
        print(" ".join(f"{c:>10}" for c in cells))
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(
        "served: runs/s / offered runs/s (datasets / every); of linear: runs/s / (N x runs/s at the first N); "
        "doubled: ticks written twice or runs without their claim (store); dropped: runs measured, then refused "
        "because another daemon had written the tick (/metrics); races/run: lease attempts that found the dataset "
        "leased or its tick done, per run in the window (/metrics); adopted/run: peers' ticks taken over, per run in "
        "the window (/metrics); CPU-ms/run, PG-ms/run: the daemons' and their "
        "PostgreSQL backends' CPU in the window per run in it (cores a run needs: their sum / 1000). Targets: of "
        "linear >= 80% up to the cores, doubled 0, lag p99 < 2 s where served is ~100%."
    )
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=int, default=500)
    ap.add_argument("--every", type=int, default=60, help="schedule interval in seconds")
    ap.add_argument("--duration", type=int, default=3600, help="seconds to run (with --replicas: per fleet)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--sqlite", action="store_true", help="SQLite state store instead of PostgreSQL")
    ap.add_argument(
        "--replicas", metavar="N[,N...]", help="run N daemon processes on one PostgreSQL store, for each N listed"
    )
    ap.add_argument("--rounds", type=int, default=1, help="with --replicas: repeat the list, interleaved")
    ap.add_argument(
        "--source-latency",
        type=float,
        default=0.0,
        metavar="S",
        help="every dataset on a PostgreSQL view that waits S seconds on the server per query (a remote warehouse)",
    )
    ap.add_argument("--smoke", action="store_true", help="20 datasets every 2s: one daemon 12 s, then two 8 s")
    args = ap.parse_args()
    counts = [int(n) for n in args.replicas.split(",")] if args.replicas else []
    if counts and args.sqlite:
        ap.error("--replicas needs the PostgreSQL state store (a SQLite store serves one daemon)")
    if any(n < 1 for n in counts):
        ap.error("--replicas: each N must be 1 or more")
    if not 0 <= args.source_latency < 60:
        ap.error("--source-latency: seconds, from 0 to under 60")
    code = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.smoke:
            args.datasets, args.every, args.duration = 20, 2, 12
        state = setup(folder, args.datasets, args.every, args.sqlite, args.workers, args.source_latency)
        try:
            if args.smoke or not counts:
                single(args, folder, state)
            if args.smoke:
                args.duration, counts = 6, [2]
            if counts:
                code = replicas(args, folder, state, counts)
        finally:
            if not args.sqlite:
                fresh_state(create=False)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
