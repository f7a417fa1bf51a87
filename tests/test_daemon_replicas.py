"""Three `sentinel daemon` processes on one PostgreSQL state store: they split the datasets, and when one is
killed the others take its datasets over; every due tick runs exactly once. Asserted from the state store."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time

import duckdb
import pytest
import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_SUBMITTED
from test_daemon import Daemon, count, wait_for, write_project

from sentinel.replicas import Owners
from sentinel.scheduler import nominal_tick
from sentinel.timespec import Schedule

EVERY = dt.timedelta(seconds=3)
NAMES = [f"t{i}" for i in range(6)]


def datasets() -> str:
    return "".join(
        f"""
- name: {name}
  source: wh
  table: {name}
  schedule: every 3s
  checks:
    - not_empty: {{}}
"""
        for name in NAMES
    )


def due(start: dt.datetime, end: dt.datetime) -> set[tuple[str, dt.datetime]]:
    """Every dataset's ticks in (start, end]."""
    out = set()
    for name in NAMES:
        tick = nominal_tick(Schedule(every=EVERY), start, name=name) + EVERY
        while tick <= end:
            out.add((name, tick))
            tick += EVERY
    return out


@pytest.mark.postgres
def test_three_replicas_run_every_tick_once_and_take_over_a_killed_ones_datasets(tmp_path, pg_schema):
    url, _schema, _engine = pg_schema
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    for name in NAMES:
        con.execute(f"CREATE TABLE {name} AS SELECT range AS id FROM range(10)")
    con.close()
    write_project(tmp_path, datasets(), state=url)  # heartbeat 1s: a killed daemon is gone from the others' view in 3s
    engine = sa.create_engine(url)
    fleet = [Daemon(tmp_path) for _ in range(3)]
    victim = fleet[2]

    def all_beating():
        return count(engine, "SELECT count(*) FROM daemons") == 3

    try:
        wait_for(all_beating, timeout=60)
        began = dt.datetime.now(dt.UTC) + EVERY  # boot catch-ups and the first view of the peers are over
        time.sleep(EVERY.total_seconds() + 4)
        victim.kill()
        killed = dt.datetime.now(dt.UTC)
        time.sleep(8)
        ended = dt.datetime.now(dt.UTC) - EVERY  # every tick up to here had a whole interval to run
        assert [d.stop() for d in fleet[:2]] == [0, 0]
    finally:
        for d in fleet:
            if d.proc.poll() is None:
                d.kill()

    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT dataset, tick, run_uid, host FROM ticks")).all()
        runs_per_uid = dict(conn.execute(sa.text("SELECT run_uid, count(*) FROM runs GROUP BY run_uid")).all())
    engine.dispose()
    ran = {}
    for r in rows:
        ran.setdefault((r.dataset, r.tick.astimezone(dt.UTC)), []).append(r)
    wanted = due(began, ended)
    assert len(wanted) >= 6 * 3
    missing = sorted(wanted - set(ran))
    assert not missing, f"due ticks never run: {missing}"
    assert all(len(ran[key]) == 1 for key in wanted)  # one claim each (the primary key says so too)
    assert all(runs_per_uid.get(ran[key][0].run_uid) == 1 for key in wanted)  # and one run written for it
    assert set(runs_per_uid) == {r.run_uid for r in rows}  # no run without its tick's claim, no claim without a run

    ids = {d.proc.pid: {r.host for r in rows if r.host.rsplit(":", 2)[1] == str(d.proc.pid)} for d in fleet}
    assert all(len(v) == 1 for v in ids.values()), ids  # all three did work (a daemon id is host:pid:start)
    victim_id = next(iter(ids[victim.proc.pid]))
    # the victim's share (datasets dealt round-robin over the sorted live ids) was run by the others after the kill
    order = sorted(next(iter(v)) for v in ids.values())
    victims = {name for i, name in enumerate(sorted(NAMES)) if i % 3 == order.index(victim_id)}
    after = {k for k in wanted if k[1] > killed and k[0] in victims}
    assert after and all(ran[k][0].host != victim_id for k in after)


def test_every_dataset_has_one_owner_and_shares_differ_by_one_at_most():
    names = [f"d{i}" for i in range(10)]
    for n in (1, 2, 3, 4):
        ids = [f"host:{100 + i}:20261201T000000" for i in range(n)]
        fleet = [Owners(me) for me in ids]
        for owners in fleet:
            owners.update(live=reversed(ids), names=names)  # the order the store returns them in does not matter
        assert all(sum(o.mine(name) for o in fleet) == 1 for name in names)
        shares = [sum(o.mine(name) for name in names) for o in fleet]
        assert max(shares) - min(shares) <= 1
    alone = Owners("host:1:x")
    alone.update(live=[], names=names)  # its heartbeat not read yet: it owns everything
    assert all(alone.mine(name) for name in names)


class GateHandler(logging.Handler):
    """A log handler whose lock is a plain Lock, so a watchdog thread can open it if the test deadlocks."""

    def createLock(self) -> None:  # noqa: N802 - logging's name
        self.lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        pass


def test_a_stop_signal_landing_in_a_log_call_does_not_deadlock_the_daemon(tmp_path):
    """Seen in bench/daemon.py under load: SIGTERM interrupted the main thread inside a log handler's emit (the
    scheduler logs each skipped tick), and the handler waited there for the workers, which waited for that
    handler's lock: the daemon never exited. Here the signal lands while the main thread holds the lock and a
    worker is logging."""
    from sentinel.daemon import Daemon as InProcess

    write_project(tmp_path, datasets(), daemon=", workers: 2")
    daemon = InProcess(tmp_path / "config.yaml")
    gate = GateHandler()
    worker_logging = threading.Event()

    def log_from_a_worker() -> None:
        worker_logging.wait(10)
        logging.getLogger("sentinel.test.gate").warning("a worker logs while the main thread holds the lock")

    def signal_inside_a_log_call(event) -> None:  # the main thread, in the scheduler's loop
        if event.job_id != "probe" or not gate.lock.acquire(blocking=False):
            return
        try:
            worker_logging.set()
            time.sleep(0.3)  # the worker is now waiting for the handler's lock
            daemon._on_stop(signal.SIGTERM, None)
        finally:
            gate.lock.release()

    daemon.scheduler.add_job(log_from_a_worker, "date", id="probe")
    daemon.scheduler.add_listener(signal_inside_a_log_call, EVENT_JOB_SUBMITTED)
    rescued = threading.Event()

    def watchdog() -> None:  # without the fix the main thread never returns: open the gate so the test fails
        rescued.set()
        gate.lock.release()

    guard = threading.Timer(20, watchdog)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    logging.getLogger().addHandler(gate)
    guard.start()
    try:
        assert daemon.start() == 0
    finally:
        guard.cancel()
        logging.getLogger().removeHandler(gate)
        for s, h in handlers.items():
            signal.signal(s, h)
    assert not rescued.is_set(), "the daemon deadlocked on SIGTERM"
