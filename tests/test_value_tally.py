"""`expect`'s unexpected-value counts tallied from the flagged rows it already fetched (checks/expect.py
`_tally`) are the ones the database's GROUP BY query returns, in its order, on DuckDB, SQLite and PostgreSQL:
ties ordered by value (text by code point, DECIMALs by number, not as strings), capped evidence left to the
query."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from sentinel.checks.common import Context
from sentinel.checks.expect import _tally, _value_counts
from sentinel.sources.sql import open as open_sql

# (id, label, price, day): ties in every column, text differing in case and accent, decimals whose strings sort
# otherwise than their numbers ("10.00" < "9.50")
ROWS = [
    (1, "b", Decimal("9.50"), dt.date(2026, 3, 1)),
    (2, "B", Decimal("10.00"), dt.date(2026, 1, 5)),
    (3, "é", Decimal("9.50"), dt.date(2026, 3, 1)),
    (4, "a", Decimal("10.00"), dt.date(2025, 12, 31)),
    (5, "Z", Decimal("100.25"), dt.date(2026, 1, 5)),
    (6, "b", Decimal("-3.10"), dt.date(2026, 2, 2)),
    (7, "OK", Decimal("0.00"), dt.date(2000, 1, 1)),
    (8, "a", Decimal("10.00"), dt.date(2026, 2, 2)),
    (9, "e", Decimal("2.00"), dt.date(2025, 12, 31)),
    (10, "OK", Decimal("0.00"), dt.date(2000, 1, 1)),
]


@pytest.fixture
def ctx(wh):
    wh.execute("CREATE TABLE t (id INTEGER, label VARCHAR(20), price DECIMAL(12, 2), day DATE)")
    values = ", ".join(f"({i}, '{label}', {price}, '{day}')" for i, label, price, day in ROWS)  # our constants
    wh.execute(f"INSERT INTO t VALUES {values}")

    class Source:
        url, connect_timeout = wh.url, dt.timedelta(seconds=5)

    class Cfg:
        @staticmethod
        def url(value, _where):
            return value

    source = open_sql("wh", Source, Cfg)
    columns = source.describe("t")
    table = sa.table("t", *[sa.column(c) for c in columns])
    yield Context("t", "id", source, table, columns, dt.datetime.now(dt.UTC), 1000)
    source.close()


def unexpected(ctx, name, ok):
    col = ctx.table.c[name]
    return col, sa.and_(col.is_not(None), col.not_in([ok]))


@pytest.mark.parametrize(
    "name, ok", [("label", "OK"), ("price", Decimal("0.00")), ("day", dt.date(2000, 1, 1)), ("id", 7)]
)
def test_tally_is_the_query(ctx, name, ok):
    col, where = unexpected(ctx, name, ok)
    rows = ctx.flagged_rows(where, col, 8 if name != "id" else 9)
    assert rows["omitted"] == 0 and len(rows["items"]) == rows["count"]
    queried = _value_counts(ctx, col, where)
    assert _value_counts(ctx, col, where, rows) == queried
    assert sum(i["count"] for i in queried["items"]) == rows["count"] and queried["omitted"] == 0
    tallied = _tally(ctx, col, rows)
    if name == "label" and ctx.source.dialect == "postgresql":
        assert tallied is None  # a collation orders text there: the database is asked
    else:
        assert tallied == queried


def test_the_expected_order(ctx):
    """Most frequent first; ties by number, not by the decimal strings evidence carries ("10.00" < "9.50")."""
    col, where = unexpected(ctx, "price", Decimal("0.00"))
    got = _value_counts(ctx, col, where, ctx.flagged_rows(where, col, 8))
    assert [(Decimal(str(i["value"])), i["count"]) for i in got["items"]] == [
        (Decimal("10"), 3),
        (Decimal("9.5"), 2),
        (Decimal("-3.1"), 1),
        (Decimal("2"), 1),
        (Decimal("100.25"), 1),
    ]


def test_capped_rows_leave_the_counts_to_the_query(ctx):
    """With the flagged rows capped, the tally could not be exact: the query answers, with every value."""
    col, where = unexpected(ctx, "label", "OK")
    capped_ctx = Context(ctx.dataset_name, ctx.key, ctx.source, ctx.table, ctx.columns, ctx.now, 3)
    rows = capped_ctx.flagged_rows(where, col, 8)
    assert rows["omitted"] == 5 and _tally(capped_ctx, col, rows) is None
    got = _value_counts(ctx, col, where, rows)
    assert got["count"] == 6 and sum(i["count"] for i in got["items"]) == 8


def test_counts_that_do_not_tie_give_the_order_on_every_backend(ctx):
    """b twice, Z once: the counts alone order them, so PostgreSQL's text is tallied too (no extra scan)."""
    col = ctx.table.c["label"]
    where = col.in_(["b", "Z"])
    rows = ctx.flagged_rows(where, col, 3)
    tallied = _tally(ctx, col, rows)
    assert tallied is not None and tallied == _value_counts(ctx, col, where)
    assert [(i["value"], i["count"]) for i in tallied["items"]] == [("b", 2), ("Z", 1)]


@pytest.mark.parametrize("wh", ["postgresql"], indirect=True)  # column collations are PostgreSQL's here
def test_a_column_collation_of_its_own_leaves_the_counts_to_the_query(ctx, wh):
    """A column's own collation may group values Python tells apart (a case-insensitive one groups b and B):
    only the database can count them."""
    wh.execute('CREATE TABLE tc (id INTEGER, label TEXT COLLATE "C")')
    wh.execute("INSERT INTO tc VALUES (1, 'b'), (2, 'b'), (3, 'Z')")
    columns = ctx.source.describe("tc")
    table = sa.table("tc", *[sa.column(c) for c in columns])
    here = Context("tc", "id", ctx.source, table, columns, ctx.now, 1000)
    col = table.c["label"]
    rows = here.flagged_rows(col.is_not(None), col, 3)
    assert "COLLATE" in columns["label"].type and _tally(here, col, rows) is None
    assert _value_counts(here, col, col.is_not(None), rows)["items"] == [
        {"value": "b", "count": 2},
        {"value": "Z", "count": 1},
    ]
