"""Every check kind on each SQL backend (DuckDB, SQLite, PostgreSQL), driven through `sentinel run --json`,
plus the bad inputs: missing table, NULL-only column, text given to a numeric check, unreachable database."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import by_check

NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def rows(n=50, *, age=dt.timedelta(hours=1)):
    cur = ["USD", "EUR"]
    return [
        (i, f"rep{i % 5}", 1000.0 + i * 10, cur[i % 2], NOW - age - dt.timedelta(minutes=i)) for i in range(1, n + 1)
    ]


CHECKS = """
datasets:
  - name: deals
    source: wh
    table: deals
    key: id
    checks:
      - not_empty: {}
      - freshness: {column: updated_at, max_age: 26h}
      - schema: {}
      - expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 5000000}}
      - expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD, EUR]}}
      - expect: {type: expect_column_values_to_not_be_null, kwargs: {column: owner}}
      - expect: {type: expect_column_values_to_be_unique, kwargs: {column: id}}
      - expect: {type: expect_column_mean_to_be_between, kwargs: {column: amount, min_value: 0, max_value: 100000}}
"""


def setup(project, wh):
    project.config(f'wh: {{type: sql, url: "{wh.url}"}}')
    project.write("checks/deals.yaml", CHECKS)


def test_clean_table_passes_everything(project, wh):
    wh.deals(rows())
    setup(project, wh)
    code, doc = project.run_json()
    assert code == 0, doc
    assert {r["status"] for r in doc["results"]} == {"pass"}
    res = by_check(doc)
    assert res["not_empty"]["observed"] == 50
    assert res["expect_column_mean_to_be_between(amount)"]["observed"] == pytest.approx(1255.0)
    assert doc["incidents"] == []


def test_failures_are_named_with_exact_evidence(project, wh):
    data = rows(60, age=dt.timedelta(days=3))
    data[4] = (5, "rep0", 10_000_000.0, "USD", data[4][4])  # fat finger
    data[7] = (8, None, -5.0, "JPY", data[7][4])
    data[9] = (10, "rep1", 20.0, "JPY", data[9][4])
    data[11] = (8, "rep2", 30.0, "KRW", data[11][4])  # duplicated id 8
    wh.deals(data)
    setup(project, wh)
    code, doc = project.run_json()
    assert code == 1
    res = by_check(doc)
    assert res["freshness"]["status"] == "fail" and res["freshness"]["diagnosis"]["cause"] == "stale"
    between = res["expect_column_values_to_be_between(amount)"]
    assert between["observed"]["unexpected_count"] == 2
    assert between["evidence"]["rows"] == {
        "count": 2,
        "omitted": 0,
        "items": [{"key": 5, "value": 10_000_000.0}, {"key": 8, "value": -5.0}],
    }
    in_set = res["expect_column_values_to_be_in_set(currency)"]
    assert in_set["observed"]["unexpected_count"] == 3
    assert in_set["evidence"]["values"]["items"] == [{"value": "JPY", "count": 2}, {"value": "KRW", "count": 1}]
    assert [r["key"] for r in in_set["evidence"]["rows"]["items"]] == [8, 8, 10]
    assert res["expect_column_values_to_not_be_null(owner)"]["evidence"]["rows"]["items"] == [{"key": 8}]
    unique = res["expect_column_values_to_be_unique(id)"]
    assert unique["observed"]["unexpected_count"] == 2 and unique["status"] == "fail"
    opened = {i["check"] for i in doc["incidents"] if i["change"] == "opened"}
    assert opened == {r["check"] for r in doc["results"] if r["status"] == "fail"}


def test_empty_table_fails_not_errors(project, wh):
    wh.deals([])
    setup(project, wh)
    code, doc = project.run_json()
    res = by_check(doc)
    assert code == 1
    assert res["not_empty"]["status"] == "fail" and res["not_empty"]["observed"] == 0
    assert res["freshness"]["diagnosis"]["cause"] == "no_data"
    # GX semantics: row-level expectations are vacuously true on an empty column; an aggregate has no value
    assert res["expect_column_values_to_be_between(amount)"]["status"] == "pass"
    assert res["expect_column_mean_to_be_between(amount)"]["status"] == "fail"


def test_schema_drift_against_the_accepted_snapshot(project, wh):
    wh.deals(rows())
    setup(project, wh)
    assert project.run_json()[0] == 0  # first run accepts the schema
    wh.execute("ALTER TABLE deals ADD COLUMN region VARCHAR(20)")
    code, doc = project.run_json("-d", "deals")
    schema = by_check(doc)["schema"]
    assert code == 1 and schema["status"] == "fail"
    assert schema["evidence"] == {"added": ["region"], "removed": [], "retyped": []}
    # resolving the incident accepts the new columns; the next run passes
    (inc,) = [i for i in doc["incidents"] if i["check"] == "schema"]
    assert project.cli("resolve", str(inc["id"]), "--note", "region is intended").exit_code == 0
    code, doc = project.run_json()
    assert by_check(doc)["schema"]["status"] == "pass"


def test_timestamps_stored_as_text(project, wh):
    text_rows = [(i, "a", 1.0, "USD", (NOW - dt.timedelta(hours=i)).isoformat(sep=" ")) for i in range(1, 5)]
    wh.deals(text_rows, ts_type="VARCHAR(40)")
    setup(project, wh)
    _, doc = project.run_json()
    fresh = by_check(doc)["freshness"]
    assert fresh["status"] == "pass", fresh
    assert fresh["observed"]["latest"].startswith((NOW - dt.timedelta(hours=1)).isoformat()[:16])


def test_missing_table_is_an_error_not_an_empty_table(project, wh):
    wh.execute("DROP TABLE IF EXISTS deals")
    wh.execute("CREATE TABLE other (x INTEGER)")
    setup(project, wh)
    code, doc = project.run_json()
    assert code == 3
    assert {r["status"] for r in doc["results"]} == {"error"}
    assert {r["diagnosis"]["cause"] for r in doc["results"]} == {"missing_table"}
    assert doc["incidents"] == []
    assert project.cli("incidents", "--json").stdout.strip() == "[]"


def test_text_column_given_to_numeric_check_and_null_column(project, wh):
    wh.deals([(i, None, None, "USD", NOW) for i in range(1, 6)])
    project.dataset(
        wh,
        """
        - expect: {type: expect_column_values_to_be_between, kwargs: {column: currency, min_value: 0}}
        - expect: {type: expect_column_max_to_be_between, kwargs: {column: amount, max_value: 10}}
        - expect: {type: expect_column_values_to_not_be_null, kwargs: {column: amount, mostly: 0.5}}
        - expect: {type: expect_column_values_to_be_between, kwargs: {column: missing_col, min_value: 0}}
        """,
    )
    code, doc = project.run_json()
    res = by_check(doc)
    wrong = res["expect_column_values_to_be_between(currency)"]
    assert wrong["status"] == "error" and "not numeric" in wrong["diagnosis"]["message"]
    assert res["expect_column_max_to_be_between(amount)"]["observed"] is None
    assert res["expect_column_max_to_be_between(amount)"]["status"] == "fail"
    nulls = res["expect_column_values_to_not_be_null(amount)"]
    assert nulls["observed"]["unexpected_count"] == 5 and nulls["status"] == "fail"
    assert res["expect_column_values_to_be_between(missing_col)"]["diagnosis"]["cause"] == "missing_column"
    assert code == 1  # failures found; the errors are listed too


def test_unreachable_database(project):
    project.config('wh: {type: sql, url: "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_timeout: 2s}')
    project.write("checks/deals.yaml", CHECKS)
    code, doc = project.run_json()
    assert code == 3
    assert {r["diagnosis"]["cause"] for r in doc["results"]} == {"unreachable"}
    assert doc["incidents"] == []


def test_permission_denied(project, pg_schema):
    url, schema, engine = pg_schema
    role = f"{schema}_ro"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE TABLE "{schema}".deals (id int, amount float8)')
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
    try:
        ro_url = url.replace("postgres@", f"{role}@")
        project.config(f'wh: {{type: sql, url: "{ro_url}"}}')
        project.write(
            "checks/deals.yaml",
            """
            datasets:
              - {name: deals, source: wh, table: deals, checks: [{not_empty: {}}]}
            """,
        )
        code, doc = project.run_json()
        assert code == 3
        (r,) = doc["results"]
        assert r["status"] == "error" and r["diagnosis"]["cause"] == "permission", r
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TABLE "{schema}".deals')
            conn.exec_driver_sql(f'REVOKE ALL ON SCHEMA "{schema}" FROM "{role}"')
            conn.exec_driver_sql(f'DROP ROLE "{role}"')


def test_missing_key_column_keeps_the_verdict(project, wh):
    wh.deals([(1, "a", -5.0, "USD", NOW), (2, "b", 10.0, "USD", NOW)])
    project.dataset(
        wh,
        """
        - expect: {type: expect_column_values_to_be_between, kwargs: {column: amount, min_value: 0}}
        """,
        key="deal_id",
    )
    code, doc = project.run_json()
    (r,) = doc["results"]
    assert code == 1 and r["status"] == "fail" and r["observed"]["unexpected_count"] == 1
    assert r["evidence"]["rows"]["count"] == 1 and "deal_id" in r["evidence"]["rows"]["note"]


def test_failed_statistics_say_what_was_measured(project, wh):
    """The sentence an incident (and the owner's message) carries names the statistic, its value and the range."""
    wh.deals(rows())  # amounts 1,010 .. 1,500; 50 rows
    project.dataset(
        wh,
        """
        - expect: {type: expect_column_mean_to_be_between, kwargs: {column: amount, max_value: 1000}}
        - expect: {type: expect_column_max_to_be_between, kwargs: {column: amount, max_value: 1200, strict_max: true}}
        - expect: {type: expect_column_median_to_be_between, kwargs: {column: amount, min_value: 2000}}
        - expect:
            type: expect_column_quantile_values_to_be_between
            kwargs: {column: amount, quantile_ranges: {quantiles: [0.1, 0.9], value_ranges: [[0, 2000], [null, 1100]]}}
        - expect: {type: expect_table_row_count_to_equal, kwargs: {value: 1000}}
        - expect: {type: expect_table_columns_to_match_set, kwargs: {column_set: [id, amount, region]}}
        - expect: {type: expect_column_to_exist, kwargs: {column: region}}
        """,
    )
    code, doc = project.run_json()
    messages = {r["check"]: r["diagnosis"]["message"] for r in doc["results"]}
    assert code == 1 and {r["status"] for r in doc["results"]} == {"fail"}
    assert messages == {
        "expect_column_mean_to_be_between(amount)": "mean of amount is 1,255, outside [-inf, 1000]",
        "expect_column_max_to_be_between(amount)": "max of amount is 1,500, outside [-inf, 1200)",
        "expect_column_median_to_be_between(amount)": "median of amount is 1,255, outside [2000, inf]",
        "expect_column_quantile_values_to_be_between(amount)": "amount: q0.9 = 1,450, outside [-inf, 1100]",
        "expect_table_row_count_to_equal": "50 rows, expected 1,000",
        "expect_table_columns_to_match_set": "columns missing region; not in the set: currency, owner, updated_at",
        "expect_column_to_exist(region)": "column 'region' does not exist",
    }
