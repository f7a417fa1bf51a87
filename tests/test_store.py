"""State store: Alembic migrations applied automatically, incident lifecycle, two concurrent writers."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from sentinel import incidents as inc
from sentinel.results import CheckResult
from sentinel.store import HEAD, Store, incidents, runs


def test_head_constant_matches_alembic(tmp_path):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "sentinel:migrations")
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD
    store = Store(f"sqlite:///{tmp_path}/s.db")
    assert store.version() == HEAD
    Store(f"sqlite:///{tmp_path}/s.db")  # reopening is a no-op


def _result(status: str, cause: str = "empty") -> CheckResult:
    return CheckResult(
        "deals",
        "not_empty",
        "not_empty",
        status,
        "error",
        observed=0,
        cause=cause,
        diagnosis={"cause": cause, "message": "deals has 0 rows"} if status == "fail" else None,
    )


def _apply(store: Store, result: CheckResult, now: dt.datetime) -> list[inc.Change]:
    def work(conn):
        run_id = conn.execute(
            runs.insert()
            .values(run_uid=str(now), dataset="deals", started_at=now, finished_at=now, status=result.status)
            .returning(runs.c.id)
        ).scalar()
        return inc.apply(conn, run_id, [result], now)

    return store.transaction(work)


def lifecycle(store: Store) -> None:
    t0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    (c,) = _apply(store, _result("fail"), t0)
    assert c.change == "opened"
    for k in range(1, 4):  # repeats update the one incident
        (u,) = _apply(store, _result("fail"), t0 + dt.timedelta(minutes=30 * k))
        assert (u.change, u.id) == ("updated", c.id)
    assert _apply(store, _result("error", "unreachable"), t0 + dt.timedelta(hours=2)) == []  # unknown: no change
    (r,) = _apply(store, _result("pass"), t0 + dt.timedelta(hours=3))
    assert (r.change, r.id) == ("resolved", c.id)
    assert _apply(store, _result("pass"), t0 + dt.timedelta(hours=4)) == []
    (again,) = _apply(store, _result("fail"), t0 + dt.timedelta(hours=5))  # relapse within a day: reopened
    assert (again.change, again.id) == ("reopened", c.id)
    _apply(store, _result("pass"), t0 + dt.timedelta(hours=6))
    (new,) = _apply(store, _result("fail"), t0 + dt.timedelta(days=3))  # much later: a new incident
    assert new.change == "opened" and new.id != c.id
    detail = store.get_incident(new.id)
    assert detail["previous_id"] == c.id
    first = store.get_incident(c.id)
    assert first["occurrences"] == 5
    assert [e["event"] for e in first["events"]] == [
        "opened",
        "updated",
        "updated",
        "updated",
        "resolved",
        "reopened",
        "resolved",
    ]
    assert [i["id"] for i in store.list_incidents("open")] == [new.id]


def test_incident_lifecycle_sqlite(tmp_path):
    lifecycle(Store(f"sqlite:///{tmp_path}/s.db"))


def test_incident_lifecycle_postgres(pg_schema):
    url, *_ = pg_schema
    store = Store(url)
    assert store.version() == HEAD
    lifecycle(store)
    store.close()


WRITER = textwrap.dedent("""
    import datetime as dt, sys
    from sentinel.store import Store, runs
    from sentinel import incidents as inc
    from sentinel.results import CheckResult
    store = Store(sys.argv[1])
    for i in range(int(sys.argv[2])):
        now = dt.datetime.now(dt.UTC)
        r = CheckResult("deals", "not_empty", "not_empty", "fail", "error", observed=0, cause="empty")
        def work(conn):
            rid = conn.execute(runs.insert().values(run_uid=f"{sys.argv[3]}-{i}", dataset="deals", started_at=now,
                                                    finished_at=now, status="fail").returning(runs.c.id)).scalar()
            inc.apply(conn, rid, [r], now)
        store.transaction(work)
""")


def concurrent_writers(url: str) -> None:
    n = 40
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(n), tag]) for tag in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    store = Store(url)
    assert store.count(runs) == 2 * n  # no write lost
    (only,) = store.list_incidents("open")  # exactly one open incident for the fingerprint
    assert only["occurrences"] == 2 * n
    assert store.count(incidents) == 1
    store.close()


def test_two_processes_writing_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    concurrent_writers(url)


def test_two_processes_writing_postgres(pg_schema):
    concurrent_writers(pg_schema[0])


def test_one_open_incident_per_fingerprint_is_enforced_by_the_database(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    row = dict(
        key="k",
        fingerprint="f",
        open_fingerprint="f",
        dataset="d",
        check_name="c",
        kind="x",
        cause="c",
        severity="error",
        state="open",
        opened_at=dt.datetime.now(dt.UTC),
        updated_at=dt.datetime.now(dt.UTC),
    )
    with store.engine.begin() as conn:
        conn.execute(incidents.insert().values(**row))
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        conn.execute(incidents.insert().values(**row))
