"""Retention (issue 10, item 19): `sentinel prune` deletes old rows in batches and keeps everything a detector
or an open incident reads, so a run after a prune gives exactly the results it gives on the unpruned store."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from backends import make

from sentinel.store import Store, incident_events, metrics, outbox, results, runs, ticks

AGE = dt.timedelta(days=100)  # past every default window
CHECKS = """datasets:
  - name: deals
    source: wh
    table: deals
    key: id
    checks:
      - volume: {timestamp_column: loaded_at, bucket: day, seasonality: none, training_period: 30d,
                 detection_period: 2d}
      - magnitude: {column: amount, history_by: id}
      - subschema: {value_column: amount, category_column: currency}
"""
AGED = {  # every timestamp a run writes, moved back by AGE to make the history old
    runs: ["started_at", "finished_at"],
    metrics: ["measured_at"],
    incident_events: ["at"],
    outbox: ["created_at", "sent_at", "claimed_at"],
}


def _cli(root, *args: str, config: str = "config.yaml") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sentinel", *args, "--config", str(root / config)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _deals(today: dt.date, seed: int = 1) -> list[dict]:
    """60 days of deals, ~50 a day; 10 days ago only 4 arrived (a drop an earlier run flagged)."""
    rng = np.random.default_rng(seed)
    rows = []
    for back in range(1, 61):
        day = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(12))
        for j in range(4 if back == 10 else int(rng.integers(45, 56))):
            rows.append(
                {
                    "id": len(rows) + 1,
                    "currency": "EUR" if len(rows) % 5 == 0 else "USD",
                    "amount": float(np.round(10 ** rng.uniform(3, 6), 2)),
                    "loaded_at": day + dt.timedelta(minutes=j),
                }
            )
    return rows


def _load(wh, rows: list[dict]) -> None:
    wh.execute("DROP TABLE IF EXISTS deals")
    wh.execute("CREATE TABLE deals (id INTEGER, currency VARCHAR, amount DOUBLE, loaded_at TIMESTAMP)")
    wh.execute("INSERT INTO deals VALUES (:id, :currency, :amount, :loaded_at)", rows)


def _age(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for table, columns in AGED.items():
            for row in conn.execute(sa.select(table.c.id, *[table.c[c] for c in columns])).all():
                moved = {c: v - AGE for c, v in zip(columns, row[1:], strict=True) if v is not None}
                conn.execute(table.update().where(table.c.id == row.id).values(**moved))
        then = dt.datetime.now(dt.UTC) - AGE
        conn.execute(ticks.insert().values(dataset="deals", tick=then, run_uid="x", done_at=then))
    engine.dispose()


def _twin(url: str, tmp_path, pg) -> tuple[str, str | None]:
    """An unpruned copy of the store at `url`, and its PostgreSQL schema."""
    if pg is None:  # through SQLite: a plain file copy would drop this process's locks on the store
        with sqlite3.connect(tmp_path / "state.db") as src, sqlite3.connect(tmp_path / "twin.db") as dst:
            src.backup(dst)
        return f"sqlite:///{tmp_path / 'twin.db'}", None
    _, schema, engine = pg
    twin = "t_" + uuid.uuid4().hex[:10]
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{twin}"'))
        names = conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}).scalars()
        for name in names:
            conn.execute(sa.text(f'CREATE TABLE "{twin}"."{name}" (LIKE "{schema}"."{name}" INCLUDING ALL)'))
            conn.execute(sa.text(f'INSERT INTO "{twin}"."{name}" SELECT * FROM "{schema}"."{name}"'))
    return url.replace(f"search_path%3D{schema}", f"search_path%3D{twin}"), twin


def _verdicts(doc: dict) -> list[tuple]:
    return [
        (r["check"], r["status"], r["observed"], r["expected"], r["evidence"], r["diagnosis"]) for r in doc["results"]
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_run_after_a_prune_gives_the_same_results_and_old_rows_are_gone(backend, tmp_path, request):
    pg = request.getfixturevalue("pg_schema") if backend == "postgresql" else None
    url = pg[0] if pg else f"sqlite:///{tmp_path / 'state.db'}"
    wh = make("duckdb", tmp_path)
    today = dt.datetime.now(dt.UTC).date()
    rows = _deals(today)
    _load(wh, rows)
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "deals.yaml").write_text(CHECKS)
    source = f'sources:\n  wh: {{type: sql, url: "{wh.url}"}}\nnotify: {{default: ["console://"]}}\n'
    (tmp_path / "config.yaml").write_text(f'state: "{url}"\n' + source)
    for _ in range(2):  # two healthy runs: the second's category shares supersede the first's
        first = _cli(tmp_path, "run", "--json")
        assert first.returncode == 0, first.stderr[-2000:]

    # an earlier run flagged the drop of 10 days ago: that bucket stays out of the volume baseline
    store = Store(url)
    bucket = dt.datetime.combine(today - dt.timedelta(days=10), dt.time(0), dt.UTC).isoformat()
    with store.engine.begin() as conn:
        now = dt.datetime.now(dt.UTC) - dt.timedelta(days=9)
        rid = conn.execute(
            runs.insert()
            .values(run_uid="earlier", dataset="deals", started_at=now, finished_at=now, status="fail")
            .returning(runs.c.id)
        ).scalar_one()
        conn.execute(
            results.insert().values(
                run_id=rid,
                dataset="deals",
                check_name="volume",
                kind="volume",
                status="fail",
                severity="error",
                evidence={"buckets": [{"bucket": bucket, "count": 4, "reason": "drop"}]},
            )
        )

    for r in rows[:10]:
        r["currency"] = "CHF"  # a new currency: a subschema incident, its shares only candidates
    rows[20]["amount"] *= 1000  # three zeros too many: a magnitude incident against the key's last value
    _load(wh, rows)
    second = _cli(tmp_path, "run", "--json")
    assert second.returncode == 1, second.stderr[-2000:]
    assert {c["check"] for c in json.loads(second.stdout)["incidents"]} == {"subschema(amount)", "magnitude(amount)"}

    _age(url)
    twin_url, twin_schema = _twin(url, tmp_path, pg)
    (tmp_path / "twin.yaml").write_text(f'state: "{twin_url}"\n' + source)
    before = {t.name: store.count(t) for t in (results, runs, ticks, outbox, incident_events, metrics)}
    kept = (store.flagged_buckets("deals"), store.last_shares("deals", "subschema(amount)"))

    dry = _cli(tmp_path, "prune", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert {t.name: store.count(t) for t in (results, runs, ticks, outbox, incident_events, metrics)} == before
    done = _cli(tmp_path, "prune")
    assert done.returncode == 0, done.stderr
    deleted = json.loads(dry.stdout)["deleted"]
    assert [line.split() for line in done.stdout.splitlines()] == [[t, "deleted", f"{n:,}"] for t, n in deleted.items()]

    # the rest is gone: old runs (but the last measured one), ticks, sent notifications, update events
    assert store.count(ticks) == 0 and store.count(outbox) == 0
    assert store.count(runs) == 1 and store.count(incident_events, incident_events.c.event == "updated") == 0
    last_run = {r.check_name for r in _rows(store, results)}
    assert store.count(results) == 4 and last_run == {"volume", "magnitude(amount)", "subschema(amount)"}
    assert deleted["results"] == before["results"] - 4 and deleted["runs"] == before["runs"] - 1
    assert deleted["metrics"] == 2  # the first run's shares of EUR and USD; scalar metric history is kept
    # what detectors read is all there
    assert (store.flagged_buckets("deals"), store.last_shares("deals", "subschema(amount)")) == kept

    pruned = _cli(tmp_path, "run", "--json")
    unpruned = _cli(tmp_path, "run", "--json", config="twin.yaml")
    assert pruned.returncode == unpruned.returncode == 1
    assert _verdicts(json.loads(pruned.stdout)) == _verdicts(json.loads(unpruned.stdout))

    # resolving the subschema incident still accepts its candidate shares
    (inc,) = [i for i in store.list_incidents() if i["check"] == "subschema(amount)"]
    assert _cli(tmp_path, "resolve", str(inc["id"]), "--note", "CHF is real").returncode == 0
    assert "CHF" in store.last_shares("deals", "subschema(amount)")
    store.close()
    if twin_schema is not None:
        with pg[2].begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{twin_schema}" CASCADE'))


def _rows(store: Store, table: sa.Table) -> list:
    with store.engine.connect() as conn:
        return conn.execute(sa.select(table)).all()


WRITER = """
import datetime as dt, sys
from sentinel.store import Store, runs
store = Store(sys.argv[1])
for i in range(60):
    now = dt.datetime.now(dt.UTC)
    store.transaction(lambda conn: conn.execute(runs.insert().values(
        run_uid=f"w-{i}", dataset="writer", started_at=now, finished_at=now, status="pass")))
"""


def test_prune_deletes_in_batches_while_runs_keep_writing(tmp_path):
    from sqlalchemy import event

    from sentinel.retention import RetentionConfig, prune

    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = Store(url)
    old = dt.datetime.now(dt.UTC) - AGE
    with store.engine.begin() as conn:
        conn.execute(
            runs.insert(),
            [
                {"run_uid": f"r{i}", "dataset": f"d{i % 7}", "started_at": old, "finished_at": old, "status": "fail"}
                for i in range(2500)
            ],
        )
        conn.execute(
            results.insert(),
            [
                {
                    "run_id": i + 1,
                    "dataset": f"d{i % 7}",
                    "check_name": "c",
                    "kind": "not_empty",
                    "status": "fail",
                    "severity": "error",
                }
                for i in range(2500)
            ],
        )
    deletes: list[int] = []

    @event.listens_for(store.engine, "after_cursor_execute")
    def _count(_conn, cursor, statement, *_):
        if statement.startswith("DELETE FROM results"):
            deletes.append(cursor.rowcount)

    writer = subprocess.Popen([sys.executable, "-c", WRITER, url])
    done = prune(store, RetentionConfig(batch=300))
    assert writer.wait(timeout=120) == 0
    # each dataset keeps its last measured run and that run's result; the rest went, 300 rows at a time
    assert done["results"] == 2500 - 7 and done["runs"] == 2500 - 7
    assert len(deletes) == 9 and max(deletes) == 300 and sum(deletes) == 2500 - 7
    assert store.count(runs, runs.c.dataset == "writer") == 60  # nothing the writer wrote was lost
    store.close()


def test_a_metrics_window_keeps_the_history_a_detector_reads(tmp_path):
    """With `metrics: 30d`, old metric history goes but the newest 60 values of every series stay, however old."""
    from sentinel.retention import RetentionConfig, prune

    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    rows = [
        {
            "run_id": i,
            "dataset": "d",
            "check_name": "magnitude(amount)",
            "metric": name,
            "value": float(i),
            "measured_at": start + dt.timedelta(days=i),
        }
        for i in range(1, 101)  # one value a day for 100 days, the newest 300 days ago
        for name in ("sum", "mean")
    ]
    with store.engine.begin() as conn:
        conn.execute(metrics.insert(), rows)
    history = store.metric_history("d", "magnitude(amount)", ("sum", "mean"))
    assert prune(store, RetentionConfig())["metrics"] == 0  # by default metric history is kept
    assert prune(store, RetentionConfig(metrics=dt.timedelta(days=30)))["metrics"] == 2 * 40
    assert store.count(metrics) == 2 * 60
    assert store.metric_history("d", "magnitude(amount)", ("sum", "mean")) == history
    store.close()


def test_retention_settings_are_validated_with_their_line(tmp_path):
    from sentinel.config import ConfigError, load_config

    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "a.yaml").write_text(
        "datasets:\n  - {name: d, source: s, table: t, checks: [{not_empty: {}}]}\n"
    )
    (tmp_path / "config.yaml").write_text(
        "sources:\n  s: {type: sql, url: 'duckdb:///x.duckdb'}\nretention:\n  results: 0d\n  rnus: 90d\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "config.yaml")
    text = str(err.value)
    assert "config.yaml:4: retention.results" in text and "must be > 0" in text
    assert "config.yaml:5: retention.rnus" in text
    (tmp_path / "config.yaml").write_text(
        "sources:\n  s: {type: sql, url: 'duckdb:///x.duckdb'}\nretention: {results: 7d, metrics: 400d}\n"
    )
    policy = load_config(tmp_path / "config.yaml").main.retention
    assert (policy.results, policy.runs, policy.metrics) == (
        dt.timedelta(days=7),
        dt.timedelta(days=90),
        dt.timedelta(days=400),
    )


def test_the_daemons_daily_prune_logs_a_failure_and_carries_on(pg_schema, caplog):
    from sentinel.retention import RetentionConfig, prune_some

    url, schema, engine = pg_schema
    store = Store(url)
    assert prune_some(store, RetentionConfig()) == {
        "results": 0,
        "incident_events": 0,
        "metrics": 0,
        "runs": 0,
        "ticks": 0,
        "outbox": 0,
        "daemons": 0,
    }
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP TABLE "{schema}".results'))
    assert prune_some(store, RetentionConfig()) == {}  # never raises into the scheduler
    assert "retention: pruning stopped: ProgrammingError" in caplog.text
    store.close()
