"""`type: spark` with a `databricks://` URL, through the real databricks-sql-connector, against a fake Databricks
SQL warehouse on 127.0.0.1 (tests/fakes/databricks_warehouse.py: Thrift over HTTPS, statements run on the
session's Spark Connect server). The same suite on the same table through Spark Connect gives the same results;
the token goes only where it is configured to; a warehouse that is down is an `error` with nothing lost."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from conftest import Project, by_check
from test_spark_differential import events, same

TOKEN = "dapi-fake/7+q@x:y"  # URL-special characters: percent-encoded into the URL, decoded for the connector
QUOTED = 'O\'Brien "the" \\ rep'  # an expectation's value: a quote, a double quote and a backslash
CHECKS = [
    "- not_empty: {}",
    "- freshness: {column: ts, max_age: 1h}",
    "- schema: {}",
    "- expect: {type: expect_column_values_to_not_be_in_set, kwargs: {column: currency, value_set: [%s]}}"
    % ("'" + QUOTED.replace("'", "''") + "'"),  # YAML single quotes: two quotes are one, a backslash is itself
    "- volume: {timestamp_column: ts}",
    "- magnitude: {column: amount, unit_column: currency}",
]


@pytest.fixture
def warehouse(spark_schema, tmp_path, monkeypatch):
    """(fake warehouse, Spark server, schema); the connector trusts the fake's certificate (SSL_CERT_FILE, which
    Python's default TLS context reads) and DATABRICKS_TOKEN is set."""
    server, schema = spark_schema  # skipped (failed under CI=true) without Java or the spark extra
    from fakes.databricks_warehouse import databricks_warehouse  # the connector's Thrift code: the spark extra

    with databricks_warehouse(server.url, TOKEN, tmp_path) as wh:
        monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
        monkeypatch.setenv("SSL_CERT_FILE", str(wh.ca_file))
        yield wh, server, schema


def write(project: Project, url: str, schema: str, checks: list[str] = CHECKS) -> None:
    project.config(f'wh: {{type: spark, url: "{url}"}}', "fx_rates: {JPY: 150.0}\n")
    body = f"datasets:\n  - name: ev\n    source: wh\n    table: {schema}.ev\n    key: id\n    checks:\n"
    project.write("checks/ev.yaml", body + "".join(f"      {line}\n" for line in checks))


def dbx_url(wh) -> str:
    return f"databricks://token:${{DATABRICKS_TOKEN}}@{wh.host}?http_path={wh.http_path}"


def test_warehouse_gives_spark_connects_results(tmp_path, warehouse):
    wh, server, schema = warehouse
    server.load(f"{schema}.ev", events(3))
    (tmp_path / "sc").mkdir()
    (tmp_path / "dbx").mkdir()
    sc, dbx = Project(tmp_path / "sc"), Project(tmp_path / "dbx")
    write(sc, server.url, schema)
    write(dbx, dbx_url(wh), schema)
    s_code, s_doc = sc.run_json()
    d_code, d_doc = dbx.run_json()
    assert d_code == s_code == 1, d_doc

    s_res, d_res = by_check(s_doc), by_check(d_doc)
    assert set(s_res) == set(d_res) and len(d_res) == len(CHECKS), d_res
    assert {r["status"] for r in d_res.values()} >= {"pass", "fail"}, d_res
    assert d_res["volume"]["status"] == "fail" and d_res["magnitude(amount)"]["status"] != "pass", d_res
    diffs = []
    for check, s in s_res.items():
        d = d_res[check]
        if s["kind"] == "freshness":  # the age is measured at each run's own time
            for r in (s, d):
                r["observed"].pop("age")
                r["diagnosis"]["message"] = r["diagnosis"]["message"].split(" UTC, ")[0]
        for field in ("status", "severity", "diagnosis", "observed", "expected", "evidence"):
            diffs += same(s[field], d[field], f"{check}.{field}")
    assert not diffs, "\n".join(diffs)

    # the statements went through the connector to the warehouse, the quoted value bound as a parameter
    assert wh.calls[0] == "OpenSession" and wh.calls[-1] == "CloseSession", wh.calls
    assert {"ExecuteStatement", "GetOperationStatus", "FetchResults", "CloseOperation"} <= set(wh.calls)
    assert any(QUOTED in args.values() for _, args in wh.statements), wh.statements
    assert not any(QUOTED in sql for sql, _ in wh.statements)
    # the token: sent as configured, never anywhere else (no telemetry, no other path), never in output or store
    assert set(wh.tokens) == {TOKEN} and wh.other_paths == []
    # telemetry off: the connector never asked for its feature flags (they would go to https://HOST:443)
    from databricks.sql.common.feature_flag import FeatureFlagsContextFactory

    assert not any(wh.host.split(":")[0] in str(key) for key in FeatureFlagsContextFactory._context_map)
    stored = (tmp_path / "dbx" / "state.db").read_bytes()
    for text in (TOKEN, "dapi-fake"):
        assert text not in str(d_doc) and text.encode() not in stored


def test_a_missing_table_on_the_warehouse_is_its_cause(project, warehouse):
    wh, _server, schema = warehouse
    write(project, dbx_url(wh), schema, CHECKS[:3])
    code, doc = project.run_json()
    assert code == 3, doc
    assert {r["status"] for r in doc["results"]} == {"error"}, doc
    assert {r["diagnosis"]["cause"] for r in doc["results"]} == {"missing_table"}, doc
    assert doc["incidents"] == []


def test_gx_long_tail_reads_the_named_columns_from_the_warehouse(project, warehouse):
    """No Spark session to hand GX on a warehouse: the columns it names come back as Arrow, into pandas."""
    wh, server, schema = warehouse
    data = events(5)
    server.load(f"{schema}.ev", data)
    unique = "- expect: {type: expect_column_proportion_of_unique_values_to_be_between, kwargs: {column: product, "
    write(project, dbx_url(wh), schema, [unique + "min_value: 0.5}, engine: gx}"])
    code, doc = project.run_json()
    (res,) = doc["results"]
    assert code == 1 and res["status"] == "fail", res
    assert res["observed"] == len(set(data["product"].to_pylist())) / data.num_rows, res
    assert any(re.match(r"SELECT \S+\.id, \S+\.product\s+FROM", sql) for sql, _ in wh.statements), wh.statements


def test_a_refused_token_is_a_permission_error_that_does_not_show_it(project, warehouse, monkeypatch):
    wh, _server, schema = warehouse
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    write(project, dbx_url(wh), schema, CHECKS[:1])
    code, doc = project.run_json()
    (res,) = doc["results"]
    assert code == 3 and res["status"] == "error", doc
    assert res["diagnosis"]["cause"] == "permission", res
    assert "HTTP 401" in res["diagnosis"]["message"] and "Invalid access token" in res["diagnosis"]["message"], res
    assert "dapi-wrong" not in str(doc) and wh.tokens == ["dapi-wrong"]


def test_a_warehouse_that_is_down_is_an_error_and_nothing_is_lost(project, warehouse):
    wh, server, schema = warehouse
    server.load(f"{schema}.ev", events(4))
    write(project, dbx_url(wh), schema, CHECKS[:3])
    wh.stop()
    code, doc = project.run_json()
    assert code == 3, doc
    assert {r["status"] for r in doc["results"]} == {"error"}, doc
    for r in doc["results"]:
        assert r["diagnosis"]["cause"] == "unreachable", r
        assert re.search(rf"127\.0\.0\.1.*{wh.port}|refused|connect", r["diagnosis"]["message"], re.I), r
        assert TOKEN not in r["diagnosis"]["message"]
    engine = sa.create_engine(f"sqlite:///{project.root / 'state.db'}")
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT check_name, status FROM results")).all())
        runs = conn.execute(sa.text("SELECT count(*) FROM runs")).scalar()
    engine.dispose()
    assert stored == {"not_empty": "error", "freshness": "error", "schema": "error"} and runs == 1
