"""How a `sentinel run` process ends, as a real process: the speculative scan (prefetch.py) never changes it.
A usage error exits 2 and Ctrl-C at any moment exits 130 within a second with one line, and writes nothing,
whatever DuckDB (the speculative scan or the runner's own statement) is doing at the time."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from backends import make
from conftest import Project

ROWS = 10_000_000  # a run takes seconds; the delays below are fractions of a measured run, so they land inside it


BIG_CHECKS = """
- not_empty: {}
- magnitude: {column: amount, group_by: [grp]}
- expect: {type: expect_column_values_to_be_unique, kwargs: {column: id}}
"""


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """A project whose run scans a few million DuckDB rows, run once so that a scan plan is recorded."""
    root = tmp_path_factory.mktemp("big")
    project = Project(root)
    project.duckdb(BIG_CHECKS, table="big")
    # a.yaml sorts before big.yaml: the small dataset is run first
    project.write("checks/a.yaml", "datasets: [{name: small, source: wh, table: small, checks: [{not_empty: {}}]}]\n")
    con = duckdb.connect(str(root / "wh.duckdb"))
    con.execute(
        "CREATE TABLE big AS SELECT range AS id, (range % 97)::VARCHAR AS grp, "
        f"100 + (hash(range) % 1000)::DOUBLE AS amount FROM range({ROWS})"
    )
    con.execute("CREATE TABLE small AS SELECT range AS id FROM range(10)")
    con.close()
    proc = sentinel(root, "run")
    assert proc.returncode == 0, proc.stderr
    assert (root / ".sentinel" / "scan-plans.json").exists()
    return root


@pytest.fixture(scope="module")
def run_seconds(big) -> float:
    """How long a whole run of `big` takes on this machine now, with its plan speculated: the fastest of three,
    so that a share of it lands inside a run even when the machine was busier while it was measured (one
    measurement under load once put share 0.7 after the end of a faster run)."""
    return min(timed_run(big) for _ in range(3))


def sentinel(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sentinel", *args, "--config", str(root / "config.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def runs(root: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(root / "state.db") as con:
        return con.execute("SELECT dataset, run_uid FROM runs ORDER BY id").fetchall()


@pytest.mark.parametrize("args, tries", [(["run", "--bogus"], 20), (["run", "--json", "true"], 10)])
def test_usage_errors_exit_2_while_the_scan_is_speculated(big, args, tries):
    """The speculative scan of the recorded plan is inside DuckDB when the usage error ends the process."""
    for _ in range(tries):
        proc = subprocess.run(
            [sys.executable, "-m", "sentinel", *args[:1], "--config", str(big / "config.yaml"), *args[1:]],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert "terminate called" not in proc.stderr and "Traceback" not in proc.stderr


def timed_run(root: Path) -> float:
    began = time.monotonic()
    proc = sentinel(root, "run")
    assert proc.returncode == 0, proc.stderr
    return time.monotonic() - began


def interrupt_after(root: Path, delay: float, env: dict | None = None) -> tuple[int, str, float] | None:
    """Ctrl-C `delay` seconds into a run: its exit code, stderr and seconds from the signal to the exit; None
    if the run had ended before the signal."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentinel", "run", "--config", str(root / "config.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    time.sleep(delay)
    if proc.poll() is not None:
        proc.communicate()
        return None
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"still running 10 s after Ctrl-C at {delay}s") from None
    return proc.returncode, err, time.monotonic() - sent


@pytest.mark.parametrize(
    "share, prefetch",
    [(0.05, True), (0.1, True), (0.2, True), (0.35, True), (0.5, True), (0.7, True), (0.3, False), (0.7, False)],
)
def test_ctrl_c_at_any_moment_exits_130_at_once_and_writes_nothing(big, run_seconds, share, prefetch):
    """With the plan speculated (the scan thread is in DuckDB from the start) and without (the runner's own
    statement is): the same ending. Ctrl-C comes at a share of a whole run's time, from start-up (imports
    beside the speculative scan) to the last statements."""
    env = {"SENTINEL_NO_PREFETCH": "1"} if not prefetch else {}
    seconds = run_seconds
    for _ in range(3):
        delay = max(0.1, share * seconds)  # Python itself needs a few ms before any handler can exist
        before = runs(big)
        got = interrupt_after(big, delay, env)
        if got is not None and got[0] != 0:
            break
        # the run ended before the signal, or exited 0 with the signal: if runs are quicker now than when
        # run_seconds was measured (under other load), the signal came at its end, not inside it: try again
        # at that share of a run timed now; else it landed inside a run that ignored it
        seconds = timed_run(big)
        assert got is None or delay > 0.8 * seconds, f"Ctrl-C at {delay:.2f}s of a {seconds:.2f}s run: exit 0"
    else:
        raise AssertionError(f"no Ctrl-C landed inside a run in 3 tries (share {share}, last run {seconds:.2f}s)")
    code, err, elapsed = got
    assert code == 130, err
    assert err.strip().splitlines()[-1].startswith("interrupted"), err
    assert "Traceback" not in err and "terminate called" not in err
    assert elapsed < 2.0, f"{elapsed:.2f}s after Ctrl-C"
    after = runs(big)
    new = [r for r in after if r not in before]
    if not new:
        assert err.strip() == "interrupted, nothing written"
    else:  # Ctrl-C after the first, small dataset: its run is whole, the big one's is not there at all
        assert [d for d, _ in new] == ["small"]
        assert err.strip() == "interrupted: the datasets finished before it are written, nothing else"


@pytest.fixture
def big_pg(project, pg_schema) -> Path:
    """A project on a PostgreSQL table of a few million rows, run once so that a scan plan is recorded."""
    _, schema, engine = pg_schema
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE TABLE "{schema}".big AS SELECT g AS id, mod(g, 97)::text AS grp, '
            f"100 + mod(hashint4(g), 1000)::float8 AS amount FROM generate_series(1, 3000000) g"
        )
    project.dataset(make("postgresql", project.root, pg_schema), BIG_CHECKS, table="big")
    proc = sentinel(project.root, "run")
    assert proc.returncode == 0, proc.stderr
    return project.root


@pytest.mark.parametrize("delay, prefetch", [(0.3, True), (1.0, True), (1.0, False)])
def test_ctrl_c_cancels_postgres_statements(big_pg, delay, prefetch):
    before = runs(big_pg)
    got = interrupt_after(big_pg, delay, {} if prefetch else {"SENTINEL_NO_PREFETCH": "1"})
    assert got is not None, "the run ended before the signal: the table is too small for this machine"
    code, err, elapsed = got
    assert code == 130 and err.strip() == "interrupted, nothing written", err
    assert elapsed < 2.0, f"{elapsed:.2f}s after Ctrl-C"
    assert runs(big_pg) == before
