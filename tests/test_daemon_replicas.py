"""Three `sentinel daemon` processes on one PostgreSQL state store: they split the datasets, and when one is
killed the others take its datasets over; every due tick runs exactly once. Asserted from the state store."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_SUBMITTED
from test_daemon import Daemon, count, wait_for, write_project

from sentinel.replicas import Deferred, Owners, late_after
from sentinel.scheduler import nominal_tick
from sentinel.store import Lease, Store, claim_tick
from sentinel.timespec import Schedule

# a killed owner's tick is taken over between late_after(EVERY) (3 s here) and the next tick: with 3-second
# ticks that window was 1 s, which a loaded machine's takeover (2.05-2.41 s measured) could miss
EVERY = dt.timedelta(seconds=6)
NAMES = [f"t{i}" for i in range(6)]


@contextlib.contextmanager
def fleet_of(root: Path, n: int) -> Iterator[list[Daemon]]:
    """`n` daemon processes on the project in `root`; any still running when the block ends is killed."""
    fleet = [Daemon(root) for _ in range(n)]
    try:
        yield fleet
    finally:
        for d in fleet:
            if d.proc.poll() is None:
                d.kill()


def datasets() -> str:
    return "".join(
        f"""
- name: {name}
  source: wh
  table: {name}
  schedule: every {EVERY.seconds}s
  checks:
    - not_empty: {{}}
"""
        for name in NAMES
    )


def due(start: dt.datetime, end: dt.datetime, every: dt.timedelta = EVERY) -> set[tuple[str, dt.datetime]]:
    """Every dataset's ticks in (start, end]."""
    out = set()
    for name in NAMES:
        tick = nominal_tick(Schedule(every=every), start, name=name) + every
        while tick <= end:
            out.add((name, tick))
            tick += every
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
    with fleet_of(tmp_path, 3) as fleet:
        victim = fleet[2]

        def all_beating():
            return count(engine, "SELECT count(*) FROM daemons") == 3

        wait_for(all_beating, timeout=60)
        began = dt.datetime.now(dt.UTC) + EVERY  # boot catch-ups and the first view of the peers are over
        time.sleep(EVERY.total_seconds() + 4)
        victim.kill()
        killed = dt.datetime.now(dt.UTC)
        time.sleep(2 * EVERY.total_seconds() + 8)
        ended = dt.datetime.now(dt.UTC) - EVERY  # every tick up to here had a whole interval to run
        assert [d.stop() for d in fleet[:2]] == [0, 0]

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


def test_a_live_owner_has_half_an_interval_and_its_jitter_before_a_peer_takes_over():
    s = dt.timedelta(seconds=1)
    assert late_after(60 * s) == 30 * s  # half the interval
    assert late_after(3600 * s) == 1800 * s
    assert late_after(5 * s) == 2.5 * s
    assert late_after(3 * s) == 2 * s  # never before GRACE
    assert late_after(20 * s, jitter=15 * s) == 15 * s  # the owner's jitter plus GRACE, below 3/4 of the interval
    assert late_after(1 * s) == 0.75 * s  # a peer must get to it before the next tick is due


def test_every_dataset_has_one_owner_and_shares_differ_by_one_at_most():
    names = [f"d{i}" for i in range(10)]
    for n in (1, 2, 3, 4):
        ids = [f"host:{100 + i}:20261201T000000" for i in range(n)]
        fleet = [Owners(me) for me in ids]
        for owners in fleet:
            owners.update(live=reversed(ids), names=names)  # the order the store returns them in does not matter
        assert all(sum(o.mine(name) for o in fleet) == 1 for name in names)
        assert all(o.owner(name) == next(f.me for f in fleet if f.mine(name)) for o in fleet for name in names)
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


def replica_project(tmp_path, url: str, every: int, daemon: str = "") -> list[str]:
    """Six DuckDB datasets on `every s`; returns their names."""
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    for name in NAMES:
        con.execute(f"CREATE TABLE {name} AS SELECT range AS id FROM range(10)")
    con.close()
    body = "".join(
        f"\n- name: {n}\n  source: wh\n  table: {n}\n  schedule: every {every}s\n  checks:\n    - not_empty: {{}}\n"
        for n in NAMES
    )
    write_project(tmp_path, body, state=url, daemon=daemon)
    return NAMES


def fleet_ids(engine: sa.Engine, fleet: list[Daemon]) -> dict[int, str]:
    """pid -> daemon id (host:pid:start), from the daemons table."""
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM daemons"))]
    return {d.proc.pid: next(i for i in ids if i.rsplit(":", 2)[1] == str(d.proc.pid)) for d in fleet}


def owner_of(ids: list[str], name: str) -> str:
    """The daemon `name` is dealt to: datasets sorted by name, round-robin over the sorted live ids."""
    return sorted(ids)[sorted(NAMES).index(name) % len(ids)]


def claims(engine: sa.Engine) -> tuple[dict[tuple[str, dt.datetime], list], dict[str, int]]:
    with engine.connect() as conn:
        sql = "SELECT t.dataset, t.tick, t.run_uid, t.host, r.started_at FROM ticks t JOIN runs r USING (run_uid)"
        rows = conn.execute(sa.text(sql)).all()
        per_uid = dict(conn.execute(sa.text("SELECT run_uid, count(*) FROM runs GROUP BY run_uid")).all())
    ran: dict[tuple[str, dt.datetime], list] = {}
    for r in rows:
        ran.setdefault((r.dataset, r.tick.astimezone(dt.UTC)), []).append(r)
    return ran, per_uid


@pytest.mark.postgres
def test_an_owner_a_little_late_is_not_overtaken(tmp_path, pg_schema):
    """Each daemon starts its runs up to 5 s after their tick (`jitter: 5s`), later than GRACE: with a 20 s
    interval a live owner has until max(half of it, GRACE + jitter) = 10 s, so no tick is taken over and each
    is written by its owner. (Taking over 2 s after the peer's own job, as before, overtook about one tick in
    five here.)"""
    url, _schema, _ = pg_schema
    every = dt.timedelta(seconds=20)
    replica_project(tmp_path, url, 20, daemon=", jitter: 5s")
    engine = sa.create_engine(url)
    with fleet_of(tmp_path, 2) as fleet:
        wait_for(lambda: count(engine, "SELECT count(*) FROM daemons") == 2, timeout=60)
        time.sleep(8)  # each has seen the other at a heartbeat; boot catch-ups are over
        began = dt.datetime.now(dt.UTC)
        time.sleep(55)
        ended = dt.datetime.now(dt.UTC) - every  # every tick up to here had a whole interval to run
        ids = fleet_ids(engine, fleet)
        assert [d.stop() for d in fleet] == [0, 0]
    ran, per_uid = claims(engine)
    engine.dispose()
    wanted = due(began, ended, every)
    assert len(wanted) >= 6
    assert not sorted(wanted - set(ran)), "due ticks never run"
    twice = {k: ran[k] for k in wanted if len(ran[k]) != 1 or per_uid[ran[k][0].run_uid] != 1}
    assert not twice, f"ticks written more than once: {twice}"
    every_id = sorted(ids.values())
    by_other = sorted(k for k in wanted if ran[k][0].host != owner_of(every_id, k[0]))
    lags = {k: (ran[k][0].host, (ran[k][0].started_at.astimezone(dt.UTC) - k[1]).total_seconds()) for k in by_other}
    assert not by_other, f"ticks overtaken by a non-owner (dataset, tick): (by, lag s) {lags}; owners {every_id}"


@pytest.mark.postgres
def test_a_dropped_out_owners_tick_is_taken_over_before_it_is_really_late(tmp_path, pg_schema):
    """Every 20 s, a live owner's tick would be taken over 10 s late; an owner killed just before its tick
    drops out of the live set within 3 heartbeats (1 s here), and its tick is taken over then, once, by one
    of the others."""
    url, _schema, _ = pg_schema
    every = dt.timedelta(seconds=20)
    replica_project(tmp_path, url, 20)
    engine = sa.create_engine(url)
    with fleet_of(tmp_path, 3) as fleet:
        wait_for(lambda: count(engine, "SELECT count(*) FROM daemons") == 3, timeout=60)
        time.sleep(3)  # each has seen the others
        ids = fleet_ids(engine, fleet)
        victim = fleet[2]
        mine = [n for n in NAMES if owner_of(sorted(ids.values()), n) == ids[victim.proc.pid]]
        assert mine
        now = dt.datetime.now(dt.UTC)
        # the victim's next tick at least 3 s away (its boot catch-ups are over)
        tick, name = min(
            (nominal_tick(Schedule(every=every), now + dt.timedelta(seconds=3), name=n) + every, n) for n in mine
        )
        time.sleep(max(0.0, (tick - dt.datetime.now(dt.UTC)).total_seconds() - 1))
        victim.kill()
        time.sleep(max(0.0, (tick - dt.datetime.now(dt.UTC)).total_seconds() + 12))
        assert [d.stop() for d in fleet[:2]] == [0, 0]
    ran, per_uid = claims(engine)
    engine.dispose()
    assert (name, tick) in ran, f"{name} at {tick} was never run"
    (row,) = ran[(name, tick)]
    assert per_uid[row.run_uid] == 1
    assert row.host != ids[victim.proc.pid]
    lag = (row.started_at.astimezone(dt.UTC) - tick).total_seconds()
    assert lag < every.total_seconds() / 2, f"taken over {lag:.1f} s late: by the late rule, not the drop-out"


@pytest.mark.postgres
def test_the_lease_and_the_tick_check_answer_on_one_connection(pg_schema):
    """lease_tick: MINE for a free lease and an open tick; HELD while another session holds it; DONE once the
    tick is claimed (seen right after the lock, on the lease's connection); the lock is let go at the end."""
    url, _schema, _ = pg_schema
    a, b = Store(url), Store(url)
    tick = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
    try:
        with a.lease_tick("deals", tick) as first:
            assert first is Lease.MINE
            with b.lease_tick("deals", tick) as second:
                assert second is Lease.HELD
            a.transaction(lambda conn: claim_tick(conn, "deals", tick, "run-1", by="a"))
        with b.lease_tick("deals", tick) as again:  # a's lock was let go; the claim is seen
            assert again is Lease.DONE
        with b.lease_tick("deals", tick + EVERY) as later, a.lease("deals") as other:
            assert later is Lease.MINE and other is False
        with a.lease("deals") as free:  # b let it go, DONE included
            assert free is True
    finally:
        a.close()
        b.close()


def test_an_earlier_tick_not_checked_yet_is_kept_over_a_later_one():
    """A one-second schedule notes a tick every second and each is due 0.75 s after it: an entry replaced by
    the next tick would move out of reach of a hand-over pass (every 0.5 s) again and again. The earlier one
    stays, is due first, and is checked; after that the next tick is noted again."""
    deferred = Deferred()
    first = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    later = first + dt.timedelta(seconds=1)
    late = late_after(dt.timedelta(seconds=1))
    deferred.note("deals", first, "peer", late)
    deferred.note("deals", later, "peer", late)  # the next tick's job: the first one is still unchecked
    assert deferred.due(lambda _owner: True) == [("deals", first)]  # 1 s late: due, with its owner alive
    assert deferred.due(lambda _owner: True) == []  # taken out
    deferred.note("deals", later, "peer", late)
    assert deferred.due(lambda _owner: True) == []  # not late yet
    deferred.note("deals", first, "peer", late)  # an earlier tick noted late takes the entry: the earliest is kept
    assert deferred.items["deals"].tick == first
