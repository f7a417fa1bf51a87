"""`sentinel daemon` against hostile files and clients, as a real process: spool files that are not runs,
hundreds of idle HTTP connections, and a state store that refuses a run's write (a trigger) rather than
being down."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_daemon import DATASETS, Daemon, count, free_port, make_warehouse, store_engine, wait_for, write_project

ONE_DATASET = """
- name: deals
  source: wh
  table: deals
  key: id
  schedule: every 1s
  checks:
    - not_empty: {}
"""


class Crafted:
    """Unpickling this creates the file named `path`: what a crafted spool file could do with any code."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_spool_files_that_are_not_runs_are_set_aside_and_never_unpickled(tmp_path):
    make_warehouse(tmp_path)
    write_project(tmp_path, DATASETS)
    spool = tmp_path / ".sentinel" / "spool"
    spool.mkdir(parents=True)
    pwned = tmp_path / "pwned"
    (spool / "a1.pickle").write_bytes(pickle.dumps(Crafted(pwned)))
    (spool / "b2.json").write_text("{not json")
    (spool / "c3.json").write_text(json.dumps({"version": 1, "run_uid": "x"}))  # JSON, but not a run
    d = Daemon(tmp_path)
    engine = store_engine(tmp_path)
    try:
        wait_for(lambda: count(engine, "SELECT count(*) FROM runs WHERE dataset='deals'") >= 2)
        assert not pwned.exists()
        assert sorted(p.name for p in (spool / "bad").iterdir()) == ["a1.pickle", "b2.json", "c3.json"]
        assert not [p for p in spool.iterdir() if p.is_file()]
        aside = [e for e in d.events() if e.get("event") == "spool_set_aside"]
        assert sorted(Path(e["file"]).name for e in aside) == ["a1.pickle", "b2.json", "c3.json"]
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.kill()


def test_a_spooled_run_reads_back_as_it_was_written(tmp_path):
    from sentinel import spool
    from sentinel.results import CheckResult, SnapshotUpdate
    from sentinel.runner import RunReport

    now = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    result = CheckResult(
        "deals",
        "magnitude(amount)",
        "magnitude",
        "fail",
        "error",
        observed={"flagged": 2},
        evidence={"rows": {"count": 2, "items": [{"key": "a:b", "value": 1e9}]}},
        diagnosis={"cause": "magnitude"},
        cause="magnitude",
        metrics={"sum": 12.5, "odd": float("nan")},
        snapshot=SnapshotUpdate(8, {1: "d1", 3: None}, [("a:b", 1, 1e9)], reset=True),
    )
    report = RunReport("uid-1", "deals", now, now + dt.timedelta(seconds=2), [result], recipients=["console://"])
    path = spool.write(tmp_path, report, now)
    assert path.stat().st_mode & 0o777 == 0o600
    back, tick = spool.load(path)
    assert tick == now and (back.run_uid, back.started_at, back.finished_at) == ("uid-1", now, report.finished_at)
    got = back.results[0]
    assert got.to_json() == result.to_json() and got.cause == "magnitude" and got.snapshot == result.snapshot
    assert got.metrics["sum"] == 12.5 and got.metrics["odd"] != got.metrics["odd"]  # NaN survives


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


IDLE = 5.0  # seconds before the endpoint closes a silent connection (sentinel/endpoint.py)


def test_http_endpoint_keeps_few_threads_and_closes_idle_connections(tmp_path):
    make_warehouse(tmp_path)
    write_project(tmp_path, ONE_DATASET)
    port = free_port()
    d = Daemon(tmp_path, "--http", f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}/healthz"
    idle: list[socket.socket] = []
    try:

        def healthy():
            try:
                return json.loads(urllib.request.urlopen(url, timeout=5).read())["status"] == "ok"
            except (OSError, urllib.error.URLError):
                return False

        wait_for(healthy)
        before = threads(d.proc.pid)
        for _ in range(200):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        time.sleep(0.5)
        assert threads(d.proc.pid) <= before + 5  # the pool, not one thread per connection
        assert healthy()  # a probe still gets in while they are open
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        assert threads(d.proc.pid) <= before + 5
        time.sleep(IDLE + 2)
        for s in idle:  # closed by the daemon: the client reads end-of-file
            s.settimeout(5)
            assert s.recv(1) == b""
        assert healthy()
        # clients that trickle a byte a second, more of them than the pool has threads: cut off in the end
        slow = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(6)]
        idle.extend(slow)
        began = time.monotonic()
        cut: set[int] = set()
        while len(cut) < len(slow) and time.monotonic() - began < 4 * IDLE:
            for i, s in enumerate(slow):
                if i not in cut:
                    try:
                        s.sendall(b"G")
                    except OSError:
                        cut.add(i)
            time.sleep(1)
        assert len(cut) == len(slow), "a trickling client kept its connection"
        assert healthy()
        assert d.stop() == 0
    finally:
        for s in idle:
            s.close()
        if d.proc.poll() is None:
            d.kill()


REFUSE = """
CREATE FUNCTION "{schema}".refuse_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'test trigger refuses runs'; END $$;
CREATE TRIGGER refuse BEFORE INSERT ON "{schema}".runs FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse_runs();
"""


@pytest.fixture
def refusing_store(pg_schema, tmp_path):
    """A PostgreSQL state store whose `runs` table refuses every insert (the store answers, then refuses)."""
    url, schema, engine = pg_schema
    from sentinel.store import Store

    Store(url).close()  # the tables, as the daemon would create them
    with engine.begin() as conn:
        conn.exec_driver_sql(REFUSE.format(schema=schema))
    make_warehouse(tmp_path)
    write_project(tmp_path, ONE_DATASET, state=url, daemon=", store_retry_for: 60s")

    def allow() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TRIGGER refuse ON "{schema}".runs')

    return url, schema, engine, allow


def test_sentinel_run_reports_a_refused_write_in_one_line_and_exits_3(tmp_path, refusing_store):
    url, schema, engine, _ = refusing_store
    cmd = [sys.executable, "-m", "sentinel", "run", "--config", str(tmp_path / "config.yaml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stderr
    line = [x for x in proc.stderr.splitlines() if "refused" in x]
    assert line == ["deals: not recorded: the state store refused this run (RaiseException: test trigger refuses runs)"]
    proc = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=120)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 3 and [(r["status"], r["diagnosis"]["cause"]) for r in doc["results"]] == [
        ("error", "store_refused")
    ]
    assert count(engine, f'SELECT count(*) FROM "{schema}".runs') == 0


def test_daemon_reports_a_refused_write_without_spooling_and_turns_unhealthy(tmp_path, refusing_store):
    url, schema, engine, allow = refusing_store
    port = free_port()
    d = Daemon(tmp_path, "--http", f"127.0.0.1:{port}")
    health_url = f"http://127.0.0.1:{port}/healthz"

    def health() -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(health_url, timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())
        except OSError:
            return 0, {}

    try:
        wait_for(lambda: sum(e.get("event") == "store_refused" for e in d.events()) >= 2, timeout=40)
        code, body = wait_for(lambda: (lambda h: h if h[0] == 503 else None)(health()))
        assert "test trigger refuses runs" in body["store_refusing"]
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert 'sentinel_store_refused_runs_total{dataset="deals"}' in metrics
        assert not any(e.get("event") in ("spooled", "run_crashed") for e in d.events())
        assert not list((tmp_path / ".sentinel" / "spool").glob("*"))
        allow()  # the store takes runs again: healthy again, and runs are written
        wait_for(lambda: health()[0] == 200, timeout=40)
        assert count(engine, f'SELECT count(*) FROM "{schema}".runs') >= 1
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.kill()


def test_text_log_lines_show_control_characters_from_data_and_keep_tracebacks():
    """A category label with an escape sequence and a newline, logged by the daemon in text format, cannot
    retitle the terminal or forge a second log line; a traceback still prints on its own lines."""
    import io
    import logging

    from sentinel.daemon import TextFormatter

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(TextFormatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("sentinel.test.textlog")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("run of %s failed", "deals\x1b]0;pwned\x07\nINFO forged: all good")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("crash")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines[0] == "WARNING sentinel.test.textlog: run of deals\\x1b]0;pwned\\x07\\nINFO forged: all good failed"
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
    assert lines[1] == "ERROR sentinel.test.textlog: crash" and lines[2].startswith("Traceback")
    assert lines[-1] == "ValueError: boom"


def test_a_stop_signal_just_before_the_scheduler_runs_still_stops_the_daemon(tmp_path):
    """SIGTERM between start-up's "stopping?" check and the scheduler running found the scheduler not running,
    so nothing shut it down and start() blocked until a second signal (seen in CI: a daemon stopped at start-up
    hung for 30 s). The signal now takes effect as soon as the scheduler runs, before any job."""
    from sentinel.daemon import Daemon as InProcess

    write_project(tmp_path, DATASETS)
    make_warehouse(tmp_path)
    daemon = InProcess(tmp_path / "config.yaml")
    real_start = daemon.scheduler.start

    def signal_then_start(*args, **kwargs):  # the signal lands in the window
        daemon._on_stop(signal.SIGTERM, None)
        return real_start(*args, **kwargs)

    daemon.scheduler.start = signal_then_start
    rescued = threading.Event()

    def watchdog() -> None:  # without the fix start() never returns: end it so the test fails instead of hanging
        rescued.set()
        daemon.scheduler.shutdown(wait=False)

    guard = threading.Timer(20, watchdog)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    guard.start()
    try:
        assert daemon.start() == 0
    finally:
        guard.cancel()
        for s, h in handlers.items():
            signal.signal(s, h)
    assert not rescued.is_set(), "start() kept running after SIGTERM"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT count(*) FROM runs")).scalar()
        stopped = conn.execute(sa.text("SELECT stopped_at FROM daemons")).scalar()
    engine.dispose()
    assert runs == 0 and stopped is not None  # stopped before the first run, and said so
