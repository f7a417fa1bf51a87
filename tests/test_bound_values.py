"""Statements with more bound values than drivers accept go as literal SQL (sources/base.py MAX_PARAMS): an
IN list counts one value per element, so a 70,000-value `value_set` and `history_by`'s list of changed
buckets are measured instead of failing ("number of parameters must be between 0 and 65535")."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from conftest import by_check

from sentinel.checks.common import Context
from sentinel.checks.history import MemorySnapshots, compare, digest_of
from sentinel.checks.sqlstats import key_hash
from sentinel.sources.base import MAX_PARAMS, SqlSource

SET_SIZE = 70_000


@pytest.mark.parametrize("wh", ["postgresql", "sqlite"], indirect=True)
def test_a_70000_value_set_is_measured(project, wh):
    """Through a GX suite file, where a list that long is kept (read as JSON; 70,000 YAML items take PyYAML's
    pure-Python loader about 5 s). The expectations run natively, exactly as under `expect:`."""
    wh.deals([(i, "ann", 10.0 * i, "JPY" if i in (4, 9) else "USD", None) for i in range(1, 31)])
    others = [f"C{i:05d}" for i in range(SET_SIZE - 1)]
    suite = {
        "expectations": [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "currency", "value_set": ["USD", *others]},
            },
            {
                "type": "expect_column_values_to_not_be_in_set",
                "kwargs": {"column": "currency", "value_set": [*others, "JPY"]},
            },
        ]
    }
    project.write("suites/currency.json", json.dumps(suite))
    project.dataset(wh, "- expect_suite: suites/currency.json")
    code, doc = project.run_json()
    checks = by_check(doc)
    assert len(checks) == 2
    for r in checks.values():
        assert r["status"] == "fail", r["diagnosis"]
        assert r["evidence"]["rows"]["items"] == [{"key": 4, "value": "JPY"}, {"key": 9, "value": "JPY"}]
        assert r["observed"]["unexpected_count"] == 2
    assert code == 1


def test_in_lists_count_each_value():
    from sentinel.sources.base import bound_values

    dialect = sa.create_engine("postgresql+psycopg://").dialect
    t = sa.table("t", sa.column("a"), sa.column("b"))
    assert bound_values(sa.select(t).where(t.c.a.in_(range(5)), t.c.b == 1).compile(dialect=dialect)) == 6
    pairs = sa.tuple_(t.c.a, t.c.b).in_([(1, 2), (3, 4)])
    assert bound_values(sa.select(t).where(pairs).compile(dialect=dialect)) == 4


def test_history_by_compares_past_the_protocol_limit(pg_schema):
    """65,536 buckets (a table past 4M rows), all but one changed: the fetch's IN list holds 65,535 bucket
    numbers, which with the statement's own values overflowed PostgreSQL's 65,535. The table here holds one
    key per bucket (picked in the database by the same hash), and `rows` says the table is that large."""
    url, schema, engine = pg_schema
    buckets = 65_536
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f'CREATE TABLE "{schema}".deals AS SELECT DISTINCT ON (b) g AS id, 1.0 * g AS amount FROM '
                f"(SELECT g, abs(hashtextextended(g::text, 0) % {buckets}) AS b FROM generate_series(1, 700000) g) s "
                "ORDER BY b, g"
            )
        )
        assert conn.exec_driver_sql(f'SELECT count(*) FROM "{schema}".deals').scalar() == buckets
    source = SqlSource("wh", sa.create_engine(url))
    try:
        columns = source.describe("deals")
        table = sa.table("deals", *[sa.column(c) for c in columns])
        ctx = Context("deals", "id", source, table, columns, dt.datetime.now(dt.UTC), 1000)

        bucket = key_hash("postgresql", table.c.id, buckets)
        one, digest = source.execute(
            sa.select(bucket, digest_of("postgresql", table.c.id, table.c.amount)).group_by(bucket).limit(1)
        )[0]
        # the stored digests hold one bucket as it is: the other 65,535 are listed, fetched and compared
        stale = MemorySnapshots(buckets=buckets, stored={one: digest})
        got = compare(ctx, stale, "amount", "id", 4_200_000, [], 3.5, set(), lambda n, s: s)
        assert got.note is None and got.update is not None and not got.update.reset
        assert len(got.update.digests) == buckets - 1 > MAX_PARAMS
        assert len(got.update.values) == buckets - 1
    finally:
        source.close()
