"""`sentinel daemon` as a real process: schedules, signals, reload, kill -9 and restart, two replicas, a
PostgreSQL source stopped mid-run. Outcomes are asserted from the state store."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 20.0, every: float = 0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate.__doc__ or predicate}")


class Daemon:
    """One `sentinel daemon` process with its log file."""

    count = 0

    def __init__(self, root: Path, *args: str):
        Daemon.count += 1
        self.log_path = root / f"daemon-{Daemon.count}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()/kill()
        cmd = [
            sys.executable,
            "-m",
            "sentinel",
            "daemon",
            "--config",
            str(root / "config.yaml"),
            "--log-format",
            "json",
        ]
        self.proc = subprocess.Popen([*cmd, *args], stdout=self.log, stderr=subprocess.STDOUT, cwd=root)

    def events(self) -> list[dict]:
        out = []
        for line in self.log_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
        return out

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.log.close()
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self.log.close()


def write_project(
    root: Path,
    datasets: str,
    state: str = "sqlite:///state.db",
    daemon: str = "",
    source: str = 'wh: {type: sql, url: "duckdb:///wh.duckdb"}',
) -> None:
    (root / "checks").mkdir(exist_ok=True)
    (root / "config.yaml").write_text(
        textwrap.dedent(f"""
        state: "{state}"
        sources:
          {source}
        notify: {{default: ["outbox://notes.jsonl"]}}
        daemon: {{heartbeat: 1s{daemon}}}
        """)
    )
    (root / "checks" / "d.yaml").write_text("datasets:\n" + textwrap.indent(textwrap.dedent(datasets), "  "))


def make_warehouse(root: Path, rows: int = 200, bad: bool = False) -> None:
    con = duckdb.connect(str(root / "wh.duckdb"))
    con.execute(
        f"CREATE OR REPLACE TABLE deals AS SELECT range AS id, "
        f"{'-5.0' if bad else '100.0'} + range AS amount FROM range({rows})"
    )
    con.execute("CREATE OR REPLACE TABLE orders AS SELECT range AS id FROM range(10)")
    con.close()


DATASETS = """
- name: deals
  source: wh
  table: deals
  key: id
  schedule: every 1s
  checks:
    - not_empty: {}
    - expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0}}
- name: orders
  source: wh
  table: orders
  schedule: every 2s
  checks:
    - not_empty: {}
"""


def store_engine(root: Path, url: str | None = None) -> sa.Engine:
    return sa.create_engine(url or f"sqlite:///{root / 'state.db'}")


def count(engine: sa.Engine, sql: str, **params) -> int:
    """A number from the state store; 0 while the daemon has not created its tables yet."""
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql), params).scalar() or 0)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return 0
        raise


def test_runs_on_schedule_serves_health_and_metrics_and_stops_cleanly(tmp_path):
    make_warehouse(tmp_path)
    write_project(tmp_path, DATASETS)
    port = free_port()
    d = Daemon(tmp_path, "--http", f"127.0.0.1:{port}")
    engine = store_engine(tmp_path)

    def three_runs_of_deals():
        return count(engine, "SELECT count(*) FROM runs WHERE dataset='deals'") >= 3

    wait_for(three_runs_of_deals)
    health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read())
    assert health["status"] == "ok" and health["scheduler_running"]
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'sentinel_runs_total{dataset="deals",status="pass"}' in metrics
    assert "sentinel_schedule_lag_seconds_bucket" in metrics and "sentinel_open_incidents" in metrics
    status = subprocess.run(
        [sys.executable, "-m", "sentinel", "status", "--json", "--config", str(tmp_path / "config.yaml")],
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(status.stdout)
    by_name = {x["dataset"]: x for x in doc["datasets"]}
    assert by_name["deals"]["last_run"]["status"] == "pass" and by_name["deals"]["next_run"]
    assert [dm["alive"] for dm in doc["daemons"]] == [True]
    assert d.stop() == 0
    log = d.events()
    events = [e.get("event") for e in log]
    # after SIGTERM only runs already in flight may finish (one per dataset at most), then the daemon stops
    after = log[events.index("stopping") + 1 :]
    assert [e.get("event") for e in after][-1:] == ["stopped"] and events.count("stopping") == 1
    finishing = [e.get("dataset") for e in after[:-1]]
    assert all(e.get("event") == "run" for e in after[:-1]) and len(finishing) == len(set(finishing))
    # every run belongs to one tick; no tick ran twice
    assert count(engine, "SELECT count(*) FROM runs") == count(engine, "SELECT count(*) FROM ticks")
    assert count(engine, "SELECT count(*) FROM daemons WHERE stopped_at IS NULL") == 0


def test_sigterm_lets_the_running_check_finish(tmp_path):
    """A slow source query is mid-flight when SIGTERM arrives: the run completes and is written, then exit 0."""
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("CREATE TABLE big AS SELECT range AS id, random() AS v FROM range(30000000)")
    con.close()
    write_project(
        tmp_path,
        """
        - name: big
          source: wh
          table: big
          schedule: every 1h
          checks:
            - expect:
                type: expect_column_quantile_values_to_be_between
                kwargs:
                  column: v
                  quantile_ranges: {quantiles: [0.5, 0.9, 0.99], value_ranges: [[0, 1], [0, 1], [0, 1]]}
        """,
    )
    port = free_port()
    d = Daemon(tmp_path, "--http", f"127.0.0.1:{port}")

    def measuring() -> bool:  # the catch-up run's lag is observed as it starts measuring (Daemon._run_tick)
        try:
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        except OSError:  # not serving yet
            return False
        return "sentinel_schedule_lag_seconds_count 1.0" in metrics

    wait_for(measuring)
    assert d.stop() == 0
    engine = store_engine(tmp_path)
    assert count(engine, "SELECT count(*) FROM runs WHERE dataset='big'") == 1
    assert [e["event"] for e in d.events() if e.get("event") in ("stopping", "run", "stopped")] == [
        "stopping",
        "run",
        "stopped",
    ]


def test_sighup_reload_rejects_a_broken_config_and_applies_a_good_one(tmp_path):
    make_warehouse(tmp_path)
    write_project(tmp_path, DATASETS)
    d = Daemon(tmp_path)
    engine = store_engine(tmp_path)
    wait_for(lambda: count(engine, "SELECT count(*) FROM runs") >= 2)
    checks = tmp_path / "checks" / "d.yaml"
    good = checks.read_text()
    checks.write_text(good.replace("not_empty: {}", "not_empty: {typo: 1}", 1))
    d.proc.send_signal(signal.SIGHUP)
    rejected = wait_for(lambda: [e for e in d.events() if e.get("event") == "reload_rejected"])
    assert "checks/d.yaml" in rejected[0]["errors"][0] and "typo" in rejected[0]["errors"][0]
    before = count(engine, "SELECT count(*) FROM runs WHERE dataset='deals'")
    wait_for(lambda: count(engine, "SELECT count(*) FROM runs WHERE dataset='deals'") >= before + 2)  # still running
    checks.write_text(good.replace("name: orders", "name: orders2"))
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: count(engine, "SELECT count(*) FROM runs WHERE dataset='orders2'") >= 1)
    assert d.stop() == 0


def claims_go_stale(engine: sa.Engine) -> None:
    """What outbox.CLAIM_FOR of waiting does (a killed dispatcher's claims are taken over), without the wait."""
    from sentinel.notify.outbox import CLAIM_FOR
    from sentinel.store import outbox

    long_ago = dt.datetime.now(dt.UTC) - CLAIM_FOR - dt.timedelta(minutes=1)
    with engine.begin() as conn:
        pending = sa.and_(outbox.c.state == "pending", outbox.c.claimed_at.is_not(None))
        conn.execute(outbox.update().where(pending).values(claimed_at=long_ago))


def test_kill_9_at_any_point_loses_no_incident_and_repeats_nothing(tmp_path):
    """A failing check runs every second while the daemon is killed with SIGKILL at varied moments and
    restarted. Afterwards: one open incident, whose occurrence count equals the failing runs written; one
    completed run per tick; no run half-written (every run has all its results)."""
    make_warehouse(tmp_path, bad=True)
    write_project(tmp_path, DATASETS)
    engine = store_engine(tmp_path)
    for delay in (1.7, 2.3, 2.05, 2.9, 1.85):
        d = Daemon(tmp_path)
        time.sleep(delay)
        d.kill()
    before = count(engine, "SELECT count(*) FROM runs WHERE dataset='deals'")
    claims_go_stale(engine)  # a kill between an outbox row's claim and its delivery leaves it claimed
    d = Daemon(tmp_path)
    wait_for(lambda: count(engine, "SELECT count(*) FROM runs WHERE dataset='deals'") >= before + 3)
    wait_for(lambda: count(engine, "SELECT count(*) FROM outbox WHERE state='sent'") >= 1)
    assert d.stop() == 0
    failing = count(
        engine,
        "SELECT count(*) FROM results WHERE dataset='deals' AND check_name LIKE 'expect_column_values_to_be_between%' "
        "AND status='fail'",
    )
    assert count(engine, "SELECT count(*) FROM incidents") == 1
    assert count(engine, "SELECT count(*) FROM incidents WHERE open_fingerprint IS NOT NULL") == 1
    assert count(engine, "SELECT occurrences FROM incidents") == failing
    assert count(engine, "SELECT count(*) FROM incident_events WHERE event='opened'") == 1
    assert count(engine, "SELECT count(*) FROM runs") == count(engine, "SELECT count(*) FROM ticks")
    # the incident was announced exactly once, through the outbox written with it
    notes = [json.loads(line) for line in (tmp_path / "notes.jsonl").read_text().splitlines()]
    assert [n["change"] for n in notes] == ["opened"]
    assert count(engine, "SELECT count(*) FROM outbox WHERE state='sent'") == 1
    assert (
        count(
            engine,
            "SELECT count(*) FROM runs r WHERE (SELECT count(*) FROM results x WHERE x.run_id = r.id) "
            "!= CASE r.dataset WHEN 'deals' THEN 2 ELSE 1 END",
        )
        == 0
    )


@pytest.mark.postgres
def test_two_replicas_share_the_ticks_and_one_carries_on_when_the_other_dies(tmp_path, pg_schema):
    url, _schema, _engine = pg_schema
    make_warehouse(tmp_path)
    write_project(tmp_path, DATASETS, state=url)
    engine = store_engine(tmp_path, url)
    a, b = Daemon(tmp_path), Daemon(tmp_path)

    def both_ran():
        return count(engine, "SELECT count(DISTINCT host) FROM ticks") == 2

    try:
        wait_for(both_ran, timeout=30)
        time.sleep(3)
        a.kill()
        killed_at = time.time()

        def after() -> int:
            with engine.connect() as conn:
                return conn.execute(
                    sa.text("SELECT count(*) FROM ticks WHERE dataset='deals' AND done_at > to_timestamp(:t)"),
                    {"t": killed_at + 1},
                ).scalar()

        # the survivor keeps the 1-second schedule going: it takes the dead owner's ticks once they are late
        # (its peer counts as alive for 3 heartbeats), so under load a tick may pass before the next is taken
        wait_for(lambda: after() >= 2, timeout=30)
        assert b.stop() == 0
    finally:
        for d in (a, b):
            if d.proc.poll() is None:
                d.kill()
    # each tick ran once, by one of them; every run is a tick's run
    assert count(engine, "SELECT count(*) FROM runs") == count(engine, "SELECT count(*) FROM ticks")
    assert (
        count(engine, "SELECT count(*) FROM (SELECT dataset, tick FROM ticks GROUP BY 1, 2 HAVING count(*) > 1) x") == 0
    )


def _pg_bin(name: str) -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else shutil.which(name)


@pytest.fixture
def own_cluster():
    """A PostgreSQL cluster of the test's own (never the machine's), which the test may stop and start."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        if os.environ.get("CI") == "true":
            pytest.fail("initdb/pg_ctl not found (required under CI)")
        pytest.skip("initdb/pg_ctl not found")
    home = Path(tempfile.mkdtemp(prefix="sentinel-pg-"))  # pytest's tmp_path is private to root
    data = home / "pgdata"
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data.mkdir()
    if as_postgres:  # initdb refuses to run as root
        shutil.chown(home, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run(
        [*as_postgres, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True
    )

    def ctl(*args: str) -> None:
        subprocess.run(
            [*as_postgres, pg_ctl, "-D", str(data), "-w", "-l", str(data / "log"), *args],
            check=True,
            capture_output=True,
        )

    opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    ctl("-o", opts, "start")
    try:
        yield port, lambda: ctl("-m", "immediate", "stop"), lambda: ctl("-o", opts, "start")
    finally:
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def test_a_postgres_source_stopped_mid_run_gives_one_could_not_measure_incident(tmp_path, own_cluster):
    port, stop_pg, start_pg = own_cluster
    src = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    eng = sa.create_engine(src)
    with eng.begin() as conn:
        conn.execute(sa.text("CREATE TABLE deals AS SELECT g AS id, 100.0 + g AS amount FROM generate_series(1, 50) g"))
    eng.dispose()
    (tmp_path / "checks").mkdir(exist_ok=True)
    (tmp_path / "config.yaml").write_text(
        textwrap.dedent(f"""
        state: sqlite:///state.db
        sources:
          pg: {{type: sql, url: "{src}", connect_timeout: 2s}}
        daemon: {{heartbeat: 1s, source_retries: 1, retry_backoff: 1s, unmeasurable_after: 3s}}
        """)
    )
    (tmp_path / "checks" / "d.yaml").write_text(
        textwrap.dedent("""
        datasets:
          - name: deals
            source: pg
            table: deals
            schedule: every 1s
            checks:
              - not_empty: {}
        """)
    )
    engine = store_engine(tmp_path)
    d = Daemon(tmp_path)
    try:
        wait_for(lambda: count(engine, "SELECT count(*) FROM runs") >= 2)
        stop_pg()
        wait_for(
            lambda: count(engine, "SELECT count(*) FROM incidents WHERE check_name='(source)' AND state='open'"),
            timeout=30,
        )
        # more failing runs: they update the incident, never open another
        wait_for(lambda: count(engine, "SELECT occurrences FROM incidents") >= 3, timeout=30)
        assert count(engine, "SELECT count(*) FROM incidents") == 1
        assert any(e.get("event") == "source_retry" for e in d.events())
        start_pg()
        wait_for(lambda: count(engine, "SELECT count(*) FROM incidents WHERE state='resolved'"), timeout=30)
        # "error" never opened an empty-table incident
        assert count(engine, "SELECT count(*) FROM incidents WHERE check_name='not_empty'") == 0
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.kill()


def test_a_state_store_down_for_a_while_loses_no_run(tmp_path, own_cluster):
    """The PostgreSQL state store goes away for several seconds: runs measured meanwhile are retried, then
    spooled to disk, and written when it is back; no tick is written twice."""
    port, stop_pg, start_pg = own_cluster
    state = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    make_warehouse(tmp_path)
    write_project(
        tmp_path,
        DATASETS,
        state=state,
        daemon=", store_retry_for: 1s",
    )
    engine = store_engine(tmp_path, state)
    d = Daemon(tmp_path)
    try:
        wait_for(lambda: count(engine, "SELECT count(*) FROM runs") >= 2)
        engine.dispose()
        stop_pg()
        wait_for(lambda: any(e.get("event") == "spooled" for e in d.events()), timeout=40)
        spooled = {e["run_uid"] for e in d.events() if e.get("event") == "spooled"}
        start_pg()
        spool = tmp_path / ".sentinel" / "spool"
        wait_for(lambda: not list(spool.glob("*.json")), timeout=40)
        assert not (spool / "bad").exists()  # every spooled run was read back
        # every run measured while the store was down is in it now, once (a run's uid is its tick's: a run
        # that took its lease before the store went down and was spooled after is one of them)
        in_list = ",".join(f"'{u}'" for u in spooled)
        written = count(engine, f"SELECT count(DISTINCT run_uid) FROM runs WHERE run_uid IN ({in_list})")
        assert written == len(spooled) == count(engine, f"SELECT count(*) FROM runs WHERE run_uid IN ({in_list})")
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.kill()
    assert count(engine, "SELECT count(*) FROM runs") == count(engine, "SELECT count(*) FROM ticks")
    engine.dispose()


def test_a_check_that_raises_is_an_error_result_and_the_daemon_goes_on(tmp_path, monkeypatch):
    """In-process: a check whose code raises (a bug, not a source problem) becomes `error` for that check
    alone; the run's other results are written and the job returns normally."""
    from sentinel.checks import KINDS
    from sentinel.daemon import Daemon as InProcess

    make_warehouse(tmp_path)
    write_project(tmp_path, DATASETS)

    def broken(spec, ctx):
        raise RuntimeError("a bug in a check")

    monkeypatch.setattr(KINDS["expect"], "plan", broken)
    d = InProcess(tmp_path / "config.yaml")
    d.run_tick("deals")
    engine = store_engine(tmp_path)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT check_name, status, diagnosis FROM results ORDER BY id")).all()
    assert [(r.check_name, r.status) for r in rows] == [
        ("not_empty", "pass"),
        ("expect_column_values_to_be_between(amount)", "error"),
    ]
    assert "check_crashed" in rows[1].diagnosis and "a bug in a check" in rows[1].diagnosis
    d.store.close()


@pytest.mark.postgres
def test_kill_9_mid_write_commits_nothing_and_the_restart_writes_once(tmp_path, pg_schema):
    """The test holds a lock on `incidents`, so the daemon's write stops half-way (run, results and tick claim
    inserted, the incident not yet); kill -9 there. Nothing of that run may survive, and after a restart the
    failure is written once: one run per tick, every run complete, one incident, one notification."""
    url, schema, admin = pg_schema
    make_warehouse(tmp_path, bad=True)
    write_project(tmp_path, DATASETS.split("- name: orders")[0], state=url)
    engine = store_engine(tmp_path, url)
    d = Daemon(tmp_path)
    wait_for(lambda: count(engine, "SELECT count(*) FROM runs") >= 1)
    with admin.connect() as blocker:
        blocker.execute(sa.text(f'LOCK TABLE "{schema}".incidents IN ACCESS EXCLUSIVE MODE'))

        def a_write_is_waiting():
            with admin.connect() as conn:
                return conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query ILIKE '%incidents%' AND pid <> pg_backend_pid()"
                    )
                ).scalar()

        wait_for(a_write_is_waiting)
        runs_before = count(engine, "SELECT count(*) FROM runs")
        d.kill()
        blocker.rollback()
    assert count(engine, "SELECT count(*) FROM runs") == runs_before  # the half-written run left nothing
    d = Daemon(tmp_path)
    wait_for(lambda: count(engine, "SELECT count(*) FROM runs") >= runs_before + 2)
    assert d.stop() == 0
    assert count(engine, "SELECT count(*) FROM runs") == count(engine, "SELECT count(*) FROM ticks")
    assert (
        count(engine, "SELECT count(*) FROM runs r WHERE (SELECT count(*) FROM results x WHERE x.run_id = r.id) != 2")
        == 0
    )
    assert count(engine, "SELECT count(*) FROM incidents") == 1
    failing = count(engine, "SELECT count(*) FROM results WHERE status = 'fail'")
    assert count(engine, "SELECT occurrences FROM incidents") == failing
    notes = [json.loads(line) for line in (tmp_path / "notes.jsonl").read_text().splitlines()]
    assert [n["change"] for n in notes] == ["opened"]
    engine.dispose()
