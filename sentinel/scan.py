"""The dataset's aggregate scan, shared by a run (runner.py) and `check_frame` (frame.py): plan every check,
compute all their aggregates in as few statements as possible, finish each check from its values.

Identical expressions (same literal SQL) are computed once. A statement holds at most MAX_EXPRESSIONS of
them (Soda Core splits its queries the same way), so 500 checks are three bounded SELECTs, not one that
grows with the config. The happy path is exactly those statements. When one fails for a reason other than
the connection (a type the database refuses, a function the dialect lacks, a column it may not read), it is
split in halves and re-run until each failing expression is alone: only the checks that use it are `error`,
with the database's message, and every other check gets its values (about 2*log2(n) extra statements per
bad expression, at most MAX_SPLITS splits a scan). A lost connection, a timeout or a table that no longer
answers a one-row query is not split: it would fail again, or cost the scan again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from sentinel.checks import KINDS
from sentinel.checks.common import CannotMeasure, Context, Plan, Spec, error
from sentinel.results import CheckResult

log = logging.getLogger(__name__)

MAX_EXPRESSIONS = 200  # select expressions per statement
NOT_SPLIT = frozenset({"unreachable", "timeout"})  # failures that are not the expression's fault
MAX_SPLITS = 64  # statements split per scan; past it, what is still mixed fails together
# see list_flagged; the row stores tests/test_scan.py runs it on (MySQL, SQL Server, Oracle keep a query per check
# until a test runs the shared listing there)
ROW_STORES = frozenset({"postgresql", "sqlite"})


def run_checks(specs: Sequence[Spec], ctx: Context, tell: Callable[[str], None] | None = None) -> list[CheckResult]:
    """One result per planned check, in order; a check that cannot plan, measure or finish is `error` alone.
    `tell(step)` hears of each step (the scan, then each check as it is finished) for a progress display."""
    planned = plan_checks(specs, ctx)
    plans = [p for _, p in planned if isinstance(p, Plan)]
    if tell is not None and plans:
        tell(f"scanning for {len(specs)} check(s)")
    found = scan(plans, ctx)
    list_flagged(ctx, found)
    return finish_checks(planned, ctx, found, tell)


def plan_checks(specs: Sequence[Spec], ctx: Context) -> list[tuple[Spec, Plan | CheckResult]]:
    """Each spec's plans (an `expect_suite` gives one per expectation), or its error result."""
    planned: list[tuple[Spec, Plan | CheckResult]] = []
    for spec in specs:
        try:
            made = KINDS[spec.kind].plan(spec, ctx)
        except CannotMeasure as exc:
            planned.append((spec, error(spec, ctx.dataset_name, exc.cause, exc.message)))
            continue
        except Exception as exc:  # a broken check must not take the others down
            log.exception("check %s.%s failed to plan", ctx.dataset_name, spec.name)
            planned.append((spec, error(spec, ctx.dataset_name, "check_crashed", f"{type(exc).__name__}: {exc}")))
            continue
        for p in made if isinstance(made, list) else [made]:
            planned.append((spec, p))
    return planned


class Scan:
    """The values of every aggregate, by expression label, and the failure of each label that has none."""

    def __init__(self, wiring: dict[int, dict[str, str]], label_of: dict[int, str] | None = None):
        self.wiring = wiring  # id(plan) -> {the plan's own name: label}
        self.label_of = label_of or {}  # id(expression) -> its label, for every planned expression
        self.values: dict[str, Any] = {}
        self.failed: dict[str, CannotMeasure] = {}
        self.lost: CannotMeasure | None = None  # the table or the connection failed, not an expression
        self.probed = False  # after a failed statement: the table answers a trivial query
        self.splits = 0

    def value_of(self, expr: sa.ColumnElement) -> Any:
        """The value of a planned aggregate expression, or None when it was not computed."""
        label = self.label_of.get(id(expr))
        return None if label is None else self.values.get(label)

    def of(self, plan: Plan) -> dict[str, Any]:
        """The plan's values; raises the database's error when one of its expressions failed."""
        local = self.wiring.get(id(plan), {})
        for lbl in local.values():
            if lbl in self.failed:
                raise self.failed[lbl]
        return {name: self.values[lbl] for name, lbl in local.items()}


def scan(plans: Sequence[Plan], ctx: Context) -> Scan:
    """Run the plans' aggregates over ctx.table: de-duplicated, MAX_EXPRESSIONS a statement, failures isolated."""
    dialect = ctx.source.engine.dialect
    labels: dict[str, str] = {}
    exprs: dict[str, sa.ColumnElement] = {}
    wiring: dict[int, dict[str, str]] = {}
    label_of: dict[int, str] = {}
    for p in plans:
        local: dict[str, str] = {}
        for name, expr in p.aggregates.items():
            k = _sql_key(expr, dialect)
            if k not in labels:
                labels[k] = f"a{len(labels)}"
                exprs[labels[k]] = expr
            local[name] = labels[k]
            label_of[id(expr)] = labels[k]
        wiring[id(p)] = local
    out = Scan(wiring, label_of)
    items = list(exprs.items())
    for start in range(0, len(items), MAX_EXPRESSIONS):
        _select(ctx, items[start : start + MAX_EXPRESSIONS], out)
    return out


def _select(ctx: Context, items: list[tuple[str, sa.ColumnElement]], out: Scan) -> None:
    """One SELECT of `items`; on an expression's failure, each half again until the failing ones are alone."""
    if out.lost is not None:  # do not knock again for every statement
        out.failed.update((lbl, out.lost) for lbl, _ in items)
        return
    stmt = sa.select(*[e.label(lbl) for lbl, e in items]).select_from(ctx.table)
    try:
        out.values.update(ctx.source.execute(stmt)[0]._mapping)
        return
    except CannotMeasure as exc:
        failure = exc
    except Exception as exc:  # e.g. an expression the dialect cannot compile
        first = (str(exc).strip().splitlines() or [""])[0]
        failure = CannotMeasure("query_failed", f"{type(exc).__name__}: {first}")
    if failure.cause in NOT_SPLIT or not _table_answers(ctx, out):
        out.lost = out.lost or failure
        out.failed.update((lbl, out.lost) for lbl, _ in items)
        return
    if len(items) == 1 or out.splits >= MAX_SPLITS:
        if failure.cause == "missing_table":  # the table answers: what "does not exist" is a function or operator
            failure = CannotMeasure("query_failed", failure.message)
        out.failed.update((lbl, failure) for lbl, _ in items)
        return
    out.splits += 1
    half = len(items) // 2
    _select(ctx, items[:half], out)
    _select(ctx, items[half:], out)


def list_flagged(ctx: Context, found: Scan) -> None:
    """The flagged rows of every check that declared a listing (Context.counted_rows) and whose count came back
    non-zero and within the evidence limit, fetched in one statement ordered by key: each check's rows are then
    those its own query would return (all of them, in key order), at the cost of one table scan instead of one
    a check. Only on row stores (ROW_STORES): a column store reads each check's few columns with its filter
    pushed into the scan, and one scan filtering on all of them was slower on DuckDB (46 ms against 15 + 22 ms
    at 10M rows; PostgreSQL 0.74 s against 0.60 + 0.39 s). Left to each check's own query
    (Context.flagged_rows): a single listing, one over the limit (its query takes the first `evidence_limit`),
    and any whose rows here do not number its count (the table changed between the statements, on a database
    without one snapshot per run). Nothing is listed here on any failure."""
    listings = ctx.cache.get("listings") or []
    if len(listings) < 2 or not ctx.key or ctx.dialect not in ROW_STORES:
        return
    due = []
    for item in listings:
        n = found.value_of(item.count)
        if n is not None and 0 < int(n) <= ctx.evidence_limit:
            due.append((item, int(n)))
    if len(due) < 2:
        return
    try:
        key = ctx.key_col()
        cols: list[sa.ColumnElement] = [key.label("key")]
        at = []  # per listing: the positions of its value (or None) and its flag in each row
        for i, (item, _) in enumerate(due):
            v = None
            if item.value is not None:
                v = len(cols)
                cols.append(item.value.label(f"v{i}"))
            at.append((v, len(cols)))
            cols.append(sa.case((item.where, 1), else_=0).label(f"f{i}"))
        total = sum(n for _, n in due)
        where = sa.or_(*(item.where for item, _ in due))
        stmt = sa.select(*cols).select_from(ctx.table).where(where).order_by(key).limit(total + 1)
        rows = ctx.source.execute(stmt)
    except CannotMeasure:  # each check's own query will meet (and report) whatever failed here
        return
    if len(rows) > total:  # more rows than the scan counted: the table changed since
        return
    listed = ctx.cache.setdefault("listed", {})
    for (item, n), (v, f) in zip(due, at, strict=True):
        mine = [(r[0],) if v is None else (r[0], r[v]) for r in rows if r[f]]
        if len(mine) == n:
            listed[(id(item.where), id(item.value))] = mine


def _table_answers(ctx: Context, out: Scan) -> bool:
    """Once per scan, after a failed statement: whether the table itself still answers (one row, no scan).
    If not, the failure is the table's or the connection's, and splitting would only repeat it."""
    if not out.probed:
        out.probed = True
        try:
            ctx.source.execute(sa.select(sa.literal(1)).select_from(ctx.table).limit(1))
        except CannotMeasure as exc:
            out.lost = exc
    return out.lost is None


def finish_checks(
    planned: list[tuple[Spec, Plan | CheckResult]],
    ctx: Context,
    found: Scan,
    tell: Callable[[str], None] | None = None,
) -> list[CheckResult]:
    out: list[CheckResult] = []
    for spec, p in planned:
        if isinstance(p, CheckResult):
            out.append(p)
            continue
        spec = p.spec or spec
        if tell is not None:
            tell(spec.name)
        try:
            out.append(p.finish(found.of(p)))
        except CannotMeasure as exc:
            out.append(error(spec, ctx.dataset_name, exc.cause, exc.message))
        except Exception as exc:
            log.exception("check %s.%s crashed", ctx.dataset_name, spec.name)
            out.append(error(spec, ctx.dataset_name, "check_crashed", f"{type(exc).__name__}: {exc}"))
    return out


def _sql_key(expr: sa.ColumnElement, dialect: sa.Dialect) -> str:
    try:
        return str(expr.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except Exception:
        return f"id:{id(expr)}"
