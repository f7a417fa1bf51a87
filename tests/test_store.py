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


# --- values from the data are never too long for the store (issue 10, item 8) ------------------------------


def _hostile(n: int, seed: int) -> str:
    """n characters that do not compress: an index entry holding them would exceed PostgreSQL's ~2.7 KB."""
    import random
    import string

    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def _cli(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sentinel", *args, "--config", str(root / "config.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ten_kilobyte_labels_and_keys_reach_a_postgresql_store(tmp_path, pg_schema):
    """A 10 KB category label (subschema shares, `metrics.metric`) and a 10 KB `history_by` key (magnitude,
    `value_snapshots.key`) are written, and the incident names them exactly."""
    import json

    import numpy as np
    from backends import make

    url, *_ = pg_schema
    wh = make("duckdb", tmp_path)
    long_label, new_label, long_key = _hostile(10_000, 1), _hostile(10_000, 2), _hostile(10_000, 3)
    rng = np.random.default_rng(5)
    n = 1500
    amounts = np.round(10 ** rng.uniform(3, 6, n), 2)
    ids = [long_key if i == 0 else f"k{i}" for i in range(n)]
    labels = [long_label if i % 4 == 0 else "USD" for i in range(n)]

    def load(labels: list[str], amounts) -> None:
        wh.execute("DROP TABLE IF EXISTS deals")
        wh.execute("CREATE TABLE deals (id VARCHAR, currency VARCHAR, amount DOUBLE)")
        rows = [{"id": i, "currency": c, "amount": float(a)} for i, c, a in zip(ids, labels, amounts, strict=True)]
        wh.execute("INSERT INTO deals VALUES (:id, :currency, :amount)", rows)

    load(labels, amounts)
    (tmp_path / "checks").mkdir()
    (tmp_path / "config.yaml").write_text(f'state: "{url}"\nsources:\n  wh: {{type: sql, url: "{wh.url}"}}\n')
    (tmp_path / "checks" / "deals.yaml").write_text(
        "datasets:\n  - name: deals\n    source: wh\n    table: deals\n    key: id\n    checks:\n"
        "      - subschema: {value_column: amount, category_column: currency}\n"
        "      - magnitude: {column: amount, history_by: id}\n"
    )
    first = _cli(tmp_path, "run", "--json")
    assert first.returncode == 0, first.stderr[-2000:]
    store = Store(url)
    assert store.last_shares("deals", "subschema(amount)") == {long_label: 0.25, "USD": 0.75}
    assert long_key in store.snapshot_values("deals", "magnitude(amount)", list(range(4096)))

    labels[1] = labels[2] = labels[3] = new_label  # a new 10 KB category
    amounts[0] *= 1000  # and the 10 KB key's amount typed with three zeros too many
    load(labels, amounts)
    second = _cli(tmp_path, "run", "--json")
    assert second.returncode == 1, second.stderr[-2000:]
    opened = {i["check"]: i["id"] for i in json.loads(second.stdout)["incidents"]}
    shown = json.loads(_cli(tmp_path, "show", str(opened["subschema(amount)"]), "--json").stdout)
    new_values = shown["last_result"]["evidence"]["new_values"]
    assert new_values == {"count": 1, "items": [{"value": new_label, "count": 3}], "omitted": 0}
    shown = json.loads(_cli(tmp_path, "show", str(opened["magnitude(amount)"]), "--json").stdout)
    assert [i["key"] for i in shown["last_result"]["evidence"]["rows"]["items"]] == [long_key]
    store.close()


def _store_at_0003(url: str) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig

    engine = sa.create_engine(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", "sentinel:migrations")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        conn.execute(
            sa.text(
                "INSERT INTO runs (run_uid, dataset, started_at, finished_at, status) VALUES ('r', 'd', :t, :t, 'pass')"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO metrics (run_id, dataset, check_name, metric, value, measured_at) "
                "VALUES (1, 'd', 'm', 'sum', 5.0, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO value_snapshots (dataset, check_name, key, bucket, value, taken_at) "
                "VALUES ('d', 'm', 'k1', 3, 7.0, :t)"
            ),
            {"t": now},
        )
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_0003_store_upgrades_and_keeps_its_history(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path}/s.db" if backend == "sqlite" else request.getfixturevalue("pg_schema")[0]
    _store_at_0003(url)
    store = Store(url)
    assert store.version() == HEAD
    assert store.snapshot_values("d", "m", [3]) == {"k1": 7.0}
    assert store.metric_history("d", "m", ("sum",)) == {"sum": [5.0]}
    long_name = "a_dataset_named_at_length_" + "x" * 300  # run ids embed the dataset name
    now = dt.datetime.now(dt.UTC)
    with store.engine.begin() as conn:
        conn.execute(
            runs.insert().values(
                run_uid="u" * 32 + ":" + long_name,
                dataset=long_name,
                started_at=now,
                finished_at=now,
                status="pass",
                host="h" * 300,
            )
        )
    store.close()


def _check(dataset: str, check: str, status: str, cause: str = "violation") -> CheckResult:
    message = {"cause": cause, "message": f"{check} {cause}"} if status == "fail" else None
    return CheckResult(dataset, check, "expect", status, "error", cause=cause, diagnosis=message)


def _fold(store: Store, found: list[CheckResult], now: dt.datetime) -> list[tuple[str, str, str]]:
    def work(conn):
        run_id = conn.execute(
            runs.insert()
            .values(run_uid=str(now), dataset="deals", started_at=now, finished_at=now, status="fail")
            .returning(runs.c.id)
        ).scalar()
        return inc.apply(conn, run_id, found, now)

    return [(c.key, c.change, c.state) for c in store.transaction(work)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_run_folds_many_checks_each_against_its_own_incidents(backend, tmp_path, request):
    """The open incidents of a run's checks are read in one SELECT (by dataset and check name): each result
    still meets only its own (dataset, check)'s, and a check named twice in one list meets what its first
    result did."""
    url = f"sqlite:///{tmp_path}/s.db" if backend == "sqlite" else request.getfixturevalue("pg_schema")[0]
    store = Store(url)
    t0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    first = [_check("deals", "a", "fail"), _check("deals", "b", "fail", "x"), _check("other", "c", "fail")]
    assert _fold(store, first, t0) == [
        ("deals/a/violation", "opened", "open"),
        ("deals/b/x", "opened", "open"),
        ("other/c/violation", "opened", "open"),
    ]
    second = [
        _check("deals", "a", "pass"),
        _check("deals", "b", "fail", "y"),
        _check("other", "a", "pass"),
        _check("deals", "c", "pass"),  # other/c is not deals/c: it stays open
        _check("deals", "d", "fail"),
        _check("deals", "d", "pass"),  # named twice: resolves what the line above opened
    ]
    assert _fold(store, second, t0 + dt.timedelta(hours=1)) == [
        ("deals/a/violation", "resolved", "resolved"),
        ("deals/b/x", "resolved", "resolved"),
        ("deals/b/y", "opened", "open"),
        ("deals/d/violation", "opened", "open"),
        ("deals/d/violation", "resolved", "resolved"),
    ]
    assert sorted(i["key"] for i in store.list_incidents("open")) == ["deals/b/y", "other/c/violation"]


def test_transaction_retries_a_conflict_whole_and_gives_up_after_its_attempts(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.db")
    with store.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1, 'taken')"))
    calls = []

    def write(conn: sa.Connection, clash_until: int) -> int:
        calls.append(1)
        conn.execute(sa.text("INSERT INTO t (note) VALUES ('before the clash')"))
        conn.execute(sa.text("INSERT INTO t VALUES (:id, 'x')"), {"id": 1 if len(calls) <= clash_until else 100})
        return len(calls)

    assert store.transaction(lambda conn: write(conn, clash_until=2)) == 3
    with store.engine.connect() as conn:  # the failed attempts left nothing behind
        assert conn.execute(sa.text("SELECT count(*) FROM t WHERE note = 'before the clash'")).scalar() == 1
    calls.clear()
    with pytest.raises(sa.exc.IntegrityError):
        store.transaction(lambda conn: write(conn, clash_until=99), attempts=3)
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(sa.exc.IntegrityError):
        store.transaction(lambda conn: write(conn, clash_until=99), attempts=1)
    assert len(calls) == 1
