"""`expect`: any Great Expectations 1.x expectation by its GX name.

The common expectations are compiled here into the dataset's single aggregate scan, plus targeted queries
only when something is wrong (ids of violating rows, counts of unexpected values: tallied from the ids' rows
when the evidence lists them all, `_tally`). They follow GX's
semantics (`mostly` over non-null rows, vacuous success on empty columns, percentile_disc quantiles, the
averaged median), and tests/test_expect_differential.py holds them to GX's verdicts and observed values.
Regexes, value lengths and column pairs follow GX as it runs on the source: pandas on DuckDB (Python's
re.search, NaN as missing, a comparison with a missing value false), its SQL elsewhere (a comparison with NULL
not counted); a regex is native only within regex_subset.py's portable subset, and text expectations only on
text columns (`native_here`, at plan time), else GX takes them under `engine: auto`.
Everything else, and anything with GX-only kwargs such as `row_condition`, runs through GX itself
(`sentinel.checks.gx_engine`, imported only then): all of a dataset's such expectations are gathered at plan
time and validated in one GX suite. Evidence counts are always exact; listed rows and values
are capped at `evidence_limit` (config.yaml, default 1000) and say how many were left out. What the kwargs
must say is checked at config load (`expect_rules.py`); bounds whose type does not suit the column are an
`error` at plan time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from operator import itemgetter
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from sentinel.checks import expect_rules, regex_subset
from sentinel.checks.common import CannotMeasure, Context, Plan, Spec, approx, capped, number, result
from sentinel.checks.exact import exact
from sentinel.checks.gx_catalog import COMMON
from sentinel.sources.base import ColumnInfo
from sentinel.yamlmodel import CheckParams

CAUSES = ("violation",)  # the `cause` of each failure this kind reports (playbooks' `when.cause`)


class Params(CheckParams):
    type: str
    kwargs: dict[str, Any] = {}
    engine: Literal["auto", "native", "gx"] = "auto"
    meta: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _known(self) -> Params:
        found = expect_rules.problems(self.type, self.kwargs)
        if found:  # each at its own YAML path: datasets[0].checks[1].expect.kwargs.value_set: required
            raise ValidationError.from_exception_data(
                "expect",
                [
                    InitErrorDetails(
                        type=PydanticCustomError("expectation", "{problem}", {"problem": message}),
                        loc=loc,
                        input=self.kwargs,
                    )
                    for loc, message in found
                ],
            )
        why = native_problem(self.type, self.kwargs) if self.engine == "native" else None
        if why:
            raise ValueError(f"{why}; use engine: auto or gx")
        return self


def default_name(params: Params) -> str:
    return expectation_name(params.type, params.kwargs)


def expectation_name(type_: str, kwargs: dict[str, Any]) -> str:
    col = kwargs.get("column")
    return f"{type_}({col})" if col else type_


# --- native implementations --------------------------------------------------------------------------


@dataclass
class Outcome:
    success: bool
    observed: Any
    evidence: dict[str, Any]
    message: str | None = None


Native = Callable[[dict[str, Any], Context], tuple[dict[str, sa.ColumnElement], Callable[[dict], Outcome]]]
NATIVE: dict[str, tuple[frozenset[str], Native]] = {}


def native(type_: str, *kwargs: str):
    def register(fn: Native) -> Native:
        NATIVE[type_] = (frozenset(kwargs), fn)
        return fn

    return register


def is_native(type_: str, kwargs: dict[str, Any]) -> bool:
    return native_problem(type_, kwargs) is None


def native_problem(type_: str, kwargs: dict[str, Any]) -> str | None:
    """Why this expectation with these kwargs has no native implementation (whatever the data), or None."""
    if type_ not in NATIVE:
        return f"{type_} has no native implementation"
    keys, _ = NATIVE[type_]
    extra = sorted(set(kwargs) - keys - COMMON, key=str)
    if extra:
        return f"{type_} with {', '.join(map(str, extra))} has no native implementation"
    # GX compares datetimes and strings too; the native path handles numbers (and value sets of any type).
    for bound in ("min_value", "max_value"):
        v = kwargs.get(bound)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
            return f"{bound} {v!r} is not a number"
    if type_ in _LENGTHS:  # GX's SQL refuses fractional lengths; its pandas path compares them
        for k in ("min_value", "max_value", "value"):
            v = kwargs.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not float(v).is_integer()):
                return f"{k} {v!r} is not a whole number of characters"
    if type_ in _REGEX:
        return regex_subset.problem(kwargs.get("regex"))
    if type_ in _PAIRS:
        if kwargs.get("ignore_row_if", _BOTH) not in _IGNORE:
            return f"ignore_row_if must be one of {', '.join(_IGNORE)}"
        if not isinstance(kwargs.get("or_equal") or False, bool):
            return "or_equal must be true or false"
    return None


def native_here(ctx: Context, type_: str, kwargs: dict[str, Any]) -> tuple[str, str] | None:
    """Why (a cause and a message) the native implementation cannot give GX's answer on this source's columns,
    or None. Regexes and lengths are compiled for text columns on DuckDB, PostgreSQL and SQLite (GX turns other
    values into text its own way); pairs compare two numeric, two text or two temporal columns."""
    if type_ in _REGEX or type_ in _LENGTHS:
        if ctx.dialect not in _STRING_DIALECTS:
            return "unsupported", f"{type_} is compiled natively on {', '.join(sorted(_STRING_DIALECTS))} only"
        info = ctx.columns.get(kwargs.get("column"))
        if info is not None and not info.text:
            return "wrong_type", f"column {kwargs['column']!r} is {info.type}, not text"
    if type_ in _PAIRS:
        a, b = (ctx.columns.get(kwargs.get(k)) for k in ("column_A", "column_B"))
        if a is not None and b is not None and not _comparable(a, b):
            return "wrong_type", f"columns {a.name!r} ({a.type}) and {b.name!r} ({b.type}) are not of one kind"
    return None


def _between(value: Any, kw: dict[str, Any]) -> bool:
    if value is None:
        return False
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if lo is not None and not (value > lo if kw.get("strict_min") else value >= lo):
        return False
    if hi is not None and not (value < hi if kw.get("strict_max") else value <= hi):
        return False
    return True


def _range_text(kw: dict[str, Any]) -> str:
    lo, hi = kw.get("min_value"), kw.get("max_value")
    left = "(" if kw.get("strict_min") else "["
    right = ")" if kw.get("strict_max") else "]"
    return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"


def _num(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    try:
        f = float(v)
        return int(f) if f.is_integer() and abs(f) < 2**53 and not isinstance(v, float) else f
    except (TypeError, ValueError):
        return v


def _sort_key(x: Any) -> tuple[str, Any]:
    return (type(x).__name__, x)


def _pct(n: int, d: int) -> float:
    return 100.0 * n / d if d else 0.0


# table-level ---------------------------------------------------------------------------------------------


@native("expect_table_row_count_to_be_between", "min_value", "max_value", "strict_min", "strict_max")
def _row_count_between(kw, ctx):
    def finish(v):
        n = int(v["n"])
        return Outcome(_between(n, kw), n, {}, f"{n:,} rows, outside {_range_text(kw)}")

    return {"n": sa.func.count()}, finish


@native("expect_table_row_count_to_equal", "value")
def _row_count_equal(kw, ctx):
    def finish(v):
        n = int(v["n"])
        return Outcome(n == kw["value"], n, {}, f"{n:,} rows, expected {kw['value']:,}")

    return {"n": sa.func.count()}, finish


@native("expect_table_columns_to_match_set", "column_set", "exact_match")
def _columns_match_set(kw, ctx):
    actual = list(ctx.columns)
    wanted = set(kw.get("column_set") or [])
    exact = kw.get("exact_match", True)
    unexpected = sorted(set(actual) - wanted)
    missing = sorted(wanted - set(actual))
    ok = not missing and (not unexpected or exact is False)
    parts = [f"missing {', '.join(missing)}"] if missing else []
    parts += [f"not in the set: {', '.join(unexpected)}"] if unexpected and exact is not False else []
    return {}, lambda v: Outcome(
        ok,
        actual,
        {"mismatched": {"unexpected": unexpected, "missing": missing}} if not ok else {},
        "columns " + "; ".join(parts),
    )


@native("expect_column_to_exist", "column", "column_index")
def _column_exists(kw, ctx):
    actual = list(ctx.columns)
    col, index = kw["column"], kw.get("column_index")
    ok = col in actual and (index is None or actual.index(col) == index)
    if col not in actual:
        message = f"column {col!r} does not exist"
    else:
        message = f"column {col!r} is at position {actual.index(col)}, expected {index}"
    return {}, lambda v: Outcome(ok, None, {} if ok else {"columns": actual}, message)  # GX observes nothing


# column aggregates -----------------------------------------------------------------------------------------


def _statistic(label: str, kw: dict[str, Any], value: Any) -> Outcome:
    """The verdict on one statistic of a column, with the sentence an incident and its owner read."""
    x = float(value) if label == "mean" and value is not None else _num(value)  # a NUMERIC average: a float
    if x is None:
        return Outcome(False, None, {}, f"{kw['column']} has no values to take the {label} of")
    # min, max and sum are stored values (a DECIMAL's shown with its digits); mean and median are estimates
    shown = number(value) if label in ("min", "max", "sum") else approx(x)
    return Outcome(_between(x, kw), x, {}, f"{label} of {kw['column']} is {shown}, outside {_range_text(kw)}")


def _aggregate(label: str, fn: Callable[[sa.ColumnClause, str], sa.ColumnElement]) -> Native:
    def compile_(kw, ctx):
        col = ctx.col(kw["column"], numeric=True, purpose="this expectation")
        return {"x": fn(col, ctx.dialect)}, lambda v: _statistic(label, kw, v["x"])

    return compile_


def _mean(col: sa.ColumnClause, dialect: str) -> sa.ColumnElement:
    """avg() over the stored type where the database averages every numeric type in at least double precision:
    PostgreSQL (exact for integers and NUMERIC; a per-row cast of NUMERIC to DOUBLE goes through text there and
    cost 0.45 s per 10M rows), DuckDB and SQLite (a DOUBLE whatever the input). Elsewhere over DOUBLE: a
    DECIMAL's own average can overflow its type (Spark's ANSI mode raises), and GX takes the mean in float64.
    DOUBLE, never FLOAT: DuckDB's and MySQL's FLOAT is 4 bytes, and a mean of values rounded to 7 digits is
    not the column's. The value is returned as a float (`_statistic` would show an exact 5354.0000 as 5354)."""
    if dialect in ("postgresql", "duckdb", "sqlite"):
        return sa.func.avg(col)
    return sa.func.avg(sa.cast(col, sa.Double))


_AGG_KW = ("column", "min_value", "max_value", "strict_min", "strict_max")
native("expect_column_min_to_be_between", *_AGG_KW)(_aggregate("min", lambda c, _: sa.func.min(c)))
native("expect_column_max_to_be_between", *_AGG_KW)(_aggregate("max", lambda c, _: sa.func.max(c)))
native("expect_column_sum_to_be_between", *_AGG_KW)(_aggregate("sum", lambda c, _: sa.func.sum(c)))
native("expect_column_mean_to_be_between", *_AGG_KW)(_aggregate("mean", _mean))


def _ordered_values(ctx: Context, col: sa.ColumnClause, offset: int, limit: int) -> list[Any]:
    stmt = sa.select(col).select_from(ctx.table).where(col.is_not(None)).order_by(col).offset(offset).limit(limit)
    return [_num(r[0]) for r in ctx.source.execute(stmt)]


@native("expect_column_median_to_be_between", *_AGG_KW)
def _median(kw, ctx):
    col = ctx.col(kw["column"], numeric=True, purpose="median")
    if ctx.dialect in ("postgresql", "duckdb", "spark"):
        expr = sa.func.median(col) if ctx.dialect == "duckdb" else sa.func.percentile_cont(0.5).within_group(col)
        return {"x": expr}, lambda v: _statistic("median", kw, v["x"])

    def finish(v):  # no median aggregate here: GX's two-row ordered query
        n = int(v["nonnull"])
        if n == 0:
            return _statistic("median", kw, None)
        vals = _ordered_values(ctx, col, max(n // 2 - 1, 0), 2)
        m = (vals[0] + vals[1]) / 2.0 if n % 2 == 0 else (vals[0] if len(vals) == 1 else vals[1])
        return _statistic("median", kw, m)

    return {"nonnull": sa.func.count(col)}, finish


@native("expect_column_quantile_values_to_be_between", "column", "quantile_ranges", "allow_relative_error")
def _quantiles(kw, ctx):
    col = ctx.col(kw["column"], numeric=True, purpose="quantiles")
    qr = kw.get("quantile_ranges") or {}
    qs, ranges = list(qr.get("quantiles") or []), list(qr.get("value_ranges") or [])
    if len(qs) != len(ranges) or not qs:
        raise CannotMeasure("bad_kwargs", "quantile_ranges needs as many value_ranges as quantiles")

    def outcome(values: list[Any]) -> Outcome:
        values = [_num(x) for x in values]
        wrong = [
            f"q{q:g} = "
            + ("no value" if x is None else f"{number(x)}, outside {_range_text(dict(min_value=lo, max_value=hi))}")
            for q, x, (lo, hi) in zip(qs, values, ranges, strict=True)
            if not (x is not None and (lo is None or x >= lo) and (hi is None or x <= hi))
        ]
        message = f"{kw['column']}: " + "; ".join(wrong)
        return Outcome(not wrong, {"quantiles": qs, "values": values}, {}, message)

    if ctx.dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        expr = sa.func.percentile_disc(postgresql.array([float(q) for q in qs])).within_group(col)
        return {"x": expr}, lambda v: outcome(list(v["x"] or [None] * len(qs)))
    if ctx.dialect == "duckdb":
        expr = sa.func.quantile_disc(col, sa.literal_column("[" + ", ".join(repr(float(q)) for q in qs) + "]"))
        return {"x": expr}, lambda v: outcome(list(v["x"] or [None] * len(qs)))
    if ctx.dialect != "sqlite":
        aggs = {f"q{i}": sa.func.percentile_disc(float(q)).within_group(col) for i, q in enumerate(qs)}
        return aggs, lambda v: outcome([v[f"q{i}"] for i in range(len(qs))])

    def finish(v):  # SQLite: one ordered probe per quantile, ranks as GX computes them
        n = int(v["nonnull"])
        if n == 0:
            return outcome([None] * len(qs))
        ranks = [max(math.ceil(Fraction(str(q)) * n), 1) for q in qs]
        return outcome([(_ordered_values(ctx, col, r - 1, 1) or [None])[0] for r in ranks])

    return {"nonnull": sa.func.count(col)}, finish


# column maps -------------------------------------------------------------------------------------------------


def _map(
    kw: dict[str, Any],
    ctx: Context,
    col: sa.ColumnClause,
    unexpected: sa.ColumnElement,
    describe: str,
    *,
    count_nulls: bool = False,
    categories: bool = False,
) -> tuple[dict[str, sa.ColumnElement], Callable[[dict], Outcome]]:
    """A row-level expectation: count unexpected rows in the scan; list them only when there are some."""
    listed = None if count_nulls else col
    aggs = {
        "total": sa.func.count(),
        "nonnull": sa.func.count(col),
        "bad": ctx.counted_rows(unexpected, listed),
    }

    def finish(v):
        total, nonnull, bad = int(v["total"]), int(v["nonnull"]), int(v["bad"] or 0)
        considered = total if count_nulls else nonnull
        mostly = kw.get("mostly", 1.0)
        success = True if considered == 0 else (considered - bad) / considered >= mostly
        observed = {"unexpected_count": bad, "unexpected_percent": _pct(bad, considered), "element_count": total}
        evidence: dict[str, Any] = {}
        if bad:
            if ctx.key:
                evidence["rows"] = ctx.flagged_rows(unexpected, listed, bad)
            if categories or not ctx.key:
                evidence["values"] = _value_counts(ctx, col, unexpected, evidence.get("rows"))
        message = None
        if not success:
            message = f"{bad:,} of {considered:,} rows ({_pct(bad, considered):.3g}%) {describe}"
            message += _examples(evidence)
        return Outcome(success, observed, evidence, message)

    return aggs, finish


def _examples(evidence: dict[str, Any], n: int = 3) -> str:
    """A few flagged keys for the one-line message: '; e.g. 0060000042 (-25000.0)'."""
    items = evidence.get("rows", {}).get("items", [])[:n]
    if not items:
        return ""
    shown = ", ".join(f"{i['key']} ({i['value']})" if "value" in i else str(i["key"]) for i in items)
    more = evidence["rows"]["count"] - len(items)
    return f"; e.g. {shown}" + (f" and {more:,} more" if more > 0 else "")


def _value_counts(
    ctx: Context, col: sa.ColumnClause, where: sa.ColumnElement, rows: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Each unexpected value (as stored: sentinel/checks/exact.py) with its exact row count, most frequent
    first (capped, with the total). When `rows`, the flagged rows' evidence, lists every flagged row with its
    value, the counts are tallied from it (`_tally`) instead of asked of the database again."""
    tallied = _tally(ctx, col, rows)
    if tallied is not None:
        return tallied
    n = sa.func.count().label("count")
    inner = sa.select(col.label("value"), n).select_from(ctx.table).where(where).group_by(col).subquery()
    stmt = (
        sa.select(inner.c.value, inner.c["count"], sa.func.count().over().label("distinct"))
        .order_by(inner.c["count"].desc(), inner.c.value)
        .limit(ctx.evidence_limit)
    )
    rows = ctx.source.execute(stmt)
    distinct = int(rows[0][2]) if rows else 0
    return capped([{"value": exact(r[0]), "count": int(r[1])} for r in rows], distinct)


def _tally(ctx: Context, col: sa.ColumnClause, rows: dict[str, Any] | None) -> dict[str, Any] | None:
    """The value counts `_value_counts` would query, from flagged rows that are all listed (none omitted, so
    every count is exact and there are no more distinct values than the evidence limit), in the same order:
    count descending, then value as the database orders it. Text ties are ordered here only where the database
    compares text by code point as Python does (DuckDB, SQLite). On PostgreSQL, TEXT and VARCHAR columns with
    no collation of their own are tallied when no two counts tie (the counts alone give the order; the
    database's default collation is deterministic, equal only when byte-equal, so it groups values as Python
    does, where a column's own collation or citext may not). Else, and for NaN, which neither a dict nor a
    sort handles as SQL does, None: the caller queries."""
    if not rows or rows.get("omitted") or "note" in rows or not rows.get("items"):
        return None
    try:
        values = list(map(itemgetter("value"), rows["items"]))
    except KeyError:
        return None
    if float in set(map(type, values)) and any(isinstance(v, float) and math.isnan(v) for v in values):
        return None
    info = ctx.columns.get(col.name)
    counts = Counter(values)
    text = info is None or not (info.numeric or info.temporal)
    if text and ctx.source.dialect not in ("duckdb", "sqlite", "spark"):  # Spark: UTF8_BINARY, code point order
        if not _plain_pg_text(ctx, info) or len(set(counts.values())) < len(counts):
            return None
        return capped([{"value": v, "count": n} for v, n in counts.most_common()], len(counts))
    try:
        order = sorted(counts, key=lambda v: (-counts[v], _db_order(v, info)))
    except (TypeError, ArithmeticError):  # values Python cannot order (mixed types, a NaN decimal): the database does
        return None
    return capped([{"value": v, "count": counts[v]} for v in order], len(order))


def _plain_pg_text(ctx: Context, info: ColumnInfo | None) -> bool:
    """A PostgreSQL TEXT or VARCHAR column under the database's default collation."""
    kind = info.type.upper() if info is not None else ""
    return ctx.source.dialect == "postgresql" and kind.startswith(("TEXT", "VARCHAR")) and "COLLATE" not in kind


def _db_order(v: Any, info: ColumnInfo | None) -> Any:
    """How the database orders a value as evidence carries it: a DECIMAL's decimal string by its number."""
    if isinstance(v, str) and info is not None and info.numeric:
        return Decimal(v)
    return v


@native("expect_column_values_to_not_be_null", "column", "mostly")
def _not_null(kw, ctx):
    col = ctx.col(kw["column"])
    return _map(kw, ctx, col, col.is_(None), f"have no {kw['column']}", count_nulls=True)


@native("expect_column_values_to_be_between", "column", "min_value", "max_value", "strict_min", "strict_max", "mostly")
def _values_between(kw, ctx):
    col = ctx.col(kw["column"], numeric=True, purpose="values_between")
    lo, hi = kw.get("min_value"), kw.get("max_value")
    conds = []
    if lo is not None:
        conds.append(col > lo if kw.get("strict_min") else col >= lo)
    if hi is not None:
        conds.append(col < hi if kw.get("strict_max") else col <= hi)
    if not conds:
        raise CannotMeasure("bad_kwargs", "values_between needs min_value or max_value")
    unexpected = sa.and_(col.is_not(None), sa.not_(sa.and_(*conds)))
    return _map(kw, ctx, col, unexpected, f"have {kw['column']} outside {_range_text(kw)}")


@native("expect_column_values_to_be_in_set", "column", "value_set", "mostly")
def _in_set(kw, ctx):
    col = ctx.col(kw["column"])
    values = list(kw.get("value_set") or [])
    unexpected = sa.and_(col.is_not(None), col.not_in(values))
    return _map(kw, ctx, col, unexpected, f"have {kw['column']} outside {values}", categories=True)


@native("expect_column_values_to_not_be_in_set", "column", "value_set", "mostly")
def _not_in_set(kw, ctx):
    col = ctx.col(kw["column"])
    values = list(kw.get("value_set") or [])
    unexpected = sa.and_(col.is_not(None), col.in_(values))
    return _map(kw, ctx, col, unexpected, f"have a forbidden {kw['column']}", categories=True)


@native("expect_column_values_to_be_unique", "column", "mostly")
def _unique(kw, ctx):
    col = ctx.col(kw["column"])
    dup_values = sa.select(col).select_from(ctx.table).where(col.is_not(None)).group_by(col).having(sa.func.count() > 1)
    unexpected = col.in_(dup_values.scalar_subquery())
    # The scan only learns whether duplicates exist (count vs count distinct); the exact GX count of rows
    # holding a duplicated value is a follow-up query, run only then.
    aggs = {"total": sa.func.count(), "nonnull": sa.func.count(col), "distinct": sa.func.count(sa.distinct(col))}

    def finish(v):
        total, nonnull = int(v["total"]), int(v["nonnull"])
        bad = 0
        if int(v["distinct"]) < nonnull:
            bad = int(ctx.source.execute(sa.select(sa.func.count()).select_from(ctx.table).where(unexpected))[0][0])
        success = True if nonnull == 0 else (nonnull - bad) / nonnull >= kw.get("mostly", 1.0)
        observed = {"unexpected_count": bad, "unexpected_percent": _pct(bad, nonnull), "element_count": total}
        evidence: dict[str, Any] = {}
        if bad:
            if ctx.key:
                evidence["rows"] = ctx.flagged_rows(unexpected, col, bad)
            evidence["values"] = _value_counts(ctx, col, unexpected, evidence.get("rows"))
        message = None if success else f"{bad:,} of {nonnull:,} rows share a {kw['column']} with another row"
        return Outcome(success, observed, evidence, message)

    return aggs, finish


@native("expect_column_distinct_values_to_be_in_set", "column", "value_set")
def _distinct_in_set(kw, ctx):
    col = ctx.col(kw["column"])
    allowed = list(kw.get("value_set") or [])

    def finish(v):
        observed = sorted((i["value"] for i in _value_counts(ctx, col, col.is_not(None))["items"]), key=_sort_key)
        unexpected = _value_counts(ctx, col, sa.and_(col.is_not(None), col.not_in(allowed)))
        ok = unexpected["count"] == 0
        message = None if ok else f"{unexpected['count']} distinct value(s) of {kw['column']} outside {allowed}"
        return Outcome(ok, observed, {} if ok else {"values": unexpected}, message)

    return {}, finish


# text: regexes and lengths -------------------------------------------------------------------------------------

_REGEX = ("expect_column_values_to_match_regex", "expect_column_values_to_not_match_regex")
_LENGTHS = ("expect_column_value_lengths_to_be_between", "expect_column_value_lengths_to_equal")
_STRING_DIALECTS = frozenset({"duckdb", "postgresql", "sqlite", "spark"})
_JAVA_END = re.compile(r"(?<!\\)((?:\\\\)*)\$")  # an unescaped `$`: the end anchor in regex_subset's spelling


def _matches(ctx: Context, col: sa.ColumnClause, regex: str) -> sa.ColumnElement:
    """Whether `col` contains a match of `regex` (Python's re.search), in the dialect's engine. The pattern
    is the portable subset's own spelling (regex_subset.py), passed as a value: bound, or rendered as a
    string literal by the dialect, never SQL text."""
    pattern = sa.literal(regex_subset.translate(regex, ctx.dialect), sa.String)
    if ctx.dialect == "duckdb":
        return sa.func.regexp_matches(col, pattern)  # RE2, a search; DuckDB's `~` is a full match
    if ctx.dialect == "postgresql":
        return col.op("~")(pattern)
    if ctx.dialect == "spark":  # RLIKE, Java's find(): RE2's spelling, but Java's `$` also matches before a
        # final \r or \u2028: the absolute end is `\z`
        text = _JAVA_END.sub(r"\1\\z", regex_subset.translate(regex, "duckdb"))
        return col.regexp_match(sa.literal(text, sa.String))
    return col.regexp_match(pattern)  # SQLite: SQLAlchemy's REGEXP is Python's re.search


@native("expect_column_values_to_match_regex", "column", "regex", "mostly")
def _match_regex(kw, ctx):
    col = ctx.col(kw["column"])
    unexpected = sa.and_(col.is_not(None), sa.not_(_matches(ctx, col, kw["regex"])))
    return _map(kw, ctx, col, unexpected, f"have {kw['column']} not matching {kw['regex']!r}")


@native("expect_column_values_to_not_match_regex", "column", "regex", "mostly")
def _not_match_regex(kw, ctx):
    col = ctx.col(kw["column"])
    unexpected = sa.and_(col.is_not(None), _matches(ctx, col, kw["regex"]))
    return _map(kw, ctx, col, unexpected, f"have {kw['column']} matching {kw['regex']!r}")


@native(
    "expect_column_value_lengths_to_be_between",
    "column",
    "min_value",
    "max_value",
    "strict_min",
    "strict_max",
    "mostly",
)
def _lengths_between(kw, ctx):
    col = ctx.col(kw["column"])
    # code points, as Python's len counts them (GX on DuckDB) and as GX's own length() counts them elsewhere
    length = sa.func.length(col)
    lo, hi = kw.get("min_value"), kw.get("max_value")
    conds = []
    if lo is not None:
        conds.append(length > int(lo) if kw.get("strict_min") else length >= int(lo))
    if hi is not None:
        conds.append(length < int(hi) if kw.get("strict_max") else length <= int(hi))
    unexpected = sa.and_(col.is_not(None), sa.not_(sa.and_(*conds)))
    return _map(kw, ctx, col, unexpected, f"have {kw['column']} of a length outside {_range_text(kw)}")


@native("expect_column_value_lengths_to_equal", "column", "value", "mostly")
def _lengths_equal(kw, ctx):
    col = ctx.col(kw["column"])
    unexpected = sa.and_(col.is_not(None), sa.func.length(col) != int(kw["value"]))
    return _map(kw, ctx, col, unexpected, f"have {kw['column']} of a length other than {int(kw['value'])}")


# column pairs -------------------------------------------------------------------------------------------------

_BOTH, _EITHER, _NEITHER = "both_values_are_missing", "either_value_is_missing", "neither"
_IGNORE = (_BOTH, _EITHER, _NEITHER)
_PAIRS = ("expect_column_pair_values_a_to_be_greater_than_b", "expect_column_pair_values_to_be_equal")


def _comparable(a: ColumnInfo, b: ColumnInfo) -> bool:
    return (a.numeric and b.numeric) or (a.text and b.text) or (a.temporal and b.temporal)


def _pandas_semantics(ctx: Context) -> bool:
    """Whether GX validates this source on pandas (DuckDB: gx_engine reads it into a DataFrame), where NaN
    is missing and any comparison with a missing value is false; else GX's SQL decides, where a comparison
    with NULL is unknown and so never counts as unexpected."""
    from sentinel.checks.gx_engine import GX_SQL_DIALECTS

    return ctx.dialect not in GX_SQL_DIALECTS


def _missing(ctx: Context, name: str, col: sa.ColumnClause) -> sa.ColumnElement:
    """NULL, and on pandas also NaN (a DataFrame cannot tell them apart)."""
    kind = ctx.columns[name].type.upper()
    if _pandas_semantics(ctx) and any(t in kind for t in ("DOUBLE", "FLOAT", "REAL")):
        return sa.or_(col.is_(None), sa.func.isnan(col))
    return col.is_(None)


def _pair(
    kw: dict[str, Any], ctx: Context, holds: Callable[[sa.ColumnClause, sa.ColumnClause], sa.ColumnElement], what: str
) -> tuple[dict[str, sa.ColumnElement], Callable[[dict], Outcome]]:
    """A row-level expectation on two columns, as GX computes it: rows are first dropped by `ignore_row_if`
    (both missing, by default; either; neither); of the rest, a row is unexpected when `holds` is not true.
    On pandas a missing value makes `holds` false; in SQL it makes it unknown, which GX does not count
    (expect_column_pair_values_to_be_equal counts a missing value as unequal on both)."""
    a_name, b_name = kw["column_A"], kw["column_B"]
    a, b = ctx.col(a_name), ctx.col(b_name)
    a_missing, b_missing = _missing(ctx, a_name, a), _missing(ctx, b_name, b)
    ignore = kw.get("ignore_row_if", _BOTH)
    considered = {
        _BOTH: sa.not_(sa.and_(a_missing, b_missing)),
        _EITHER: sa.not_(sa.or_(a_missing, b_missing)),
        _NEITHER: sa.true(),
    }[ignore]
    fails = sa.not_(holds(a, b))
    if _pandas_semantics(ctx):
        fails = sa.or_(a_missing, b_missing, fails)
    unexpected = sa.and_(considered, fails)
    aggs = {
        "total": sa.func.count(),
        "considered": sa.func.sum(sa.case((considered, 1), else_=0)),
        "bad": sa.func.sum(sa.case((unexpected, 1), else_=0)),
    }

    def finish(v):
        total, considered_n, bad = int(v["total"]), int(v["considered"] or 0), int(v["bad"] or 0)
        success = True if considered_n == 0 else (considered_n - bad) / considered_n >= kw.get("mostly", 1.0)
        observed = {"unexpected_count": bad, "unexpected_percent": _pct(bad, considered_n), "element_count": total}
        evidence: dict[str, Any] = {}
        if bad and ctx.key:
            evidence["rows"] = _pair_rows(ctx, unexpected, a, b, bad)
        message = None
        if not success:
            message = f"{bad:,} of {considered_n:,} rows ({_pct(bad, considered_n):.3g}%) have {a_name} {what} {b_name}"
            message += _examples(evidence)
        return Outcome(success, observed, evidence, message)

    return aggs, finish


def _pair_rows(
    ctx: Context, where: sa.ColumnElement, a: sa.ColumnClause, b: sa.ColumnClause, total: int
) -> dict[str, Any]:
    """The violating rows' keys with both values (column_A's as `value`, column_B's as `value_B`), by key."""
    try:
        key = ctx.key_col()
    except CannotMeasure as exc:
        return {"count": total, "items": [], "omitted": total, "note": exc.message}
    stmt = sa.select(key, a, b).select_from(ctx.table).where(where).order_by(key).limit(ctx.evidence_limit)
    items = [{"key": r[0], "value": exact(r[1]), "value_B": exact(r[2])} for r in ctx.source.execute(stmt)]
    return capped(items, total)


@native(
    "expect_column_pair_values_a_to_be_greater_than_b", "column_A", "column_B", "or_equal", "ignore_row_if", "mostly"
)
def _a_greater_than_b(kw, ctx):
    if kw.get("or_equal"):
        if _pandas_semantics(ctx):
            return _pair(kw, ctx, lambda a, b: a >= b, "below")
        # GX's SQL also takes two NULLs as "equal"
        return _pair(kw, ctx, lambda a, b: sa.or_(a >= b, sa.and_(a.is_(None), b.is_(None))), "below")
    return _pair(kw, ctx, lambda a, b: a > b, "not above")


@native("expect_column_pair_values_to_be_equal", "column_A", "column_B", "ignore_row_if", "mostly")
def _pair_equal(kw, ctx):
    # GX's SQL: equal and neither missing, so a missing value is unequal there too
    return _pair(kw, ctx, lambda a, b: sa.and_(a == b, a.is_not(None), b.is_not(None)), "unequal to")


# --- plan ----------------------------------------------------------------------------------------------------


def _bounds_suit_column(ctx: Context, type_: str, kwargs: dict[str, Any]) -> None:
    """Dates against a numeric column, or numbers against a date column, can only be an `error`: GX would
    compare them anyway and give a verdict (or a TypeError) that says nothing about the data."""
    info = ctx.columns.get(kwargs.get("column")) if expect_rules.value_bounds(type_) else None
    if info is None or not (info.numeric or info.temporal):
        return
    for bound in ("min_value", "max_value"):
        v = kwargs.get(bound)
        kind = None if v is None else expect_rules.bound_kind(v)
        if (kind == "date" and info.numeric) or (kind == "number" and info.temporal):
            shown = repr(v) if isinstance(v, str) else str(v)
            raise CannotMeasure(
                "wrong_type",
                f"{bound} {shown} is a {kind}, but column {kwargs['column']!r} is {info.type}: "
                f"bounds must be {'numbers' if info.numeric else 'dates'} here",
            )


def plan(spec: Spec, ctx: Context) -> Plan:
    return plan_expectation(spec, ctx, spec.params.type, spec.params.kwargs, spec.params.engine)


def plan_expectation(spec: Spec, ctx: Context, type_: str, kwargs: dict[str, Any], engine: str = "auto") -> Plan:
    expected = {"expectation": type_, "kwargs": kwargs}
    _bounds_suit_column(ctx, type_, kwargs)
    here = native_here(ctx, type_, kwargs) if engine != "gx" and is_native(type_, kwargs) else ("gx", "")
    if here and engine == "native":  # the config asked for native; these columns cannot have GX's answer
        raise CannotMeasure(here[0], f"{here[1]}: use engine: auto or gx")
    if not here:
        aggs, finish = NATIVE[type_][1](kwargs, ctx)

        def done(values: dict[str, Any]):
            o = finish(values)
            diagnosis = None if o.success else {"cause": "violation", "message": o.message or f"{type_} failed"}
            metrics = {}
            if isinstance(o.observed, int | float) and not isinstance(o.observed, bool):
                metrics["observed"] = float(o.observed)
            elif isinstance(o.observed, dict) and "unexpected_count" in o.observed:
                metrics["unexpected_count"] = float(o.observed["unexpected_count"])
            return result(
                spec,
                ctx,
                o.success,
                cause="violation",
                observed=o.observed,
                expected=expected,
                evidence=o.evidence,
                diagnosis=diagnosis,
                metrics=metrics,
            )

        return Plan(done, aggs)

    from sentinel.checks import gx_engine  # GX itself is imported only when the batch runs

    # gathered now, before any check is finished: the dataset's long tail is one GX validation
    return Plan(gx_engine.enqueue(spec, ctx, type_, kwargs, expected))
