"""Files (Parquet/CSV through DuckDB) and Iceberg (pyiceberg SqlCatalog, main and a branch) sources,
GX suites, and the GX long tail on a DuckDB-backed source."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import by_check

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def deals_table(amounts: list[float]) -> pa.Table:
    n = len(amounts)
    return pa.table(
        {
            "id": list(range(1, n + 1)),
            "amount": amounts,
            "currency": ["USD"] * n,
            "updated_at": [NOW - dt.timedelta(hours=i) for i in range(n)],
        }
    )


CHECKS = """
datasets:
  - name: deals
    source: {source}
    table: {table}
    key: id
    checks:
      - not_empty: {{}}
      - freshness: {{column: updated_at, max_age: 1d}}
      - expect:
          type: expect_column_values_to_be_between
          kwargs: {{column: amount, min_value: 0, max_value: 5000000}}
      - expect:
          type: expect_column_value_lengths_to_be_between
          kwargs: {{column: currency, min_value: 3, max_value: 3}}
          engine: gx  # native too since issue 13: GX itself is what this source must feed
"""


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_files_source(project, fmt):
    data = project.root / "data"
    data.mkdir()
    table = deals_table([100.0, 2e7, 300.0])
    if fmt == "parquet":
        pq.write_table(table, data / "deals.parquet")
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, data / "deals.csv")
    project.config("files: {type: files, root: data}")
    project.write("checks/deals.yaml", CHECKS.format(source="files", table=f"deals.{fmt}"))
    code, doc = project.run_json()
    res = by_check(doc)
    assert res["not_empty"]["observed"] == 3
    assert res["freshness"]["status"] == "pass"
    assert res["expect_column_values_to_be_between(amount)"]["evidence"]["rows"]["items"] == [{"key": 2, "value": 2e7}]
    # a long-tail expectation runs through GX (pandas, only the named columns) on a DuckDB-backed source
    assert res["expect_column_value_lengths_to_be_between(currency)"]["status"] == "pass"
    assert code == 1


def test_files_source_missing_file(project):
    project.config("files: {type: files, root: data}")
    project.write("checks/deals.yaml", CHECKS.format(source="files", table="nope/*.parquet"))
    code, doc = project.run_json()
    assert code == 3 and {r["diagnosis"]["cause"] for r in doc["results"]} == {"missing_table"}


def test_iceberg_main_and_branch(project):
    from pyiceberg.catalog.sql import SqlCatalog

    lake = project.root / "lake"
    lake.mkdir()
    cat = SqlCatalog("sentinel", uri=f"sqlite:///{project.root}/catalog.db", warehouse=f"file://{lake}")
    cat.create_namespace("crm")
    t = cat.create_table("crm.deals", schema=deals_table([1.0]).schema)
    t.append(deals_table([100.0, 200.0, 300.0]))
    t.manage_snapshots().create_branch(snapshot_id=t.current_snapshot().snapshot_id, branch_name="fix").commit()
    t = cat.load_table("crm.deals")
    t.append(deals_table([9e9]), branch="fix")  # only the branch has the bad row

    for branch, expected_rows, status in (("main", 3, "pass"), ("fix", 4, "fail")):
        project.config(f"""
            lake:
              type: iceberg
              branch: {branch}
              catalog: {{uri: "sqlite:///catalog.db", warehouse: "file://lake"}}
            """)
        project.write("checks/deals.yaml", CHECKS.format(source="lake", table="crm.deals"))
        _, doc = project.run_json()
        res = by_check(doc)
        assert res["not_empty"]["observed"] == expected_rows
        assert res["expect_column_values_to_be_between(amount)"]["status"] == status


def test_expect_suite_file(project, tmp_path):
    import duckdb

    con = duckdb.connect(str(project.root / "wh.duckdb"))
    con.execute("CREATE TABLE deals AS SELECT range AS id, range * 10.0 AS amount FROM range(1, 21)")
    con.close()
    project.write(
        "suites/deals.json",
        json.dumps(
            {
                "name": "deals",
                "expectations": [
                    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
                    {"type": "expect_column_max_to_be_between", "kwargs": {"column": "amount", "max_value": 100}},
                ],
            }
        ),
    )
    project.config('wh: {type: sql, url: "duckdb:///wh.duckdb"}')
    project.write(
        "checks/deals.yaml",
        """
        datasets:
          - {name: deals, source: wh, table: deals, key: id, checks: [{expect_suite: suites/deals.json}]}
        """,
    )
    code, doc = project.run_json()
    res = by_check(doc)
    assert res["deals:expect_table_row_count_to_be_between"]["status"] == "pass"
    assert res["deals:expect_column_max_to_be_between(amount)"]["observed"] == 200
    assert code == 1
    project.write("suites/deals.json", json.dumps({"expectations": [{"type": "expect_nothing", "kwargs": {}}]}))
    bad = project.cli("validate")
    assert bad.exit_code == 2 and "expectations[0]: unknown expectation 'expect_nothing'" in bad.stderr
