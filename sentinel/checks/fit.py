"""Least-squares lines y ~ a + b·v over any number of explanatory columns, per group, from sums in the database.

SQL's regr_slope fits one column. For several, the database sums what the normal equations need (n, Σv, Σy,
Σv·vᵀ, Σv·y) per group of the detector's sample, and numpy solves them: a few numbers per group cross the
wire, never rows. `robust()` then refits each group without the rows beyond `TRIM` robust sigmas of its first
line, so the faults being hunted (x10 rows, yen rows) do not tilt the line they are judged against.

Only rows with every explanatory value take part. Groups with fewer than `min_group` such rows, or whose
columns do not vary enough to fix a line, use the line of the whole sample. A column that is constant (or
missing) everywhere cannot explain anything: that is an error, not a silent fallback to the median.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from sentinel.checks.common import CannotMeasure
from sentinel.checks.sqlstats import median, same
from sentinel.sources import SqlSource

TRIM = 4.0  # robust sigmas of the first line beyond which a row does not take part in the refit
FLOOR = 0.01  # log10 units: the least spread the trim uses, so identical rows are not all trimmed


@dataclass(frozen=True)
class Line:
    a: float
    b: tuple[float, ...]
    n: int  # rows behind it


@dataclass(frozen=True)
class Fits:
    groups: dict[tuple[str, ...], Line | None]  # every group of the sample; None: no line of its own
    overall: Line

    def of(self, group: tuple[str, ...]) -> Line:
        return self.groups.get(group) or self.overall

    def table(self, name: str) -> sa.Values:
        """Each group's line as literals (g0.., a, b0..), to join on the group keys."""
        ngroups = len(next(iter(self.groups), ()))
        return sa.values(
            *[sa.column(f"g{i}", sa.String) for i in range(ngroups)],
            sa.column("a", sa.Float),
            *[sa.column(f"b{j}", sa.Float) for j in range(len(self.overall.b))],
            name=name,
        ).data([(*k, self.of(k).a, *self.of(k).b) for k in self.groups])


def predicted(lines: sa.FromClause, vs: list[sa.ColumnElement]) -> sa.ColumnElement:
    """a + Σ b_j·v_j, with the line's columns from `Fits.table`."""
    out = lines.c.a
    for j, v in enumerate(vs):
        out = out + lines.c[f"b{j}"] * v
    return out


def sums(t: sa.FromClause, y: sa.ColumnElement, vs: list[sa.ColumnElement], gs: list[sa.ColumnElement]) -> sa.Select:
    """One row per group and one for all rows (its group columns NULL): n and the sums of the normal equations.

    Summed as decimals: exact, so the same rows give the same lines in any order a parallel scan adds them,
    and the lines' literals in the next statements are identical run after run (the speculative scan,
    sentinel/prefetch.py, reuses identical SQL only)."""

    def total(e: sa.ColumnElement) -> sa.ColumnElement:
        return sa.func.sum(sa.cast(e, sa.Numeric(38, 12)))

    cols: list[sa.ColumnElement] = [sa.func.count().label("n"), total(y).label("sy")]
    for j, v in enumerate(vs):
        cols += [total(v).label(f"s{j}"), total(v * y).label(f"s{j}y")]
        cols += [total(v * w).label(f"s{j}_{k}") for k, w in enumerate(vs) if k >= j]
    labelled = [g.label(f"g{i}") for i, g in enumerate(gs)]
    stmt = sa.select(*labelled, *cols).select_from(t).where(*[v.is_not(None) for v in vs])  # rows with every v
    # ordered, so the lines come back as the same literals every run (see magnitude.stats)
    return stmt.group_by(sa.func.grouping_sets(sa.tuple_(*gs), sa.tuple_())).order_by(*gs) if gs else stmt


def solve(row: dict, p: int) -> Line | None:
    """The least-squares line from one row of `sums`, None if its columns do not fix one."""
    import numpy as np  # here, not at the top: a run without explained_by should not pay for importing it

    n = int(row["n"] or 0)
    if n <= p:
        return None
    mean_v = np.array([float(row[f"s{j}"]) for j in range(p)]) / n
    mean_y = float(row["sy"]) / n
    cov = np.empty((p, p))
    for j in range(p):
        for k in range(j, p):
            cov[j, k] = cov[k, j] = float(row[f"s{j}_{k}"]) / n - mean_v[j] * mean_v[k]
    cross = np.array([float(row[f"s{j}y"]) / n - mean_v[j] * mean_y for j in range(p)])
    scale = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if np.any(scale < 1e-9):  # a column that does not vary here cannot be told from the intercept
        return None
    corr = cov / np.outer(scale, scale)
    if np.linalg.cond(corr) > 1e8:  # columns that move together leave the line undetermined
        return None
    b = np.linalg.solve(corr, cross / scale) / scale
    return Line(float(mean_y - b @ mean_v), tuple(float(x) for x in b), n)


def fit(source: SqlSource, t: sa.FromClause, vs: list[str], ngroups: int, min_group: int, names: list[str]) -> Fits:
    """Least squares of t.y on t's `vs` columns (the YAML's `names`), per group g0.. of t and over all of t."""
    gs = [t.c[f"g{i}"] for i in range(ngroups)]
    rows = [dict(r._mapping) for r in source.execute(sums(t, t.c.y, [t.c[c] for c in vs], gs))]
    whole = [r for r in rows if all(r[f"g{i}"] is None for i in range(ngroups))]
    overall = solve(whole[0], len(vs)) if whole else None
    if not whole or not whole[0]["n"]:
        raise CannotMeasure("degenerate", f"explained_by: no row has a non-zero {' and '.join(names)}")
    if overall is None:
        what = f"{names[0]} does not vary" if len(names) == 1 else f"{', '.join(names)} do not vary independently"
        raise CannotMeasure("degenerate", f"explained_by: {what}, so it cannot explain the value")
    groups = {
        tuple(r[f"g{i}"] for i in range(ngroups)): solve(r, len(vs)) if int(r["n"]) >= min_group else None
        for r in rows
        if r not in whole
    }
    return Fits(groups or {(): overall}, overall)


def robust(source: SqlSource, t: sa.CTE, vs: list[str], ngroups: int, min_group: int, names: list[str]) -> Fits:
    """Least squares on `t` (columns y, the `vs`, g0..), then a refit without the rows beyond TRIM robust
    sigmas of each group's first line: two small statements over the sample."""
    first = fit(source, t, vs, ngroups, min_group, names)
    lines = first.table("fit1_lines")
    gs = [t.c[f"g{i}"] for i in range(ngroups)]
    e = t.c.y - predicted(lines, [t.c[c] for c in vs])
    resid = (
        sa.select(t, e.label("e"))
        .select_from(t.join(lines, same(gs, [lines.c[f"g{i}"] for i in range(ngroups)])))
        .cte("fit1_resid")
    )
    rg = [resid.c[f"g{i}"] for i in range(ngroups)]
    spread = sa.select(*rg, median(sa.func.abs(resid.c.e)).label("mad")).group_by(*rg).cte("fit1_spread")
    keep = (
        sa.select(resid)
        .select_from(resid.join(spread, same(rg, [spread.c[f"g{i}"] for i in range(ngroups)])))
        .where(sa.func.abs(resid.c.e) <= TRIM * sa.func.greatest(1.4826 * spread.c.mad, FLOOR))
        .cte("fit1_keep")
    )
    return fit(source, keep, vs, ngroups, min_group, names)
