"""`type: spark` on a real Spark Connect server (tests/spark_server.py): every check kind that runs there,
driven through `sentinel run --json`, and the bad inputs: a missing table, a text column given to a numeric
check, an unreachable server, a session that dies mid-run."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from conftest import by_check

NOW = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def deals(n=50, *, age=dt.timedelta(hours=1)) -> pa.Table:
    ids = list(range(1, n + 1))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "owner": [f"rep{i % 5}" for i in ids],
            "amount": [1000.0 + i * 10 for i in ids],
            "currency": [("USD", "EUR")[i % 2] for i in ids],
            "updated_at": pa.array([NOW - age - dt.timedelta(minutes=i) for i in ids], pa.timestamp("us")),
        }
    )


def setup(project, server, schema: str, checks: str, table: str = "deals") -> None:
    project.config(f'lake: {{type: spark, url: "{server.url}"}}')
    project.write(
        f"checks/{table}.yaml",
        f"datasets:\n  - name: {table}\n    source: lake\n    table: {schema}.{table}\n    key: id\n    checks:\n"
        + "".join(f"      {line}\n" for line in checks.strip().splitlines()),
    )


BASIC = """
- not_empty: {}
- freshness: {column: updated_at, max_age: 26h}
- schema: {}
"""


def test_not_empty_freshness_schema_pass_on_a_clean_table(project, spark_schema):
    server, schema = spark_schema
    server.load(f"{schema}.deals", deals())
    setup(project, server, schema, BASIC)
    code, doc = project.run_json()
    res = by_check(doc)
    assert code == 0, doc
    assert {r["status"] for r in doc["results"]} == {"pass"}, doc
    assert res["not_empty"]["observed"] == 50
    latest = dt.datetime.fromisoformat(res["freshness"]["observed"]["latest"])
    assert latest == (NOW - dt.timedelta(hours=1, minutes=1)).replace(tzinfo=dt.UTC)
