"""magnitude's references computed in Python from the fetched sample (`fetched_stats`, how Spark runs them:
sqlstats.REFERENCES_FETCHED) are the reference statement's own, to the last bit, on DuckDB and a real Spark:
each group's median, MAD and 0.90 quantile of |deviation|, its unit's (or the table's), the sample's 0.90 and
0.99 quantiles of |z|, in the statement's order. (Not PostgreSQL: SQLAlchemy casts a true division's divisor
to NUMERIC there, so its |z| are decimals.) The table has what the statement must get right: ties, a group
below MIN_GROUP (borrows its unit's reference), a NULL group, labels converted at an fx rate and one judged
within its own rows, and a group large enough to be sampled."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pyarrow as pa
import pytest
import sqlalchemy as sa

from sentinel.checks import magnitude, sqlstats, subschema
from sentinel.checks.common import Context
from sentinel.checks.sqlstats import (
    COUNTS_FIRST,
    SAMPLE_TOTAL,
    counted,
    fetch_sample,
    fetchable,
    group_key,
    log10_abs,
    sampled,
)
from sentinel.checks.subschema import fetched_modes
from sentinel.sources.base import SqlSource

OWNERS = {"big": SAMPLE_TOTAL + 30_000, "mid": 2_500, "few": 12, None: 40, "é,ü": 300, "flat": 60}


def rows(seed: int = 7) -> pa.Table:
    rnd = random.Random(seed)
    out = []
    for owner, n in OWNERS.items():
        for _ in range(n):
            currency = rnd.choices(["USD", "JPY", "EUR", None], [90, 5, 4, 1])[0]
            amount = round(rnd.lognormvariate(8, 1.2), rnd.choice([0, 2]))  # rounded: many ties
            if owner == "flat":  # one value: a MAD of 0 (magnitude's spread floor, subschema's least edge)
                amount, currency = 1000.0, "USD"
            if currency == "JPY":
                amount = round(amount * 150)
            if rnd.random() < 0.0005:
                amount *= 10_000  # a slip magnitude flags
            out.append((len(out) + 1, owner, amount * rnd.choice([1, 1, 1, -1]), currency))
    ids, owners, amounts, currencies = zip(*out, strict=True)
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "owner": pa.array(owners, pa.string()),
            "amount": pa.array(amounts, pa.float64()),
            "currency": pa.array(currencies, pa.string()),
        }
    )


@pytest.fixture(params=["duckdb", "spark"])
def deals(request, tmp_path):
    """(SqlSource, table name) of the same `deals` on each backend."""
    data = rows()
    if request.param == "duckdb":
        import duckdb

        path = tmp_path / "wh.duckdb"
        con = duckdb.connect(str(path))
        con.register("data", data)
        con.execute("CREATE TABLE deals AS SELECT * FROM data")
        con.close()
        source, table = SqlSource("wh", sa.create_engine(f"duckdb:///{path}")), "deals"
    else:
        from sentinel.sources.spark import engine_for

        server, schema = request.getfixturevalue("spark_schema")
        server.load(f"{schema}.deals", data)
        source, table = SqlSource("wh", engine_for(server.url)), f"{schema}.deals"
    yield source, table
    source.close()


def context(source: SqlSource, name: str) -> Context:
    columns = source.describe(name)
    table = source.table(name)
    table = sa.table(table.name, *[sa.column(c) for c in columns], schema=table.schema)
    return Context("deals", "id", source, table, columns, dt.datetime.now(dt.UTC), 1000, fx_rates={"JPY": 150.0})


@pytest.mark.parametrize(
    "params",
    [
        {"column": "amount"},
        {"column": "amount", "group_by": ["owner"]},
        {"column": "amount", "group_by": ["owner"], "unit_column": "currency"},
    ],
    ids=["table", "owner", "owner+unit"],
)
def test_fetched_references_are_the_statements(deals, params):
    source, name = deals
    ctx = context(source, name)
    p = magnitude.Params(**params)
    sc = magnitude.scoring(ctx, p)
    if ctx.dialect in COUNTS_FIRST:  # as the check runs it there
        sc = magnitude.scoring(ctx, p, frozenset(), [tuple(r) for r in source.execute(sc.counts)])
    in_sql = [dict(r._mapping) for r in source.execute(magnitude.stats(sc, None, ctx.dialect))]
    fetched = magnitude.fetched_stats(sc, source.execute_arrow(magnitude.sample_rows(sc)), ctx.dialect)
    assert len(in_sql) >= (5 if p.group_by else 1)
    assert any(r["n"] < magnitude.MIN_GROUP for r in in_sql) == bool(p.group_by)  # a group borrows its unit's
    assert max(r["group_rows"] for r in in_sql) > max(r["n"] for r in in_sql)  # a group was sampled
    assert [{k: (int(v) if k in ("n", "n0", "group_rows") else v) for k, v in r.items()} for r in in_sql] == fetched


CHECKS = [
    "- magnitude: {column: amount, group_by: [owner], unit_column: currency}",
    "- subschema: {value_column: amount, category_column: currency}",
    "- subschema: {value_column: amount, category_column: currency, group_by: [owner]}\n  name: peers",
]


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_a_run_with_fetched_references_is_the_same_run(backend, tmp_path, request, monkeypatch):
    """Every result of magnitude and subschema (main modes, mixed-currency offsets, flagged rows) is the same
    whether their references are computed in the statement or from the fetched sample, on DuckDB (fetching
    turned on here) and on Spark (turned off here). subschema's one-pass offsets run on DuckDB too."""
    from backends import deals_table
    from conftest import Project

    project = Project(tmp_path)
    deals_table(backend, rows(), "\n".join(CHECKS), project, request)
    config = project.root / "config.yaml"
    config.write_text(config.read_text() + "fx_rates: {JPY: 150.0}\n")
    monkeypatch.setattr(subschema, "ONE_PASS", ("duckdb", "spark"))
    docs = []
    for fetched in (("duckdb", "spark"), ()):
        monkeypatch.setattr(magnitude, "REFERENCES_FETCHED", fetched)
        monkeypatch.setattr(subschema, "REFERENCES_FETCHED", fetched)
        code, doc = project.run_json()
        assert code in (0, 1) and "results" in doc, doc
        docs.append(
            {
                r["check"]: {k: r[k] for k in ("status", "observed", "expected", "evidence", "diagnosis")}
                for r in doc["results"]
            }
        )
    assert docs[0] == docs[1]
    assert docs[0]["magnitude(amount)"]["observed"]["flagged"] > 50, docs[0]  # the x10,000 rows
    for name in ("subschema(amount)", "peers"):  # the yen rows: mixed currencies (warn)
        assert docs[0][name]["status"] == "warn" and "JPY" in docs[0][name]["diagnosis"]["message"], docs[0]


def test_only_a_bounded_sample_is_fetched():
    """A sample is fetched only while the group counts bound it: up to 100 groups it is about SAMPLE_TOTAL rows
    whatever the table's size; past that each group keeps SAMPLE rows and the sample grows with the table."""
    assert fetchable(None)  # one group: at most SAMPLE_TOTAL rows
    assert fetchable([(f"rep{i}", 103_093) for i in range(97)])  # the bench's owners: 97 x 2,061 rows
    assert fetchable([("big", 10**9), *[(f"small{i}", 10) for i in range(99)]])
    assert not fetchable([(f"g{i}", 5_000) for i in range(1_000)])  # 1,000 x 2,000 = 2M rows
    assert fetchable([(f"g{i}", 300) for i in range(1_000)])  # taken whole: 300,000 rows
    assert not fetchable([(f"g{i}", 450) for i in range(1_000)])  # 450,000


@pytest.mark.parametrize("by", ["currency", "owner"])
def test_fetched_modes_are_the_statements(deals, by):
    """subschema's main modes from the fetched sample against `mode_stats`, bit for bit: each label's median,
    MAD and body quartiles, and by currency with its mixed-currency offsets (one pass) and without."""
    source, name = deals
    ctx = context(source, name)
    x, key, group = ctx.table.c.amount, ctx.table.c.id, ctx.table.c[by]
    cols = [key.label("k"), x.label("x"), group_key(group).label("g0"), log10_abs(x).label("y")]
    where = [x.is_not(None), x != 0]
    counts = [tuple(r) for r in source.execute(counted(ctx.table, where, [group]))]
    sample = sampled(ctx.dialect, ctx.table, cols, where, [group], key, "ss", counts)
    got = fetch_sample(source, sa.select(sample.c.g0, sample.c.y, sample.c.group_rows))
    assert got is not None and fetchable(counts)
    for units_of in [None, *([("USD", ["EUR", "JPY"])] if by == "currency" else [])]:
        statement = subschema.mode_stats(sample, None, [], ctx.dialect, units_of)
        in_sql = [dict(r._mapping) for r in source.execute(statement)]
        modes = fetched_modes(got, units_of, ctx.dialect)
        assert len(modes) == len(in_sql) >= 4
        fetched = [{k: getattr(mode, k) for k in row} for mode, row in zip(modes, in_sql, strict=True)]
        as_ints = [{k: (int(v) if k in ("n", "u_n") and v is not None else v) for k, v in r.items()} for r in in_sql]
        assert as_ints == fetched
        if units_of:
            offsets = {r["g0"]: r["u_o"] for r in in_sql}
            assert offsets["USD"] == 0.0 and 2.0 < offsets["JPY"] < 2.3 and offsets["(null)"] is None, offsets


@pytest.mark.parametrize("drawn", [True, False], ids=["all-drawn", "none-drawn"])
def test_rows_sharing_a_key_are_not_fetched_past_the_limit(tmp_path, drawn):
    """The sample's size is estimated from group counts as if every key were distinct; rows sharing a key are
    drawn together. 450,000 rows under one key whose hash is below every rate are all drawn: the fetch stops
    one row past FETCH_ROWS and the references stay in the database. Under a key never drawn the sample is
    empty: no group is judged, as the statement says."""
    import duckdb

    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    test = "< 50" if drawn else "> 1000000"  # of 1,000,003 hash buckets
    same = con.execute(f"SELECT i FROM range(1, 10000000) t(i) WHERE hash(i) % 1000003 {test} LIMIT 1").fetchone()[0]
    con.execute(
        f"CREATE TABLE deals AS SELECT {same}::BIGINT AS id, 'o' || (i % 3) AS owner, "
        "exp(5 + (i * 7919 % 1000) / 250.0) AS amount, 'USD' AS currency FROM range(450000) t(i)"
    )
    con.close()
    source = SqlSource("wh", sa.create_engine(f"duckdb:///{path}"))
    try:
        ctx = context(source, "deals")
        p = magnitude.Params(column="amount")
        sc = magnitude.scoring(ctx, p)
        counts = [tuple(r) for r in source.execute(sc.counts)]
        assert fetchable(counts)  # what the counts say
        sc = magnitude.scoring(ctx, p, frozenset(), counts)
        in_sql = [dict(r._mapping) for r in source.execute(magnitude.stats(sc, None, ctx.dialect))]
        got = fetch_sample(source, magnitude.sample_rows(sc))
        if drawn:
            assert got is None and in_sql and in_sql[0]["n"] == 450_000  # every row was drawn
        else:
            assert got.num_rows == 0 and in_sql == [] and magnitude.fetched_stats(sc, got, ctx.dialect) == []
    finally:
        source.close()


def test_grouped_is_pythons_grouping():
    """`grouped` (Arrow and numpy) against the grouping it replaced, in plain Python: the groups in the order of
    their key tuples (text compared as Python compares it: "B" < "a" < "é"), each group's values sorted and its
    largest group_rows. Two key columns whose values repeat across each other, ties and a value of each sign."""
    rnd = random.Random(3)
    firsts, seconds = ["a", "B", "é", "(null)", "a,b", ""], ["USD", "JPY", "(null)", "usd"]
    data = [
        (rnd.choice(firsts), rnd.choice(seconds), rnd.choice([-1.5, 0.0, 2.25, rnd.gauss(0, 3)]), rnd.randint(1, 9))
        for _ in range(3_000)
    ]
    columns = zip(*data, strict=True)
    table = pa.table({name: list(col) for name, col in zip(["g0", "g1", "y", "group_rows"], columns, strict=True)})
    expected: dict[tuple, tuple[list[float], int]] = {}
    for g0, g1, y, n in data:
        ys, most = expected.get((g0, g1), ([], 0))
        expected[(g0, g1)] = ([*ys, y], max(most, n))
    got = sqlstats.grouped(table, 2)
    assert [g for g, _ys, _n in got] == sorted(expected) and len(got) > 15
    for g, ys, n in got:
        assert ys.tolist() == sorted(expected[g][0]) and n == expected[g][1]
    by_one = sqlstats.grouped(table.select(["g1", "y", "group_rows"]), 1)
    assert [g for g, _ys, _n in by_one] == [(s,) for s in sorted(seconds)]
    assert sum(len(ys) for _g, ys, _n in by_one) == 3_000
    assert sqlstats.grouped(table.slice(0, 0), 2) == []
    # as Spark sends it: several record batches; and a y of integers, a group_rows of decimals
    chunked = pa.concat_tables([table.slice(0, 1_000), table.slice(1_000, 1_500), table.slice(2_500)])
    assert chunked.column(0).num_chunks == 3
    assert [(g, ys.tolist(), n) for g, ys, n in sqlstats.grouped(chunked, 2)] == [
        (g, ys.tolist(), n) for g, ys, n in got
    ]
    typed = table.set_column(2, "y", pa.array([round(y) for *_, y, _ in data], pa.int64()))
    typed = typed.set_column(3, "group_rows", pa.array([Decimal(n) for *_, n in data], pa.decimal128(12, 0)))
    for g, ys, n in sqlstats.grouped(typed, 2):
        assert ys.tolist() == sorted(float(round(y)) for a, b, y, _ in data if (a, b) == g)
        assert n == expected[g][1] and type(n) is int
    with pytest.raises(ValueError, match="NULL in g1"):
        sqlstats.grouped(table.set_column(1, "g1", pa.array([None] * len(data), pa.string())), 2)


@pytest.mark.parametrize("backend", ["duckdb", "spark"])
def test_fetched_tails_are_the_statements(backend, tmp_path, request, monkeypatch):
    """subschema's tail counts, the medians of their excess and the sides' rows, from the fetched tail rows
    (`fetched_tails`, how Spark counts them) against the tail statement's, bit for bit, inside whole runs of
    both subschema checks of CHECKS (by currency, and within owner), with 600 USD rows in cents as a mode."""
    from backends import deals_table
    from conftest import Project

    data = rows()
    rnd, first = random.Random(11), data.num_rows + 1
    cents = [(first + i, "big", round(rnd.lognormvariate(8, 1.2)) * 1000.0, "USD") for i in range(600)]  # x1000
    extra = pa.table(dict(zip(data.column_names, zip(*cents, strict=True), strict=True)), data.schema)
    data = pa.concat_tables([data, extra])
    project = Project(tmp_path)
    deals_table(backend, data, "\n".join(CHECKS[1:]), project, request)
    real, fetched_on, seen = subschema.tail_scan, subschema.REFERENCES_FETCHED, []

    def both(ctx, tails, pooled, min_rows):
        monkeypatch.setattr(subschema, "REFERENCES_FETCHED", ())
        summary, fetched = real(ctx, tails, pooled, min_rows)
        monkeypatch.setattr(subschema, "REFERENCES_FETCHED", (ctx.dialect,))
        twin, sides = real(ctx, tails, pooled, min_rows)
        monkeypatch.setattr(subschema, "REFERENCES_FETCHED", fetched_on)
        assert [(r.lab, int(r.up), int(r.down), r.up_beyond, r.down_beyond) for r in summary] == [
            tuple(t) for t in twin
        ]
        for side, side_rows in fetched.items():  # the statement's likely sides; the twin has every side
            assert side in sides
            typed = [(type(r.k), type(r.x)) for r in sides[side]]
            assert [(type(r.k), type(r.x)) for r in side_rows] == typed  # evidence keys and values alike
            assert [(r.k, r.x, r.g0, r.d, r.spread) for r in side_rows] == [tuple(r) for r in sides[side]]
        seen.append((summary, fetched))
        return twin, sides  # the run goes on with the twin's: its modes' rows are read from `sides`

    monkeypatch.setattr(subschema, "tail_scan", both)
    code, doc = project.run_json()
    assert code in (0, 1) and len(doc["results"]) == 2, doc
    assert len(seen) == 2 and all(len(summary) >= 3 and fetched for summary, fetched in seen), seen
    assert all(r["evidence"].get("modes") for r in doc["results"]), doc


def test_fetched_tails_keep_the_statements_order():
    """Each side's rows in the order of the statement's ORDER BY k (text by code point; NULL first on Spark, last
    on DuckDB), the pools in their names' order, a side without rows counted 0 with no median; NULL where none
    can be is refused."""
    table = pa.table(
        {
            "k": [None, "é", "a", "B", "b", "aa", "A"],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
            "g0": ["u"] * 7,
            "lab": ["USD", "USD", "USD", "USD", "EUR", "USD", "USD"],
            "d": [2.0, 3.0, -4.0, 1.5, 0.1, 1.0, -1.0],  # "aa" and "A" sit on the edge: on no side
            "edge": [1.0] * 7,
            "spread": [0.5, 0.0, 0.5, 0.0, 0.5, 0.5, 0.5],
        }
    )
    summary, sides = subschema.fetched_tails(table, "spark")
    assert [tuple(s) for s in summary] == [
        ("EUR", 0, 0, None, None),  # inside its edge: in the tails (outside another pool's), on no side
        ("USD", 3, 1, 0.5 / 1e-12, 6.0),  # excess in sigmas: 2, 2e12, 5e11 (a spread of 0 counts as 1e-12)
    ]
    assert [r.k for r in sides[("USD", 1)]] == [None, "B", "é"]
    assert [r.k for r in subschema.fetched_tails(table, "duckdb")[1][("USD", 1)]] == ["B", "é", None]
    assert [r.k for r in sides[("USD", -1)]] == ["a"] and ("EUR", 1) not in sides and len(sides) == 2
    assert sides[("USD", -1)][0] == ("a", 3.0, "u", -4.0, 0.5)
    assert subschema.fetched_tails(table.slice(0, 0), "spark") == ([], {})
    with pytest.raises(ValueError, match="NULL in d"):
        subschema.fetched_tails(table.set_column(4, "d", pa.array([None] * 7, pa.float64())), "spark")
    big = pa.concat_tables([table.slice(2, 1)] * (subschema.FETCH_MAX + 1))  # a side past FETCH_MAX
    summary, sides = subschema.fetched_tails(big, "spark")
    assert summary[0].down == subschema.FETCH_MAX + 1 and ("USD", -1) not in sides  # read again by its statement
