"""The speculative scan (sentinel/prefetch.py) in real processes: it hits on an unchanged config, never
changes a result, never stores a secret, and steps aside when the config or the data changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

CHECKS = """
datasets:
  - name: deals
    source: wh
    table: deals
    key: id
    checks:
      - not_empty: {}
      - expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0}}
      - expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD]}}
"""


def run(project, prefetch: bool = True, env: dict | None = None) -> tuple[dict, str]:
    # the test tables are small: speculate whatever their statements took
    env = {**os.environ, "SENTINEL_PREFETCH_MIN_SECONDS": "0", **(env or {}), "SENTINEL_PREFETCH_DEBUG": "1"}
    if not prefetch:
        env["SENTINEL_NO_PREFETCH"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "sentinel", "run", "--json", "--config", str(project.root / "config.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout), proc.stderr


def hits(stderr: str) -> int:
    line = [x for x in stderr.splitlines() if x.startswith("prefetch:")][-1]
    return int(line.split()[1])


def results(doc: dict) -> list:
    return [(r["check"], r["status"], r["observed"], r["evidence"]) for r in doc["results"]]


def make_deals(path, bad: bool) -> None:
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE OR REPLACE TABLE deals AS SELECT range AS id, range * 2.0 AS amount, 'USD' AS currency "
        "FROM range(1, 1001)"
    )
    if bad:
        con.execute("UPDATE deals SET amount = -1, currency = 'JPY' WHERE id IN (7, 70)")
    con.close()


def make_pg_deals(engine, schema: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE TABLE "{schema}".deals AS SELECT g AS id, g * 2.0 AS amount, '
            f"'USD'::text AS currency FROM generate_series(1, 100) g"
        )


@pytest.fixture
def pg_deals(project, pg_schema):
    """A project on a 100-row PostgreSQL table; returns its schema and an engine on the database."""
    url, schema, engine = pg_schema
    make_pg_deals(engine, schema)
    project.config(f'wh: {{type: sql, url: "{url}"}}')
    project.write("checks/deals.yaml", CHECKS)
    return schema, engine


@pytest.fixture
def duck(project):
    make_deals(project.root / "wh.duckdb", bad=True)
    project.config('wh: {type: sql, url: "duckdb:///wh.duckdb"}')
    project.write("checks/deals.yaml", CHECKS)
    return project


def test_second_run_hits_and_matches_the_plain_path(duck):
    first, err = run(duck)
    assert hits(err) == 0  # nothing recorded yet
    second, err = run(duck)
    assert hits(err) == 4  # describe, scan, ids of bad amounts, ids of bad currencies (their counts tallied)
    plain, _ = run(duck, prefetch=False)
    assert results(second) == results(plain) == results(first)
    rows = {r["check"]: r for r in second["results"]}["expect_column_values_to_be_between(amount)"]
    # amount is DECIMAL (range * 2.0): evidence carries its values as stored, decimal strings
    assert rows["evidence"]["rows"]["items"] == [{"key": 7, "value": "-1.0"}, {"key": 70, "value": "-1.0"}]


def test_detectors_replay_every_recorded_statement_on_unchanged_data(project):
    """The detectors pass their references back as literals; listed in a fixed order, the second run's SQL is
    the first run's, so every recorded statement is speculated (DuckDB's parallel GROUP BY returns groups in
    any order). Statements naming the groups' labels (data) are not recorded: the runner runs them itself."""
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute(
        "CREATE TABLE deals AS SELECT range AS id, 'rep' || (range % 300) AS owner, "
        "CASE WHEN range % 1000 = 3 THEN 'JPY' ELSE 'USD' END AS currency, "
        "round(exp(7 + 2.5 * ((range * 7919) % 10007) / 10007.0)) * (1 + range % 3) AS amount, "
        "1 + range % 40 AS seats FROM range(1, 400001)"
    )
    con.close()
    project.duckdb(
        """
        - magnitude: {column: amount, group_by: [owner]}
        - magnitude: {column: amount, explained_by: [seats], group_by: [owner], name: fitted}
        - subschema: {value_column: amount, category_column: currency}
        """,
    )
    run(project)
    doc, err = run(project)
    line = [x for x in err.splitlines() if x.startswith("prefetch:")][-1]
    text = (project.root / ".sentinel" / "scan-plans.json").read_text()
    recorded = len(json.loads(text)["datasets"]["deals"]["sql"])
    assert hits(err) == recorded >= 5 and int(line.split()[3]) >= 1, line
    assert "rep1" not in text and "JPY" not in text  # labels from the data
    plain, _ = run(project, prefetch=False)
    assert results(doc) == results(plain)


def test_changed_data_or_config_never_gives_stale_answers(duck):
    run(duck)
    make_deals(duck.root / "wh.duckdb", bad=False)  # fixed: the recorded follow-ups are not needed now
    doc, err = run(duck)
    assert {r["status"] for r in doc["results"]} == {"pass"}
    assert hits(err) == 2  # describe and scan; the evidence queries were interrupted unused
    duck.write("checks/deals.yaml", CHECKS.replace("min_value: 0", "min_value: 1"))
    doc, err = run(duck)
    assert hits(err) == 0  # the config changed: no speculation at all
    assert {r["check"]: r["status"] for r in doc["results"]}["expect_column_values_to_be_between(amount)"] == "pass"


def test_a_miss_leaves_the_later_statements_speculated(project):
    """A detector statement misses (its literals name the data's groups, so it is not recorded; changed data
    would change it anyway) and the runner opens its own connection; it shares the file with the speculative
    one, so the next dataset's statements still hit."""
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute(
        "CREATE TABLE deals AS SELECT range AS id, 'rep' || (range % 20) AS owner, "
        "round(exp(7 + 2.5 * ((range * 7919) % 10007) / 10007.0)) AS amount FROM range(1, 20001)"
    )
    con.execute("CREATE TABLE fx AS SELECT range AS id, 'USD' AS currency FROM range(1, 1001)")
    con.close()
    project.config('wh: {type: sql, url: "duckdb:///wh.duckdb"}')
    project.write(
        "checks/deals.yaml",
        """
        datasets:
          - {name: deals, source: wh, table: deals, key: id, checks: [magnitude: {column: amount, group_by: [owner]}]}
          - name: fx
            source: wh
            table: fx
            key: id
            checks:
              - not_empty: {}
              - expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD]}}
        """,
    )
    run(project)
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute("UPDATE deals SET amount = amount * 1.5 WHERE id % 2 = 0")  # new medians: new scoring literals
    con.close()
    doc, err = run(project)
    line = [x for x in err.splitlines() if x.startswith("prefetch:")][-1]
    misses = int(line.split()[3])
    plans = json.loads((project.root / ".sentinel" / "scan-plans.json").read_text())
    executed = sum(len(p["sql"]) for p in plans["datasets"].values())
    # the scoring statement names the groups (data), so it is not recorded: the runner runs it on its own
    # connection, and every recorded statement, fx's too, still hits
    assert misses >= 1 and hits(err) == executed, line
    plain, _ = run(project, prefetch=False)
    assert results(doc) == results(plain)


def test_plans_never_hold_secrets(project, pg_schema):
    url, schema, engine = pg_schema
    make_pg_deals(engine, schema)
    secret_url = url.replace("postgres@", "${SENTINEL_TEST_PGUSER}@")
    project.config(f'wh: {{type: sql, url: "{secret_url}"}}')
    project.write("checks/deals.yaml", CHECKS)
    env = {"SENTINEL_TEST_PGUSER": "postgres"}
    first, _ = run(project, env=env)
    second, err = run(project, env=env)
    assert hits(err) >= 1 and results(first) == results(second)
    plans = (project.root / ".sentinel" / "scan-plans.json").read_text()
    assert "${SENTINEL_TEST_PGUSER}" in plans and "postgres@" not in plans


def test_duckdb_files_are_speculated_however_small(duck):
    run(duck)
    plans = json.loads((duck.root / ".sentinel" / "scan-plans.json").read_text())
    assert plans["datasets"]["deals"]["db_seconds"] > 0
    # a threshold no statement reaches (an hour): a DuckDB file is speculated all the same
    _, err = run(duck, env={"SENTINEL_PREFETCH_MIN_SECONDS": "3600"})
    assert hits(err) == 4  # opening the file while Python imports is the gain, however small the table


def test_small_postgres_tables_are_not_worth_a_session(project, pg_deals):
    run(project)
    _, err = run(project, env={"SENTINEL_PREFETCH_MIN_SECONDS": "3600"})  # more than its statements took
    assert hits(err) == 0
    _, err = run(project)  # the tests' default threshold, 0: the same table is speculated
    assert hits(err) >= 1


def test_a_tampered_plan_file_cannot_write(project, pg_deals):
    """The plan file is state on disk: a statement that writes is neither replayed nor able to run."""
    schema, engine = pg_deals
    run(project)
    plans_path = project.root / ".sentinel" / "scan-plans.json"
    plans = json.loads(plans_path.read_text())
    plans["datasets"]["deals"]["sql"] = [
        f'DELETE FROM "{schema}".deals',
        f'DROP TABLE "{schema}".deals',
        f'SELECT 1; DELETE FROM "{schema}".deals',
    ]
    plans_path.write_text(json.dumps(plans))
    run(project)
    with engine.connect() as conn:
        assert conn.exec_driver_sql(f'SELECT count(*) FROM "{schema}".deals').scalar() == 100


def test_speculative_postgres_sessions_are_read_only(pg_schema):
    from sentinel.prefetch import _read_only, _Worker

    url, schema, _engine = pg_schema
    assert _read_only("SELECT 1") and _read_only("WITH a AS (SELECT 1) SELECT * FROM a") and _read_only("DESCRIBE t")
    assert not _read_only("DELETE FROM t") and not _read_only("SELECT 1; DROP TABLE t")
    worker = _Worker(url, "postgresql", 0, [], [], (Path("config.yaml"), Path("."), []))
    worker.url = url
    conn = worker._connect()
    try:
        with pytest.raises(Exception, match="read-only"):
            conn.execute(f'CREATE TABLE "{schema}".x (a int)')
    finally:
        conn.close()


def forge(project, template: str, rebind: bool) -> None:
    """Edit the plan file as an attacker would: its dataset's statements now go to `template`, a PostgreSQL
    URL; with `rebind`, the binding is recomputed for the forged template (it holds no secret)."""
    import hashlib

    import yaml

    path = project.root / ".sentinel" / "scan-plans.json"
    plans = json.loads(path.read_text())
    plan = plans["datasets"]["deals"]
    plan.update(source_url=template, dialect="postgresql", db_seconds=10.0, sql=["SELECT 1"])
    if rebind:
        ds = yaml.safe_load((project.root / "checks" / "deals.yaml").read_text())["datasets"][0]
        plan["binding"] = hashlib.sha256(json.dumps([template, ds], sort_keys=True, default=str).encode()).hexdigest()
    path.write_text(json.dumps(plans))


@pytest.mark.parametrize("rebind", [False, True])
def test_an_edited_plan_cannot_make_the_run_connect_anywhere_new(duck, rebind):
    """A listener stands in for the attacker's host: the next run must not connect to it, with or without the
    secret-bearing template the plan names, and its results are the plain path's."""
    import socket

    first, _ = run(duck)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        forge(duck, f"postgresql://${{SENTINEL_TEST_SECRET}}@127.0.0.1:{port}/test", rebind)
        doc, err = run(duck, env={"SENTINEL_TEST_SECRET": "user:hunter2"})
        time.sleep(0.2)  # a connection the scan thread attempted has reached the listener's queue by now
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert results(doc) == results(first)
    assert hits(err) == 0


def test_plans_hold_no_labels_from_the_data_and_are_private(project):
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute(
        "CREATE TABLE deals AS SELECT range AS id, 'label-' || md5((range % 20)::VARCHAR) AS owner, "
        "(100 + range % 7) * (CASE WHEN range % 20 = 3 THEN 1000 ELSE 1 END) AS amount FROM range(1, 5001)"
    )
    labels = [r[0] for r in con.execute("SELECT DISTINCT owner FROM deals").fetchall()]
    con.close()
    project.duckdb(
        """
        - magnitude: {column: amount, group_by: [owner]}
        - subschema: {value_column: amount, category_column: owner}
        """
    )
    run(project)
    path = project.root / ".sentinel" / "scan-plans.json"
    text = path.read_text()
    assert json.loads(text)["datasets"]["deals"]["sql"]  # the statements without labels are still recorded
    assert not [label for label in labels if label in text]
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)  # an existing world-readable file is replaced by a private one
    run(project)
    assert path.stat().st_mode & 0o777 == 0o600


def test_plans_stay_small_with_many_categories_and_long_statements(project):
    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute(
        "CREATE TABLE deals AS SELECT range AS id, range % 10000 AS code, 'c' || (range % 10000) AS category, "
        "1.0 + range % 13 AS amount FROM range(1, 50001)"
    )
    con.close()
    allowed = ", ".join(str(i) for i in range(60_000))  # a long statement from the config itself
    project.duckdb(
        f"""
        - subschema: {{value_column: amount, category_column: category}}
        - expect: {{type: expect_column_values_to_be_in_set, kwargs: {{column: code, value_set: [{allowed}]}}}}
        """
    )
    run(project)
    path = project.root / ".sentinel" / "scan-plans.json"
    assert not path.exists() or path.stat().st_size < 64 * 1024


def test_a_local_duckdb_plan_is_followed_only_for_a_url_the_config_names(tmp_path):
    """DuckDB plans skip the YAML parse only for a local file that config.yaml names as a source's url:
    a commented-out URL, a prefix of one, or anything with a host or ${VAR} does not qualify."""
    from sentinel.prefetch import _LOCAL_DUCKDB, _named_url

    config = tmp_path / "config.yaml"
    config.write_text(
        '# url: duckdb:///old.duckdb\nsources:\n  wh: {type: sql, url: "duckdb:///wh.duckdb"}\n'
        "  w2:\n    type: sql\n    url: duckdb:///w2.duckdb?threads=2  # tuned\n"
    )
    assert _named_url(config, "duckdb:///wh.duckdb") and _named_url(config, "duckdb:///w2.duckdb?threads=2")
    assert not _named_url(config, "duckdb:///old.duckdb") and not _named_url(config, "duckdb:///wh.duck")
    assert not _named_url(config, "duckdb:///w2.duckdb")
    assert not _LOCAL_DUCKDB.fullmatch("duckdb:///md:db") and not _LOCAL_DUCKDB.fullmatch("duckdb:///${HOME}/x")
