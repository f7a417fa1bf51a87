"""SQL building blocks of the row-level detectors: group keys, medians, and the sample their references use.

A median or a MAD is a sort. On a 10M-row table each one costs seconds (on PostgreSQL a sort spilled to
disk), and a detector needs several. So `magnitude` and `subschema` estimate their references (medians,
MADs, fits) from a deterministic sample of each group, then score *every* row against those references in
one more scan: evidence counts stay exact, only the baseline is estimated. Each group keeps up to
max(`SAMPLE`, `SAMPLE_TOTAL` / number of groups) rows; smaller groups are taken whole, so an ungrouped table
of up to 200,000 rows (and small groups anywhere) sees exactly what a full computation would.

The sample is chosen by a hash of the row's key, not by random(): the same table gives the same references
run after run, so a row near the threshold does not flap between flagged and clean.

`percentile_disc` and `percentile_cont` compute in Python, bit for bit, what DuckDB's, PostgreSQL's and Spark's
aggregates of those names return (`EXACT_PERCENTILES`), so rows already fetched can be chosen as a statement
would choose them, without sending it.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:  # imported where a sample is fetched (Spark): a fresh run on DuckDB needs neither
    import numpy as np
    import pyarrow as pa

SAMPLE = 2_000  # rows per group behind a reference, at least: medians to ~3% of a sigma
SAMPLE_TOTAL = 200_000  # rows in all the sample may hold: few groups take more rows each (one group: 200,000)
HASH_BUCKETS = 1_000_003  # a prime: the hash modulo it is close to uniform
NULL_GROUP = "(null)"
NON_FINITE = ("NaN", "Infinity", "-Infinity")
EARLY_WHOLE = 100  # groups taken whole that `sampled` lists to drop the other groups' unsampled rows early
# whose percentiles percentile_disc/percentile_cont reproduce (Spark 4 computes them as PostgreSQL does, with the
# fraction bound as a DOUBLE parameter: tests/test_subschema.py compares all three with the database)
EXACT_PERCENTILES = ("duckdb", "postgresql", "spark")
# dialects whose sample joins its groups' counts as literals (`sampled`'s `counts`), counted by a statement
# first: Spark cannot size a GROUP BY on an expression, so it joined the whole table to a handful of groups by
# sort-merge (a shuffle and sort of every row: 10M rows, 97 owners: 9 s of magnitude's 11 s reference
# statement); a VALUES list of the counts is broadcast, and rows outside the sample drop before the join
COUNTS_FIRST = ("spark",)
# dialects where a detector fetches its sample, when `fetchable`, and computes the references' medians, MADs and
# quantiles from it in Python (percentile_cont below, bit for bit), instead of in a statement: Spark runs each of
# the statement's dozen small aggregates as its own stages, so magnitude's reference statement took 3.2-4.4 s at
# 10M rows where fetching its sample took 0.7-0.8 s
REFERENCES_FETCHED = ("spark",)
FETCH_ROWS = 2 * SAMPLE_TOTAL  # the most sample rows fetched (fetchable's estimate, fetch_sample's hard limit)


def log10_abs(expr: sa.ColumnElement) -> sa.ColumnElement:
    """log10|x| in double precision: PostgreSQL's log of a NUMERIC is arbitrary-precision arithmetic, about
    40x slower (3 minutes instead of 4 s over 10M rows). DOUBLE, not FLOAT: DuckDB's FLOAT is 32 bits and
    refuses a value past 3.4e38 outright."""
    return sa.func.log10(sa.func.abs(sa.cast(expr, sa.Double)))


def special(name: str) -> sa.ColumnElement:
    """A non-finite double ('NaN', 'Infinity', '-Infinity') as a typed SQL literal. Never a Python float:
    rendered as literal SQL, float('nan') becomes the bare word nan, which the database reads as a column."""
    return sa.cast(sa.literal_column(f"'{name}'"), sa.Double)


def finite(expr: sa.ColumnElement) -> sa.ColumnElement:
    """True where expr is a finite number (NULL where it is NULL). DOUBLE columns of DuckDB and PostgreSQL,
    and PostgreSQL's NUMERIC, hold NaN and +-Infinity: one of them turns a sum, a mean or a log into NaN or
    infinity and sorts above every number in a median. Both databases hold NaN equal to itself, so plain
    comparisons with the typed literals find them, the same SQL on both."""
    return expr.not_in([special(v) for v in NON_FINITE])


def median(expr: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.percentile_cont(0.5).within_group(expr)


def quantiles(dialect: str, expr: sa.ColumnElement, qs: list[float]) -> list[sa.ColumnElement]:
    """`percentile_cont(q) WITHIN GROUP (ORDER BY expr)` for each q. On Spark each such aggregate keeps its own
    map of every value; one `percentile(expr, array(q, ...))` keeps one for all of them and gives the same
    numbers (Spark's percentile_cont is that function): magnitude's reference statement at 10M rows, three
    pairs, 3.3 s -> 2.3 s."""
    if dialect != "spark" or len(qs) < 2:
        return [sa.func.percentile_cont(q).within_group(expr) for q in qs]
    every = sa.func.percentile(expr, sa.func.array(*[sa.literal(q, sa.Double) for q in qs]))
    return [sa.func.element_at(every, i + 1, type_=sa.Double) for i in range(len(qs))]


def percentile_disc(dialect: str, ordered: list[float], q: float) -> float:
    """`percentile_disc(q)` as `dialect` computes it with q pasted as a literal (repr), so rows chosen in Python
    are the ones the database would choose. DuckDB types a plain decimal literal DECIMAL and floors
    n - n*q exactly (an exponent makes it DOUBLE); PostgreSQL and Spark take row ceil(q*n) in doubles."""
    n = len(ordered)
    if dialect == "duckdb":
        text = repr(q)
        exact_q = Fraction(Decimal(text)) if "e" not in text else None
        floored = math.floor(n - n * exact_q) if exact_q is not None else math.floor(float(n) - float(n) * q)
        return ordered[max(1, n - floored) - 1]
    return ordered[max(math.ceil(q * n), 1) - 1]


def percentile_cont(dialect: str, ordered: list[float], q: float) -> float:
    """`percentile_cont(q)` as `dialect` computes it (tests/test_subschema.py compares both with the database):
    DuckDB's wheel rounds lo*(1-d) + hi*d once for the fused multiply-add its compiler makes of it;
    PostgreSQL and Spark compute lo + d*(hi - lo)."""
    rn = q * (len(ordered) - 1) if dialect != "duckdb" else (len(ordered) - 1) * q
    lo_i, hi_i = math.floor(rn), math.ceil(rn)
    lo, hi, d = float(ordered[lo_i]), float(ordered[hi_i]), rn - lo_i  # float: `ordered` may be a numpy array
    if lo_i == hi_i:
        return lo
    if dialect == "duckdb":
        return float(Fraction(lo) * Fraction(1.0 - d) + Fraction(hi * d))
    return lo + d * (hi - lo)


def centred(dialect: str, values: np.ndarray, qs: tuple[float, ...]) -> tuple[np.ndarray, float, list[float]]:
    """`values` sorted, their median and the `qs` quantiles of their |deviation| from it, as the statements'
    `percentile_cont(0.5)` of y and of abs(y - m) compute them in `dialect` (sqlstats.REFERENCES_FETCHED).
    numpy's subtraction, absolute value and sort of doubles are IEEE's, as Python's and the database's are."""
    import numpy as np

    ordered = np.sort(np.asarray(values, dtype=np.float64))
    m = percentile_cont(dialect, ordered, 0.5)
    devs = np.sort(np.abs(ordered - m))
    return ordered, m, [percentile_cont(dialect, devs, q) for q in qs]


def grouped(sample: pa.Table, keys: int) -> list[tuple[tuple[str, ...], np.ndarray, int]]:
    """A fetched sample's rows (`keys` group columns of text, then y, then group_rows: `fetch_sample`) by
    group, in Python's order of the groups' key tuples: each group's key, its y values in ascending order and
    its group_rows. Arrow and numpy group and sort: 400,000 rows cost Python 0.4 s as tuples and lists."""
    import numpy as np
    import pyarrow.compute as pc

    n = sample.num_rows
    if not n:
        return []
    nulls = [name for name, col in zip(sample.column_names, sample.columns, strict=True) if col.null_count]
    if nulls:  # a group key is coalesced and y is a finite logarithm: a NULL is a statement's bug, not data
        raise ValueError(f"fetched sample: NULL in {', '.join(nulls)}")
    code = np.zeros(n, dtype=np.int64)  # each row's group, numbered in key order
    columns = []  # each key column: its distinct values in order, and each row's rank among them
    for i in range(keys):
        enc = pc.dictionary_encode(sample.column(i).combine_chunks())
        values = enc.dictionary.to_pylist()
        in_order = sorted(range(len(values)), key=values.__getitem__)  # Python's order of text
        rank = np.empty(len(values), dtype=np.int64)
        rank[in_order] = np.arange(len(values))
        row_rank = rank[enc.indices.to_numpy(zero_copy_only=False)]
        columns.append(([values[j] for j in in_order], row_rank))
        _, code = np.unique(code * len(values) + row_rank, return_inverse=True)  # stays below n: no overflow
    y = sample.column(keys).to_numpy().astype(np.float64, copy=False)
    group_rows = sample.column(keys + 1).to_numpy()
    order = np.lexsort((y, code))
    code, y, group_rows = code[order], y[order], group_rows[order]
    starts = np.flatnonzero(np.r_[True, code[1:] != code[:-1]])
    ends = [*starts[1:].tolist(), n]
    most = np.maximum.reduceat(group_rows, starts)
    firsts = order[starts]
    return [
        (tuple(names[int(ranks[first])] for names, ranks in columns), y[lo:hi], int(rows))
        for first, lo, hi, rows in zip(firsts, starts.tolist(), ends, most, strict=True)
    ]


def group_key(col: sa.ColumnElement) -> sa.ColumnElement:
    """A group's join key: text, never NULL. `IS NOT DISTINCT FROM` would keep NULL groups too, but
    PostgreSQL cannot hash-join on it, and a nested loop over 10M rows never ends."""
    return sa.func.coalesce(sa.cast(col, sa.String), NULL_GROUP)


def same(a: list[sa.ColumnElement], b: list[sa.ColumnElement]) -> sa.ColumnElement:
    return sa.and_(sa.true(), *[x == y for x, y in zip(a, b, strict=True)])


def outside_every(y: sa.ColumnElement, bands: list[tuple[float, float]]) -> sa.ColumnElement:
    """True where y lies outside at least one of the (centre, half-width) bands: a row inside all of them
    cannot be flagged whatever its group, so a scoring scan can drop it before joining its group's reference
    (most rows; half the scan's time). The bands' intersection, not their union: a row of one group may sit
    inside another group's band and still be far off its own."""
    lo, hi = max(c - w for c, w in bands), min(c + w for c, w in bands)
    return sa.not_(y.between(lo, hi))  # an empty intersection (lo > hi) keeps every row


RAW_LIMIT = 100.0  # decades: the raw tests below keep every row rather than multiply values past 1e±200


def extremes(table: sa.FromClause, cols: list[sa.ColumnElement], non_zero: bool = False) -> sa.Select:
    """min and max of each column over the whole table (lo0, hi0, ...), for `log_span`. Not filtered: a bound
    over more rows still holds, and DuckDB answers an unfiltered min and max from its statistics. `non_zero`:
    those of |u| over its non-zero values instead (a scan)."""
    out = []
    for j, c in enumerate(cols):
        if non_zero:
            au = sa.func.abs(sa.cast(c, sa.Double))
            out += [sa.func.min(au).filter(c != 0).label(f"lo{j}"), sa.func.max(au).filter(c != 0).label(f"hi{j}")]
        else:
            out += [sa.func.min(c).label(f"lo{j}"), sa.func.max(c).label(f"hi{j}")]
    return sa.select(*out).select_from(table)


def log_span(lo: Any, hi: Any, integer: bool = False) -> tuple[float, float] | None:
    """The range of log10|u| over the non-zero u in [lo, hi] (a column's `extremes`), slightly widened; None
    when that is unknown: no values, a non-finite end, or a range that reaches zero (the least |u| is then
    anywhere, unless the column holds integers: then it is 1)."""
    if lo is None or hi is None:
        return None
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    if lo > 0:
        least, most = lo, hi
    elif hi < 0:
        least, most = -hi, -lo
    elif integer and (lo, hi) != (0.0, 0.0):
        least, most = 1.0, max(-lo, hi)
    else:
        return None
    a, b = math.log10(least), math.log10(most)
    return a - 1e-12 * (1 + abs(a)), b + 1e-12 * (1 + abs(b))


def beyond_every(
    x: sa.ColumnElement, bands: list[tuple[float, float]], shift: tuple[float, float] = (0.0, 0.0)
) -> sa.ColumnElement | None:
    """`outside_every(log10|x| - s, bands)` for any offset s in `shift`, on the raw value: no logarithm, and a
    plain comparison that a scan can test on its own (DuckDB's zonemaps). True wherever that may be true (a
    necessary condition: a row it drops is inside every band); None where it would keep every row anyway."""
    lo, hi = max(c - w for c, w in bands), min(c + w for c, w in bands)
    lo, hi = lo + shift[1] + 1e-9, hi + shift[0] - 1e-9  # the margin covers rounding in the scan's logarithms
    if lo >= hi or max(abs(lo), abs(hi)) > RAW_LIMIT:
        return None
    ax = sa.func.abs(sa.cast(x, sa.Double))
    return sa.or_(ax < sa.literal(10**lo, sa.Double), ax > sa.literal(10**hi, sa.Double))


def key_hash(dialect: str, key: sa.ColumnElement, modulo: int) -> sa.ColumnElement:
    """An integer in [0, modulo) fixed by the key's value."""
    if dialect == "duckdb":
        h = sa.func.hash(key) % modulo  # any type; casting 10M keys to text first costs 0.2 s
    elif dialect == "spark":
        h = sa.func.pmod(sa.func.xxhash64(key), modulo)  # 64-bit, any type; pmod is never negative
    else:  # postgresql; the other dialects never reach the row-level detectors
        h = sa.func.abs(sa.func.hashtextextended(sa.cast(key, sa.String), 0) % modulo)
    return sa.cast(h, sa.Integer)


def unit_hash(dialect: str, key: sa.ColumnElement) -> sa.ColumnElement:
    """A number in [0, 1) fixed by the key's value."""
    return sa.cast(key_hash(dialect, key, HASH_BUCKETS), sa.Float) / HASH_BUCKETS


def counted(table: sa.FromClause, where: list[sa.ColumnElement], groups: list[sa.ColumnElement]) -> sa.Select:
    """Each group's key (g0, g1, ...) and row count (`group_rows`) among the rows matching `where`, in key order:
    what `sampled` needs to know of a group before it can draw its sample."""
    keys = [group_key(g) for g in groups]
    return (
        sa.select(*[k.label(f"g{i}") for i, k in enumerate(keys)], sa.func.count().label("group_rows"))
        .select_from(table)
        .where(*where)
        .group_by(*keys)
        .order_by(*keys)
    )


def fetchable(counts: list[tuple] | None) -> bool:
    """Whether the sample `sampled` draws with these group counts (`counted`'s rows) is small enough to fetch:
    each group gives about min(its rows, the cap), and with more than SAMPLE_TOTAL / SAMPLE groups the cap
    stays SAMPLE, so the sample grows with the table. Without counts (no groups) it is one group of at most
    SAMPLE_TOTAL rows."""
    if counts is None:
        return True
    cap = max(SAMPLE, SAMPLE_TOTAL / max(len(counts), 1))
    return sum(min(int(c[-1]), cap) for c in counts) <= FETCH_ROWS


def fetch_sample(source: Any, stmt: sa.Select) -> pa.Table | None:
    """The rows of `stmt` (a sample's) as columns if they number at most FETCH_ROWS, else None (one row more is
    asked for, never the rest): `fetchable` estimates from the group counts as if every key were distinct, but
    rows that share a key value, NULL included, share its hash and are drawn or left out together."""
    table = source.execute_arrow(stmt.limit(FETCH_ROWS + 1))
    return table if table.num_rows <= FETCH_ROWS else None


def sampled(
    dialect: str,
    table: sa.FromClause,
    cols: list[sa.ColumnElement],
    where: list[sa.ColumnElement],
    groups: list[sa.ColumnElement],
    key: sa.ColumnElement,
    prefix: str,
    counts: list[tuple] | None = None,
) -> sa.CTE:
    """The rows of `table` matching `where` as `cols` (groups labelled g0, g1, ...), sampled per group as the
    module says, plus `group_rows`: how many rows the whole group has.

    `counts`: the rows of `counted(table, where, groups)`, when the caller ran it first. The statement then joins
    the table to them as literals instead of counting in a CTE: DuckDB hashes the side it estimates smaller, and
    it cannot estimate a GROUP BY on an expression, so it sometimes hashed the whole table against a handful of
    groups (20M rows, 3 groups: 57 s and 1.8 GB instead of 0.5 s). Literals have an exact size. And rows whose
    hash is above every sampled group's rate are dropped before the join, unless their group is one of the (at
    most EARLY_WHOLE) groups small enough to be taken whole.
    The same rows are sampled either way: the cap and the test below are the same SQL."""
    keys = [group_key(g) for g in groups]
    cap = sa.func.greatest(SAMPLE, SAMPLE_TOTAL / sa.func.count().over())  # count() over (): the groups
    early: list[sa.ColumnElement] = []
    if counts:
        known = sa.values(
            *[sa.column(f"g{i}", sa.String) for i in range(len(keys))],
            sa.column("group_rows", sa.BigInteger),
            name=f"{prefix}_known",
        ).data(counts)
        # the cap as `sampled` computes it from count() over (): an integer division on PostgreSQL
        cap = sa.func.greatest(SAMPLE, SAMPLE_TOTAL / sa.cast(sa.literal(len(counts)), sa.BigInteger))
        source = sa.select(
            *[known.c[f"g{i}"] for i in range(len(keys))],
            sa.cast(known.c.group_rows, sa.BigInteger).label("group_rows"),
            sa.cast(cap, sa.Float).label("cap"),
        )
        ceiling = max(SAMPLE, SAMPLE_TOTAL / len(counts))  # at least the cap, in either dialect
        whole = [c[:-1] for c in counts if int(c[-1]) <= ceiling]  # groups that may be taken whole
        if len(whole) < len(counts) and len(whole) <= EARLY_WHOLE:
            rate = max(ceiling / int(c[-1]) for c in counts if int(c[-1]) > ceiling)
            pick = unit_hash(dialect, key) < min(1.0, rate * 1.0001)  # loose: the exact test follows
            # several keys: each key in its own list, a superset of the listed groups (DuckDB tests a tuple IN as
            # an OR of ANDs, row by row: owner x unit, 97 groups listed, 20M rows took 5.8 s instead of 0.8 s)
            listed = [k.in_(sorted({w[i] for w in whole})) for i, k in enumerate(keys)] if whole else []
            early.append(sa.or_(pick, sa.and_(*listed)) if listed else pick)
    else:
        source = (
            sa.select(
                *[k.label(f"g{i}") for i, k in enumerate(keys)],
                sa.func.count().label("group_rows"),
                sa.cast(cap, sa.Float).label("cap"),
            )
            .select_from(table)
            .where(*where)
            .group_by(*keys)
        )
    counts_cte = source.cte(f"{prefix}_counts")
    matched = same(keys, [counts_cte.c[f"g{i}"] for i in range(len(keys))])
    take = sa.or_(
        counts_cte.c.group_rows <= counts_cte.c.cap,
        unit_hash(dialect, key) < counts_cte.c.cap / sa.cast(counts_cte.c.group_rows, sa.Float),
    )
    return (
        sa.select(*cols, counts_cte.c.group_rows)
        .select_from(table.join(counts_cte, matched))
        .where(*where, *early, take)
        .cte(f"{prefix}_sample")
    )
