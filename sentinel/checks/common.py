"""What check kinds share: the resolved spec, the run context, the plan they return, and result helpers."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sentinel.checks import sqlstats
from sentinel.checks.exact import exact, grouped
from sentinel.envsubst import redact
from sentinel.results import CannotMeasure, CheckResult, json_items
from sentinel.sources import ColumnInfo, SqlSource

__all__ = [
    "CannotMeasure",
    "Context",
    "Plan",
    "Spec",
    "approx",
    "capped",
    "error",
    "left_out",
    "not_finite",
    "number",
    "result",
]


_AS_IS = frozenset({int, float, str, bool, type(None)})  # values `exact` returns as they are


@dataclass(frozen=True)
class Spec:
    name: str
    kind: str
    severity: str
    params: Any


@dataclass
class Plan:
    """Aggregates for the dataset's single scan (label -> expression) and how to finish from their values."""

    finish: Callable[[dict[str, Any]], CheckResult]
    aggregates: dict[str, sa.ColumnElement] = field(default_factory=dict)
    spec: Spec | None = None  # whose result this is when not the planned check's (one expectation of a suite)


@dataclass(frozen=True)
class Listing:
    """Rows a check will list if its count (an aggregate of the scan) is not zero: see Context.counted_rows."""

    where: sa.ColumnElement
    value: sa.ColumnClause | None
    count: sa.ColumnElement


@dataclass
class Context:
    dataset_name: str
    key: str | None
    source: SqlSource
    table: sa.TableClause
    columns: dict[str, ColumnInfo]
    now: dt.datetime
    evidence_limit: int
    schema_snapshot: dict[str, str] | None = None
    history: dict[str, Any] = field(default_factory=dict)  # what earlier runs learnt, e.g. flagged buckets
    fx_rates: dict[str, float] = field(default_factory=dict)  # config.yaml `fx_rates`, units per USD
    root: Path = field(default_factory=Path.cwd)  # the config folder, for files checks refer to
    cache: dict[str, Any] = field(default_factory=dict)  # per-run memo, e.g. the GX batch

    @property
    def dialect(self) -> str:
        return self.source.dialect

    def col(self, name: str, *, numeric: bool = False, timestamps: bool = False, purpose: str = "") -> sa.ColumnClause:
        """A column of the dataset's table, checked to exist (and to be numeric, or not numeric for timestamps
        that may be stored as text, when asked)."""
        info = self.columns.get(name)
        if info is None:
            known = ", ".join(self.columns) or "none"
            raise CannotMeasure("missing_column", f"column {name!r} does not exist (columns: {known})")
        if numeric and not info.numeric:
            raise CannotMeasure(
                "wrong_type",
                f"column {name!r} is {info.type}, not numeric{f'; {purpose} needs numbers' if purpose else ''}",
            )
        if timestamps and info.numeric:
            raise CannotMeasure(
                "wrong_type", f"column {name!r} is {info.type}; {purpose or 'this check'} needs timestamps"
            )
        return self.table.c[name]

    def finite(self, name: str) -> list[sa.ColumnElement]:
        """Conditions that keep only finite values of numeric column `name` (none for integer columns, which
        cannot hold NaN or infinity): a statistic over a NaN is NaN, and its literal would break the next SQL."""
        if "INT" in self.columns[name].type.upper():
            return []
        return [sqlstats.finite(self.table.c[name])]

    def sums(self, names: list[str]) -> dict[str, sa.ColumnElement]:
        """sum() of each column that can hold NaN or infinity, for the dataset's scan. A sum is NaN or infinite
        exactly when its column holds one (or its finite values overflow), so the common case costs one cheap
        aggregate, shared by every check on the column, and no finite-only SQL; see `not_finite`."""
        return {f"sum:{n}": sa.func.sum(self.table.c[n]) for n in names if self.finite(n)}

    def left_out(self, name: str) -> dict[str, Any]:
        """Counts of column `name`'s NaN and infinite values, and the sum and count of its finite ones: one more
        scan, run only when `sums` showed the column holds some."""
        col = self.table.c[name]
        kept = sa.case((sqlstats.finite(col), col))
        stmt = sa.select(
            sa.func.sum(sa.case((col == sqlstats.special("NaN"), 1), else_=0)).label("nan"),
            sa.func.sum(
                sa.case((col.in_([sqlstats.special("Infinity"), sqlstats.special("-Infinity")]), 1), else_=0)
            ).label("infinite"),
            sa.func.sum(kept).label("sum"),
            sa.func.count(kept).label("count"),
        ).select_from(self.table)
        return dict(self.source.execute(stmt)[0]._mapping)

    def key_col(self) -> sa.ColumnClause:
        if not self.key:
            raise CannotMeasure("no_key", "the dataset has no `key:` to name rows by")
        return self.col(self.key)

    def counted_rows(self, where: sa.ColumnElement, value: sa.ColumnClause | None) -> sa.ColumnElement:
        """The scan's count of the rows where `where` holds, for a check that will list them with
        `flagged_rows(where, value, count)`: declared here, before the scan, so that a run listing several
        checks' rows fetches them all in one statement (scan.list_flagged) instead of one table scan each."""
        count = sa.func.sum(sa.case((where, 1), else_=0))
        self.cache.setdefault("listings", []).append(Listing(where, value, count))
        return count

    def flagged_rows(self, where: sa.ColumnElement, value: sa.ColumnClause | None, total: int) -> dict[str, Any]:
        """Evidence for `total` flagged rows: their keys (and values, exact: sentinel/checks/exact.py) ordered by
        key, capped at the evidence limit. A missing key column is noted in the evidence; it does not hide the
        verdict."""
        try:
            key = self.key_col()
        except CannotMeasure as exc:
            return {"count": total, "items": [], "omitted": total, "note": exc.message}
        rows = self.cache.get("listed", {}).pop((id(where), id(value)), None)
        if rows is None:
            cols = [key.label("key")] + ([value.label("value")] if value is not None else [])
            stmt = sa.select(*cols).select_from(self.table).where(where).order_by(key).limit(self.evidence_limit)
            rows = self.source.execute(stmt)
        keys = [r[0] for r in rows]
        if value is None:
            return capped(json_items([{"key": k} for k in keys], keys), total)
        values = [r[1] for r in rows]
        if not set(map(type, values)) <= _AS_IS:  # a DECIMAL's Decimal, a frame's numpy scalar
            values = list(map(exact, values))
        items = [{"key": k, "value": v} for k, v in zip(keys, values, strict=True)]
        return capped(json_items(items, keys, values), total)


def result(spec: Spec, ctx: Context, ok: bool, *, cause: str | None = None, **kw: Any) -> CheckResult:
    status = "pass" if ok else ("warn" if spec.severity == "warn" else "fail")
    return CheckResult(ctx.dataset_name, spec.name, spec.kind, status, spec.severity, cause=None if ok else cause, **kw)


def error(spec: Spec, dataset: str, cause: str, message: str) -> CheckResult:
    return CheckResult(
        dataset,
        spec.name,
        spec.kind,
        "error",
        spec.severity,
        diagnosis={"cause": cause, "message": redact(message)},  # no secret from the environment is stored
        cause=cause,
    )


def number(v: Any) -> str:
    """A value or candidate as messages and reports show it: exactly, with grouping separators
    ("12,345,678.90" for a decimal string, a float by its shortest round-trip digits). Never rounded: an owner
    copies it, and a correction writes it. Estimates (medians, references, ratios) go through `approx`."""
    shown = grouped(v)
    return str(v) if shown is None else shown


def approx(v: float) -> str:
    """An estimate as a message shows it: whole above 100, six significant digits below."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.6g}"


def capped(items: list, total: int) -> dict[str, Any]:
    """A list plus its exact total; `omitted` says how many the evidence limit left out."""
    return {"count": total, "items": items, "omitted": max(total - len(items), 0)}


def not_finite(values: dict[str, Any], names: list[str]) -> set[str]:
    """The columns whose `Context.sums` came back NaN or infinite: those the detectors' SQL must filter."""
    return {n for n in names if values.get(f"sum:{n}") is not None and not math.isfinite(float(values[f"sum:{n}"]))}


def left_out(values: dict[str, Any], column: str) -> tuple[dict[str, int], str | None]:
    """The NaN and infinite values `Context.left_out` counted, and a sentence saying they were left out."""
    counts = {k: int(values.get(k) or 0) for k in ("nan", "infinite")}
    parts = [f"{counts['nan']:,} NaN"] if counts["nan"] else []
    parts += [f"{counts['infinite']:,} infinite"] if counts["infinite"] else []
    if not parts:
        return counts, None
    return counts, f"{' and '.join(parts)} value{'s' if sum(counts.values()) > 1 else ''} of {column} left out"
