"""Secrets from the environment: percent-encoded into the URL part they land in, and never shown again.

The end-to-end test drives the real CLI and daemon as processes against a real PostgreSQL, with a canary
password (`@` and `:` in it) and a canary database name that the server's own error message quotes back,
then greps everything Sentinel wrote: stdout, stderr, the daemon's JSON log, every table of the state store
and the outbox file.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import PG_PROBLEM

from sentinel.envsubst import resolve_url

CANARY = "kanarie"
ENV = {
    "SENTINEL_CANARY_PW": f"Xy@h:Sup3rS3cret-{CANARY}",
    "SENTINEL_CANARY_DB": f"db_{CANARY}_491",
    # a whole-URL variable is taken as it is: this one does not parse, and must not be quoted in the error
    "SENTINEL_CANARY_URL": f"postgresql+psycopg://postgres:Xy@h:Sup3rS3cret-{CANARY}@127.0.0.1:5432/test",
}


def test_values_are_percent_encoded_for_the_url_part_they_land_in(monkeypatch, tmp_path):
    secret = "Xy@h:Sup3r/S3cret?#%"
    monkeypatch.setenv("SENTINEL_T_PW", secret)
    monkeypatch.setenv("SENTINEL_T_USER", "me@corp")
    monkeypatch.setenv("SENTINEL_T_HOST", "db.internal")
    monkeypatch.setenv("SENTINEL_T_DB", "sales data")
    monkeypatch.setenv("SENTINEL_T_DIR", "data/sub dir")
    url = sa.make_url(
        resolve_url(
            "postgresql+psycopg://${SENTINEL_T_USER}:${SENTINEL_T_PW}@${SENTINEL_T_HOST}:5432/${SENTINEL_T_DB}"
            "?application_name=${SENTINEL_T_PW}",
            tmp_path,
        )
    )
    assert (url.username, url.password, url.host, url.port) == ("me@corp", secret, "db.internal", 5432)
    assert (url.database, url.query["application_name"]) == ("sales data", secret)
    # a path keeps its folders; a whole-URL variable is taken as it is
    assert sa.make_url(resolve_url("duckdb:///${SENTINEL_T_DIR}/x.duckdb", tmp_path)).database == str(
        tmp_path / "data/sub dir/x.duckdb"
    )
    monkeypatch.setenv("SENTINEL_T_URL", "postgresql+psycopg://u:p%40ss@h/db")
    assert resolve_url("${SENTINEL_T_URL}", tmp_path) == "postgresql+psycopg://u:p%40ss@h/db"


def _pg(pg_schema) -> tuple[str, str]:
    url, schema, engine = pg_schema
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{schema}".deals AS SELECT g AS id FROM generate_series(1, 5) g'))
    return url, schema


def test_a_password_with_an_at_sign_connects(project, pg_schema, monkeypatch):
    url, _ = _pg(pg_schema)
    monkeypatch.setenv("SENTINEL_T_PW", "Xy@Sup3rS3cret")
    template = sa.make_url(url).set(password="PW").render_as_string(hide_password=False)
    project.config(f'pg: {{type: sql, url: "{template.replace(":PW@", ":${SENTINEL_T_PW}@")}"}}')
    project.write("checks/d.yaml", "datasets:\n  - {name: deals, source: pg, table: deals, checks: [not_empty: {}]}\n")
    code, doc = project.run_json()
    assert code == 0, doc["results"]
    assert [r["status"] for r in doc["results"]] == ["pass"]


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "sentinel", *args, "--config", str(root / "config.yaml")]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=root, env={**os.environ, **ENV}, timeout=120)


def _wait(predicate, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s")


def _count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(db) as con:
            return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _dump(db: Path) -> str:
    """Every row of every table of the state store, as text."""
    with sqlite3.connect(db) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(repr(row) for t in tables for row in con.execute(f'SELECT * FROM "{t}"'))


@pytest.mark.skipif(bool(PG_PROBLEM), reason=str(PG_PROBLEM))
def test_no_secret_reaches_output_logs_store_or_notifications(tmp_path):
    root = tmp_path
    (root / "checks").mkdir()
    (root / "config.yaml").write_text(
        textwrap.dedent("""
        state: sqlite:///state.db
        sources:
          pg:
            type: sql
            url: "postgresql+psycopg://postgres:${SENTINEL_CANARY_PW}@127.0.0.1:5432/${SENTINEL_CANARY_DB}"
            connect_timeout: 3s
          whole: {type: sql, url: "${SENTINEL_CANARY_URL}"}
        notify: {default: ["console://", "outbox://outbox.jsonl"]}
        daemon: {heartbeat: 1s, source_retries: 0, unmeasurable_after: 1s}
        """)
    )
    (root / "checks" / "d.yaml").write_text(
        "datasets:\n"
        "  - {name: deals, source: pg, table: deals, schedule: every 1s, checks: [{not_empty: {}}]}\n"
        "  - {name: orders, source: whole, table: orders, schedule: every 1s, checks: [{not_empty: {}}]}\n"
    )
    seen: dict[str, str] = {}
    plain = _cli(root, "run")
    seen["run"] = plain.stdout + plain.stderr
    assert plain.returncode == 3, seen["run"]
    as_json = _cli(root, "run", "--json")
    seen["run --json"] = as_json.stdout + as_json.stderr
    deals, orders = json.loads(as_json.stdout)["results"]
    assert deals["status"] == "error" and "***" in deals["diagnosis"]["message"]  # still says what went wrong
    assert orders["status"] == "error" and "sources.whole.url: not a valid URL" in orders["diagnosis"]["message"]

    log = root / "daemon.log"
    with open(log, "wb") as out:
        cmd = [sys.executable, "-m", "sentinel", "daemon", "--config", str(root / "config.yaml"), "--log-format"]
        cmd.append("json")
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=root, env={**os.environ, **ENV})
        try:
            # two daemon runs each, and until the daemon has opened both "could not measure" incidents: their
            # runs can come within `unmeasurable_after` of the CLI's first (a catch-up run, then the next tick)
            _wait(lambda: _count(root / "state.db", "SELECT count(*) FROM runs") >= 8, timeout=60)
            _wait(lambda: _count(root / "state.db", "SELECT count(*) FROM incidents") >= 2, timeout=60)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    seen["daemon log"] = log.read_text()
    assert '"level"' in seen["daemon log"]
    listed = _cli(root, "incidents", "--all", "--json")
    seen["incidents --json"] = listed.stdout + listed.stderr
    ids = [str(i["id"]) for i in json.loads(listed.stdout)]
    assert len(ids) == 2  # "could not measure" for each dataset
    for args in (*(("show", i) for i in ids), *(("show", i, "--json") for i in ids), ("status", "--json")):
        res = _cli(root, *args)
        assert res.returncode == 0, res.stderr
        seen[" ".join(args)] = res.stdout + res.stderr
    seen["state store"] = _dump(root / "state.db")
    seen["outbox"] = (root / "outbox.jsonl").read_text()
    assert seen["outbox"].strip() and "***" in seen["state store"]
    leaks = {where: text for where, text in seen.items() if CANARY in text}
    assert not leaks, leaks


LOGS = """
import logging, os, threading
from sentinel.daemon import configure_logging
from sentinel.envsubst import expand_env, redact_tracebacks
configure_logging("{fmt}")
redact_tracebacks()
secret = expand_env("${SENTINEL_CANARY_PW}")
log = logging.getLogger("sentinel.test")
log.error("connecting with %s", secret, extra={"url": "postgresql://u:" + secret + "@h/db"})
try:
    raise ValueError("bad port in " + secret)
except ValueError:
    log.exception("failed")


def in_a_thread():
    raise RuntimeError(secret)


t = threading.Thread(target=in_a_thread)
t.start()
t.join()
raise RuntimeError("uncaught: " + secret)
"""


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_log_records_and_tracebacks_are_redacted_in_a_real_process(fmt):
    res = subprocess.run(
        [sys.executable, "-c", LOGS.replace("{fmt}", fmt)],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=60,
    )
    assert res.returncode == 1
    out = res.stdout + res.stderr
    assert "connecting with ***" in out and "bad port in ***" in out and "uncaught: ***" in out, out
    assert "RuntimeError: ***" in out  # the thread's traceback
    assert CANARY not in out, out


def test_a_whole_url_variable_that_does_not_parse_is_a_configuration_error_without_its_value(project):
    project.write(
        "config.yaml", 'state: "${SENTINEL_CANARY_URL}"\nsources:\n  w: {type: sql, url: "duckdb:///w.duckdb"}\n'
    )
    project.write("checks/a.yaml", "datasets:\n  - {name: a, source: w, table: t, checks: [{not_empty: {}}]}\n")
    res = _cli(project.root, "run", "--json")
    assert res.returncode == 2, res.stderr
    assert json.loads(res.stdout) == {
        "errors": [
            {
                "file": str(project.root / "config.yaml"),
                "line": None,
                "path": "state",
                "message": "not a valid URL once its ${...} are expanded",
            }
        ]
    }
    assert CANARY not in res.stdout + res.stderr and "Traceback" not in res.stderr
