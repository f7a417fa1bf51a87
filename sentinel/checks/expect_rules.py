"""What an expectation's kwargs must say before it may run: GX's own validators, checked at config load
without importing GX, and stricter where GX gives a verdict on a check that cannot mean anything.

GX 1.x rejects a missing `value_set`, `min_value` above `max_value` (row counts, values between), bounds that
are neither numbers nor dates, `mostly` outside [0, 1], an empty `value_set` for distinct values and
unordered quantile ranges, but only when the expectation is built, which Sentinel's native path never does;
and it *passes* a statistic with no bounds, a `match_regex` without a regex (its default matches all) or a
range like [5, 1] of a mean. Here each is a located configuration error: a check without what it needs to
fail must never pass. Whether a date bound suits the column only the data can say (expect.plan_expectation).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sentinel.checks.gx_catalog import COMMON, EXPECTATIONS, REQUIRED

Loc = tuple[str | int, ...]

# Required by Sentinel though GX has a default: without them the expectation cannot fail.
_MEANINGFUL = {
    "expect_column_values_to_match_regex": frozenset({"regex"}),
    "expect_table_columns_to_match_set": frozenset({"column_set"}),
    "expect_table_columns_to_match_ordered_list": frozenset({"column_list"}),
}
_NOT_BOUNDS = {"expect_column_k_l_divergence_to_be_less_than"}  # min/max there are histogram edges
_COUNTS = {  # bounds of a count, length, share or spread: numbers whatever the column holds
    "expect_table_row_count_to_be_between",
    "expect_table_column_count_to_be_between",
    "expect_column_value_lengths_to_be_between",
    "expect_column_proportion_of_non_null_values_to_be_between",
    "expect_column_proportion_of_unique_values_to_be_between",
    "expect_column_stdev_to_be_between",
    "expect_column_unique_value_count_to_be_between",
}
_NON_EMPTY_SETS = {
    "expect_column_distinct_values_to_be_in_set",
    "expect_column_distinct_values_to_contain_set",
    "expect_column_distinct_values_to_equal_set",
    "expect_column_most_common_value_to_be_in_set",
}


def dotted(loc: Loc) -> str:
    """A location as a path suffix: ('kwargs', 'value_ranges', 1) -> '.kwargs.value_ranges[1]'."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def has_bounds(type_: str) -> bool:
    """Whether min_value/max_value are the expectation's accepted range."""
    kw = EXPECTATIONS.get(type_, frozenset())
    return "min_value" in kw and "max_value" in kw and type_ not in _NOT_BOUNDS


def value_bounds(type_: str) -> bool:
    """Whether the bounds compare against the column's own values (so their type must match the column's)."""
    return has_bounds(type_) and type_ not in _COUNTS and "column" in EXPECTATIONS[type_]


def bound_kind(v: Any) -> str | None:
    """'number' or 'date' for a usable bound (GX takes numbers, dates and date strings), else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return None if isinstance(v, float) and math.isnan(v) else "number"
    if isinstance(v, dt.date):
        return "date"
    if isinstance(v, str):
        try:
            return None if math.isnan(float(v)) else "number"
        except ValueError:
            pass
        try:
            dt.datetime.fromisoformat(v)
            return "date"
        except ValueError:
            return None
    return None


def problems(type_: str, kwargs: dict[str, Any]) -> list[tuple[Loc, str]]:
    """Every problem of one expectation, each with where it is (relative to the `expect` mapping)."""
    if type_ not in EXPECTATIONS:
        import difflib

        close = difflib.get_close_matches(type_, EXPECTATIONS, n=1)
        return [((), f"unknown expectation {type_!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))]
    allowed = EXPECTATIONS[type_]
    out: list[tuple[Loc, str]] = [
        (("kwargs", k), f"{type_} has no kwarg {k!r} (allowed: {', '.join(sorted(allowed))})")
        for k in sorted(set(kwargs) - allowed - COMMON, key=str)
    ]
    for k in sorted(REQUIRED.get(type_, frozenset()) | _MEANINGFUL.get(type_, frozenset())):
        if kwargs.get(k) is None:
            out.append((("kwargs", k), "required"))
    for k in ("column", "column_A", "column_B"):
        v = kwargs.get(k)
        if v is not None and (not isinstance(v, str) or not v):
            out.append((("kwargs", k), "must be a column name"))
    mostly = kwargs.get("mostly")
    if mostly is not None and (bound_kind(mostly) != "number" or isinstance(mostly, str) or not 0 <= mostly <= 1):
        out.append((("kwargs", "mostly"), f"must be a number between 0 and 1, got {mostly!r}"))
    if has_bounds(type_):
        out += _bounds(type_, kwargs)
    value_set = kwargs.get("value_set")
    if value_set is not None:
        if not isinstance(value_set, list):
            out.append((("kwargs", "value_set"), f"must be a list of values, got {value_set!r}"))
        elif not value_set and type_ in _NON_EMPTY_SETS:
            out.append((("kwargs", "value_set"), "must not be empty"))
    if type_ in ("expect_table_row_count_to_equal", "expect_table_column_count_to_equal"):
        v = kwargs.get("value")
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            out.append((("kwargs", "value"), f"must be a whole number >= 0, got {v!r}"))
    if type_ == "expect_column_quantile_values_to_be_between" and kwargs.get("quantile_ranges") is not None:
        out += _quantile_ranges(kwargs["quantile_ranges"])
    return out


def _bounds(type_: str, kwargs: dict[str, Any]) -> list[tuple[Loc, str]]:
    out: list[tuple[Loc, str]] = []
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    if lo is None and hi is None:
        return [(("kwargs",), f"needs min_value, max_value or both: {type_} without bounds checks nothing")]
    kinds = {}
    for name, v in (("min_value", lo), ("max_value", hi)):
        if v is None:
            continue
        kind = bound_kind(v)
        if isinstance(v, dict) and "$PARAMETER" in v:
            out.append((("kwargs", name), "suite parameters ($PARAMETER) are not supported: give the value itself"))
        elif kind is None:
            out.append((("kwargs", name), f"must be a number or an ISO 8601 date, got {v!r}"))
        elif kind == "date" and type_ in _COUNTS:
            out.append((("kwargs", name), f"must be a number, got {v!r}"))
        else:
            kinds[name] = kind
    if len(kinds) == 2:
        if kinds["min_value"] != kinds["max_value"]:
            out.append((("kwargs", "max_value"), "min_value and max_value must both be numbers or both dates"))
        elif _above(lo, hi, kinds["min_value"]):
            out.append((("kwargs", "min_value"), f"min_value ({lo}) must be less than or equal to max_value ({hi})"))
    return out


def _above(lo: Any, hi: Any, kind: str) -> bool:
    if kind == "number":
        return float(lo) > float(hi)

    def as_datetime(v: Any) -> dt.datetime:
        if isinstance(v, str):
            v = dt.datetime.fromisoformat(v)
        return v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time())

    try:
        return as_datetime(lo) > as_datetime(hi)
    except TypeError:  # one with a time zone, one without: GX cannot compare them either
        return False


def _quantile_ranges(qr: Any) -> list[tuple[Loc, str]]:
    at: Loc = ("kwargs", "quantile_ranges")
    if not isinstance(qr, dict):
        return [(at, "must be a mapping with `quantiles` and `value_ranges`")]
    qs, ranges = qr.get("quantiles"), qr.get("value_ranges")
    out: list[tuple[Loc, str]] = []
    if not isinstance(qs, list) or not qs:
        out.append(((*at, "quantiles"), "required: a list of quantiles between 0 and 1"))
    else:
        for i, q in enumerate(qs):
            if bound_kind(q) != "number" or isinstance(q, str) or not 0 <= q <= 1:
                out.append(((*at, "quantiles", i), f"must be a number between 0 and 1, got {q!r}"))
    if not isinstance(ranges, list) or not ranges:
        out.append(((*at, "value_ranges"), "required: one [min, max] pair per quantile"))
        return out
    if isinstance(qs, list) and len(qs) != len(ranges):
        out.append(((*at, "value_ranges"), f"has {len(ranges)} ranges for {len(qs)} quantiles"))
    for i, pair in enumerate(ranges):
        where = (*at, "value_ranges", i)
        if not isinstance(pair, list) or len(pair) != 2:
            out.append((where, f"must be a [min, max] pair (null for open), got {pair!r}"))
            continue
        kinds = [None if v is None else bound_kind(v) for v in pair]
        if any(v is not None and k is None for v, k in zip(pair, kinds, strict=True)):
            out.append((where, f"must hold numbers or dates, got {pair!r}"))
        elif None not in kinds and len(set(kinds)) == 1 and _above(pair[0], pair[1], kinds[0]):
            out.append((where, f"is out of order: min {pair[0]} > max {pair[1]}"))
    return out
