"""`sentinel daemon` on a `type: spark` source, a real process on a real Spark Connect server (spark_server.py):
it exits on SIGTERM within the daemon tests' bound (pyspark's SparkSession.__del__ can hang at interpreter
teardown closing its gRPC channel, SPARK-55620), and it keeps running when the server is restarted under it.
Outcomes are asserted from the state store and the outbox."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa
import pytest
from spark_server import SparkServer, running
from test_daemon import Daemon, count, store_engine, wait_for, write_project

STOP_BOUND = 30  # seconds: Daemon.stop's default, the bound every daemon test uses
ROWS = pa.table({"id": pa.array(range(1, 21), pa.int64()), "amount": [100.0 + i for i in range(20)]})


def write_config(root: Path, url: str, table: str, daemon: str = "") -> None:
    datasets = f"""
    - name: deals
      source: lake
      table: {table}
      key: id
      schedule: every 3s
      checks:
        - not_empty: {{}}
        - expect: {{type: expect_column_values_to_be_between, kwargs: {{column: amount, min_value: 0}}}}
    """
    source = f'lake: {{type: spark, url: "{url}", connect_timeout: 2s}}'
    write_project(root, datasets, daemon=daemon, source=source)


def stop_in_bound(d: Daemon) -> tuple[int, float]:
    began = time.monotonic()
    code = d.stop(timeout=STOP_BOUND)
    return code, time.monotonic() - began


def test_a_daemon_on_a_spark_source_exits_0_on_sigterm_after_a_run(tmp_path, spark_schema):
    server, schema = spark_schema
    server.load(f"{schema}.deals", ROWS)
    write_config(tmp_path, server.url, f"{schema}.deals")
    engine = store_engine(tmp_path)
    d = Daemon(tmp_path)
    try:
        wait_for(lambda: count(engine, "SELECT count(*) FROM runs WHERE status='pass'") >= 2, timeout=90)
        code, took = stop_in_bound(d)  # raises TimeoutExpired past the bound: a hang at teardown fails here
        assert code == 0, d.log_path.read_text()[-3000:]
    finally:
        if d.proc.poll() is None:
            d.kill()
    events = [e.get("event") for e in d.events()]
    assert events.count("stopped") == 1 and events[-1] == "stopped", events[-5:]
    assert count(engine, "SELECT count(*) FROM runs") == count(engine, "SELECT count(*) FROM ticks")
    assert count(engine, "SELECT count(*) FROM runs WHERE status != 'pass'") == 0
    assert took < STOP_BOUND


@pytest.fixture
def own_spark():
    """A Spark Connect server of this test's own, on a fixed port, that the test may stop and start again (the
    session's server is shared, or external with SENTINEL_TEST_SPARK). Skips or fails as spark_server does."""
    with running("sentinel-spark-restart-") as server:
        yield server


def load_deals(server: SparkServer) -> None:
    server.client().sql("CREATE SCHEMA lake")
    server.load("lake.deals", ROWS)


def register_deals(server: SparkServer) -> None:
    """The server's catalog is in memory (spark_server.py): a restarted server has the table's Parquet files but
    not its name, which a real deployment's metastore keeps. Registered again over the same files."""
    server.client().sql("CREATE SCHEMA IF NOT EXISTS lake")
    location = server.work / "warehouse" / "lake.db" / "deals"
    server.client().sql(f"CREATE TABLE IF NOT EXISTS lake.deals USING parquet LOCATION '{location.as_uri()}'")


def test_a_daemon_survives_a_spark_server_restart(tmp_path, own_spark):
    server = own_spark
    load_deals(server)
    write_config(
        tmp_path,
        server.url,
        "lake.deals",
        ", source_retries: 1, retry_backoff: 1s, unmeasurable_after: 4s",
    )
    engine = store_engine(tmp_path)
    d = Daemon(tmp_path)
    try:
        wait_for(lambda: count(engine, "SELECT count(*) FROM runs WHERE status='pass'") >= 2, timeout=90)
        server.stop()  # the daemon's pooled session now points at a dead server
        down = time.time()
        wait_for(lambda: count(engine, "SELECT count(*) FROM runs WHERE status='error'") >= 3, timeout=60)
        wait_for(
            lambda: count(engine, "SELECT count(*) FROM incidents WHERE check_name='(source)' AND state='open'"),
            timeout=30,
        )
        errors_in_outage = count(engine, "SELECT count(*) FROM runs WHERE status='error'")
        server.start()  # the same port
        up = time.time()
        register_deals(server)
        passes = count(engine, "SELECT count(*) FROM runs WHERE status='pass'")
        wait_for(lambda: count(engine, "SELECT count(*) FROM runs WHERE status='pass'") > passes + 1, timeout=90)
        wait_for(lambda: count(engine, "SELECT count(*) FROM incidents WHERE state='resolved'"), timeout=30)
        code, _took = stop_in_bound(d)
        assert code == 0, d.log_path.read_text()[-3000:]
    finally:
        if d.proc.poll() is None:
            d.kill()

    assert errors_in_outage >= 3 and down < up
    # every error result of the outage says the server could not be reached (or its table was not back yet)
    with engine.connect() as conn:
        sql = "SELECT DISTINCT json_extract(diagnosis, '$.cause') FROM results WHERE status='error'"
        causes = {r[0] for r in conn.exec_driver_sql(sql)}
    assert causes and causes <= {"unreachable", "timeout", "missing_table"}, causes
    assert "unreachable" in causes
    # the daemon ran on: one process, one start, runs both sides of the outage, the last one a pass
    events = d.events()
    assert [e.get("event") for e in events].count("started") == 1
    with engine.connect() as conn:
        last = conn.exec_driver_sql("SELECT status FROM runs ORDER BY started_at DESC LIMIT 1").scalar()
        dup = conn.exec_driver_sql("SELECT count(*) FROM (SELECT 1 FROM runs GROUP BY run_uid HAVING count(*) > 1)")
        assert dup.scalar() == 0
        incidents = conn.exec_driver_sql("SELECT check_name, state FROM incidents").all()
    assert last == "pass"
    assert count(engine, "SELECT count(*) FROM runs") == count(engine, "SELECT count(*) FROM ticks")
    # one "could not measure" incident for the whole outage, resolved; no check's own incident
    assert incidents == [("(source)", "resolved")], incidents
    # announced once: one "opened" note (and a "resolved" one if the policy notifies it), never twice
    notes = [json.loads(line) for line in (tmp_path / "notes.jsonl").read_text().splitlines()]
    changes = [n["change"] for n in notes]
    assert changes.count("opened") == 1 and len(changes) == len(set(changes)), changes
    assert count(engine, "SELECT count(*) FROM outbox") == len(notes)


def test_a_session_of_a_restarted_server_is_a_disconnect_then_a_new_session(tmp_path, own_spark):
    """A restart between two runs, no failing run in between: the kept session is the old server's. Its first
    statement is `unreachable` (a disconnect: the pool discards that connection), never `other`; the next
    attempt, with the same kept engines (nothing dropped by hand), opens a new session and passes."""
    from sentinel.config import load_config
    from sentinel.runner import collect
    from sentinel.store import Store

    server = own_spark
    load_deals(server)
    write_config(tmp_path, server.url, "lake.deals")
    cfg = load_config(tmp_path / "config.yaml")
    store = Store(cfg.state_url)
    ds, engines = cfg.datasets[0], {}
    try:
        first = collect(cfg, store, ds, engines=engines)
        assert {r.status for r in first.results} == {"pass"}, [r.diagnosis for r in first.results]
        server.stop()
        server.start()  # the same port
        register_deals(server)
        stale = collect(cfg, store, ds, engines=engines)
        assert {r.status for r in stale.results} == {"error"}, [r.diagnosis for r in stale.results]
        assert {r.cause for r in stale.results} == {"unreachable"}, [r.diagnosis for r in stale.results]
        again = collect(cfg, store, ds, engines=engines)
        assert {r.status for r in again.results} == {"pass"}, [r.diagnosis for r in again.results]
    finally:
        for engine in engines.values():
            engine.dispose()
        store.engine.dispose()
