"""Least-squares lines y ~ a + b·v over any number of explanatory columns, per group, from sums in the database.

SQL's regr_slope fits one column. For several, the database sums what the normal equations need (n, Σv, Σy,
Σv·vᵀ, Σv·y) per group of the detector's sample, and numpy solves them: a few numbers per group cross the
wire, never rows. `robust()` then refits each group without the rows beyond `TRIM` robust sigmas of its first
line, so the faults being hunted (x10 rows, yen rows) do not tilt the line they are judged against.

Cost at scale. Each statement over the sample scans the table to draw it (a hash of every key), so the two
fits and the references cost three scans (DuckDB, 20M rows: 13.5 s and 1.8 GB with `magnitude`, most of it a
join DuckDB planned the wrong way round, see sqlstats.sampled). With one explanatory column, the usual case,
`robust()` runs no statement: `solve`'s arithmetic for one column is written in SQL over the same exact sums,
so both fits happen inside the caller's references statement (one scan; the same lines to the last bit of a
double), and `Robust.fits` reads them back from its rows. Several columns keep the two statements. Either
way the scoring scan then drops, before any join, the rows inside every group's band around its line
(`outside_every_line`), and before that, in its WHERE, the rows a comparison of |x| with a constant times
|u|^e (e the slopes' nearest integer, the columns' min and max bounding the rest: `beyond_every_line`)
proves inside every band, so logarithms are taken of the few rows left, not of every row (DuckDB, 20M rows:
the scoring scan 0.56 -> about 0.3 CPU-seconds). What remains over the check without `explained_by` is that
scan, which DuckDB's min/max statistics often skip outright for a check on one column, the groups' counts,
and the work on the rows the fit finds (README, Benchmarks > Speed).

Only rows with every explanatory value take part. Groups with fewer than `min_group` such rows, or whose
columns do not vary enough to fix a line, use the line of the whole sample. A column that is constant (or
missing) everywhere cannot explain anything: that is an error, not a silent fallback to the median.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from sentinel.checks.common import CannotMeasure
from sentinel.checks.sqlstats import RAW_LIMIT, extremes, log_span, median, same
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
    _refuse(int(whole[0]["n"] or 0) if whole else 0, overall is not None, names)
    assert overall is not None
    groups = {
        tuple(r[f"g{i}"] for i in range(ngroups)): solve(r, len(vs)) if int(r["n"]) >= min_group else None
        for r in rows
        if r not in whole
    }
    return Fits(groups or {(): overall}, overall)


def robust(
    source: SqlSource, t: sa.CTE, vs: list[str], ngroups: int, min_group: int, names: list[str], name: str
) -> Robust:
    """Least squares on `t` (columns y, the `vs`, g0..), then a refit without the rows beyond TRIM robust
    sigmas of each group's first line. One explanatory column: both fits are SQL inside the caller's statement
    (no statement here). Several: two small statements over the sample now, the lines then literals."""
    if len(vs) == 1:
        return _in_sql(t, vs[0], ngroups, min_group, names, name)
    first = fit(source, t, vs, ngroups, min_group, names)
    gs = [t.c[f"g{i}"] for i in range(ngroups)]
    keep = _kept(t, gs, first.table("fit1_lines"), vs, "fit1")
    done = fit(source, keep, vs, ngroups, min_group, names)
    return Robust(done.table(name), ngroups, names, done=done)


def _kept(t: sa.FromClause, gs: list[sa.ColumnElement], lines: sa.FromClause, vs: list[str], name: str) -> sa.CTE:
    """The rows of `t` within TRIM robust sigmas of their group's line: the refit's rows."""
    ngroups = len(gs)
    e = t.c.y - predicted(lines, [t.c[c] for c in vs])
    resid = (
        sa.select(t, e.label("e"))
        .select_from(t.join(lines, same(gs, [lines.c[f"g{i}"] for i in range(ngroups)])))
        .cte(f"{name}_resid")
    )
    rg = [resid.c[f"g{i}"] for i in range(ngroups)]
    spread = sa.select(*rg, median(sa.func.abs(resid.c.e)).label("mad")).group_by(*rg).cte(f"{name}_spread")
    return (
        sa.select(resid)
        .select_from(resid.join(spread, same(rg, [spread.c[f"g{i}"] for i in range(ngroups)])))
        .where(sa.func.abs(resid.c.e) <= TRIM * sa.func.greatest(1.4826 * spread.c.mad, FLOOR))
        .cte(f"{name}_keep")
    )


@dataclass(frozen=True)
class Robust:
    """A robust fit as the caller's statement uses it: `lines` (g0.., a, b0..: each group's line, the overall
    one where it has none of its own) to join on the group keys. Solved already (`done`: literals), or SQL
    inside the statement: then the statement also returns the columns of `attach`, from which `fits` reads the
    lines back (for the scoring scan) and refuses a fit that `fit` would have refused."""

    lines: sa.FromClause
    ngroups: int
    names: list[str]
    done: Fits | None = None
    overall: sa.CTE | None = None  # in SQL: one row, n1/ok1 of the first fit, n2/ok2/a/b0 of the refit

    def attach(self, frm: sa.FromClause, keys: list[sa.ColumnElement]) -> tuple[sa.FromClause, list[sa.ColumnElement]]:
        """`frm` (one row per group, keyed by `keys`) joined to its line, and the columns to return."""
        if self.overall is None:
            return frm, []
        on = same(keys, [self.lines.c[f"g{i}"] for i in range(self.ngroups)])
        cols = [self.lines.c.a.label("fit_a"), self.lines.c.b0.label("fit_b0")]
        cols += [c.label(f"fit_{c.name}") for c in self.overall.c]
        return frm.outerjoin(self.lines, on).join(self.overall, sa.true()), cols

    def fits(self, rows: list[Any]) -> Fits:
        """The lines, from the rows of a statement that carried `attach`'s columns (None: `fit`'s refusals)."""
        if self.done is not None:
            return self.done
        r = [x._mapping if hasattr(x, "_mapping") else x for x in rows]
        if not r:
            _refuse(0, False, self.names)
        _refuse(int(r[0]["fit_n1"] or 0), bool(r[0]["fit_ok1"]), self.names)
        _refuse(int(r[0]["fit_n2"] or 0), bool(r[0]["fit_ok2"]), self.names)
        overall = Line(float(r[0]["fit_oa"]), (float(r[0]["fit_ob0"]),), int(r[0]["fit_n2"]))
        groups = {
            tuple(x[f"g{i}"] for i in range(self.ngroups)): (
                None if x["fit_a"] is None else Line(float(x["fit_a"]), (float(x["fit_b0"]),), 0)
            )
            for x in r
        }
        return Fits(groups or {(): overall}, overall)

    def within(self, units: Robust, index: int) -> Robust:
        """These lines, where a group has none of its own, taking the line of its unit (`units`: a robust fit of
        the same rows grouped by the group column g`index` alone) instead of the whole sample's. In SQL both
        fits stay inside the caller's statement; solved, the lines are merged here."""
        if self.done is not None:
            assert units.done is not None
            own = {g: line or units.done.of((g[index],)) for g, line in self.done.groups.items()}
            done = Fits(own, self.done.overall)
            return replace(self, lines=done.table(self.lines.name), done=done)
        own, unit = self.lines.c, units.lines.c
        lines = (
            sa.select(
                *[own[f"g{i}"] for i in range(self.ngroups)],
                sa.case((own.own, own.a), else_=sa.func.coalesce(unit.a, own.a)).label("a"),
                sa.case((own.own, own.b0), else_=sa.func.coalesce(unit.b0, own.b0)).label("b0"),
            )
            .select_from(self.lines.outerjoin(units.lines, own[f"g{index}"] == unit.g0))
            .cte(f"{self.lines.name}_within")
        )
        return replace(self, lines=lines)


def _refuse(n: int, ok: bool, names: list[str]) -> None:
    if not n:
        raise CannotMeasure("degenerate", f"explained_by: no row has a non-zero {' and '.join(names)}")
    if not ok:
        what = f"{names[0]} does not vary" if len(names) == 1 else f"{', '.join(names)} do not vary independently"
        raise CannotMeasure("degenerate", f"explained_by: {what}, so it cannot explain the value")


def _lines_sql(t: sa.FromClause, v: str, ngroups: int, min_group: int, name: str) -> tuple[sa.CTE, sa.CTE]:
    """`fit` in SQL for one column: each group's line (the overall one where it has none: fewer than
    `min_group` rows, or no spread) as g0.., a, b0, and a one-row CTE of the overall line (n, a, b0).

    `solve`'s arithmetic on the same exact sums, so the same line up to the last bit of a double; in steps
    (one CTE each), so that no expression is written out twice."""
    gs = [t.c[f"g{i}"] for i in range(ngroups)]
    s = sums(t, t.c.y, [t.c[v]], gs).cte(f"{name}_sums")
    n = sa.cast(sa.func.nullif(s.c.n, 0), sa.Double)
    mv, my = (sa.cast(s.c.s0, sa.Double) / n).label("mv"), (sa.cast(s.c.sy, sa.Double) / n).label("my")
    means = sa.select(*[s.c[f"g{i}"] for i in range(ngroups)], s.c.n, s.c.s0_0, s.c.s0y, mv, my).cte(f"{name}_means")
    n = sa.cast(sa.func.nullif(means.c.n, 0), sa.Double)
    cov = sa.cast(means.c.s0_0, sa.Double) / n - means.c.mv * means.c.mv
    cross = sa.cast(means.c.s0y, sa.Double) / n - means.c.mv * means.c.my
    keep = [means.c[f"g{i}"] for i in range(ngroups)] + [means.c.n, means.c.mv, means.c.my]
    moments = sa.select(*keep, cov.label("cov"), cross.label("cross")).cte(f"{name}_moments")
    scale = sa.func.sqrt(sa.func.greatest(moments.c.cov, 0.0))
    keep = [moments.c[c.name] for c in keep] + [moments.c.cov, moments.c.cross]
    scaled = sa.select(*keep, scale.label("scale")).cte(f"{name}_scaled")
    c = scaled.c
    # solve(): no line from a row with one value or none, or a column that does not vary (1x1: cond is 1)
    ok = sa.and_(c.n > 1, c.scale >= 1e-9)
    b = sa.case((ok, c.cross / sa.func.nullif(c.scale, 0.0) / (c.cov / (c.scale * c.scale)) / c.scale))
    sg = [c[f"g{i}"] for i in range(ngroups)]
    solved = sa.select(*sg, c.n, c.mv, c.my, b.label("b")).cte(f"{name}_solved")
    c = solved.c
    overall = (
        sa.select(c.n, (c.my - c.b * c.mv).label("a"), c.b.label("b0"))
        .where(*[c[f"g{i}"].is_(None) for i in range(ngroups)])
        .cte(f"{name}_overall")
    )
    if not ngroups:
        return sa.select(overall.c.a, overall.c.b0).cte(f"{name}_lines"), overall
    own = sa.and_(c.b.is_not(None), c.n >= min_group)
    lines = (
        sa.select(
            *[c[f"g{i}"] for i in range(ngroups)],
            sa.case((own, c.my - c.b * c.mv), else_=overall.c.a).label("a"),
            sa.case((own, c.b), else_=overall.c.b0).label("b0"),
            own.label("own"),  # a line of its own (`Robust.within` replaces the others)
        )
        .select_from(solved.join(overall, sa.true()))
        .where(c.g0.is_not(None))  # group keys are never NULL: NULL marks the overall row
        .cte(f"{name}_lines")
    )
    return lines, overall


def _in_sql(t: sa.CTE, v: str, ngroups: int, min_group: int, names: list[str], name: str) -> Robust:
    gs = [t.c[f"g{i}"] for i in range(ngroups)]
    # CTEs named after `name`: two fits may share one statement (magnitude's groups and units)
    lines1, overall1 = _lines_sql(t, v, ngroups, min_group, f"{name}_1")
    keep = _kept(t, gs, lines1, [v], f"{name}_1")
    lines2, overall2 = _lines_sql(keep, v, ngroups, min_group, f"{name}_2")
    overall = (
        sa.select(
            overall1.c.n.label("n1"),
            overall1.c.b0.is_not(None).label("ok1"),
            overall2.c.n.label("n2"),
            overall2.c.b0.is_not(None).label("ok2"),
            overall2.c.a.label("oa"),
            overall2.c.b0.label("ob0"),
        )
        .select_from(overall1.join(overall2, sa.true()))
        .cte(f"{name}_overall")
    )
    lines = sa.select(lines2).cte(name)
    return Robust(lines, ngroups, names, overall=overall)


def outside_every_line(
    y: sa.ColumnElement, vs: list[sa.ColumnElement], bands: list[tuple[float, tuple[float, ...], float]]
) -> sa.ColumnElement:
    """True where y may lie outside one of the bands |y - a - Σ b_j·v_j| <= w, given as (a, b, w): a row inside
    all of them cannot be flagged whatever its group, so a scan can drop it before joining its group's line
    (sqlstats.outside_every, for lines). Per row it costs one line, not one per group: with b̄_j the middle of
    the groups' b_j and D_j their half-range, |y - a - Σ b_j·v_j| <= |y - Σ b̄_j·v_j - a| + Σ D_j·|v_j|, so a row
    whose r = y - Σ b̄_j·v_j lies within every [a - w, a + w] by that margin is inside every band. Groups with
    similar slopes (the usual case) keep the margin small; very different ones keep every row. NULL where a v
    is NULL (the caller decides those rows)."""
    bands = [(a, b, w) for a, b, w in bands if all(math.isfinite(x) for x in (a, *b, w))]
    if not bands:
        return sa.true()
    r, margin = y, sa.literal(1e-9)  # the margin also covers rounding in the scan's own arithmetic
    for j, v in enumerate(vs):
        lo_b, hi_b = min(b[j] for _, b, _ in bands), max(b[j] for _, b, _ in bands)
        r = r - (lo_b + hi_b) / 2 * v
        margin = margin + (hi_b - lo_b) / 2 * sa.func.abs(v)
    lo, hi = max(a - w for a, _, w in bands), min(a + w for a, _, w in bands)
    # lo + margin <= r <= hi - margin; an empty intersection (lo > hi) keeps every row
    return sa.not_(sa.func.abs(r - (lo + hi) / 2) + margin <= (hi - lo) / 2)


def spans(
    source: SqlSource, table: sa.FromClause, us: list[sa.ColumnElement], integer: list[bool]
) -> list[tuple[float, float] | None]:
    """Each explanatory column's range of log10|u| over its non-zero values (sqlstats.log_span), for
    `beyond_every_line`: from the columns' min and max (DuckDB: its statistics, no scan), and, for a column of
    non-integers whose range reaches zero, from one scan of |u| over its non-zero values."""
    ends = source.execute(extremes(table, us))[0]._mapping
    out = [log_span(ends[f"lo{j}"], ends[f"hi{j}"], whole) for j, whole in enumerate(integer)]
    todo = [j for j, r in enumerate(out) if r is None and ends[f"lo{j}"] is not None and ends[f"hi{j}"] is not None]
    if todo:
        again = source.execute(extremes(table, [us[j] for j in todo], non_zero=True))[0]._mapping
        for i, j in enumerate(todo):
            out[j] = log_span(again[f"lo{i}"], again[f"hi{i}"])
    return out


RAW_POWER = 2  # the raw test multiplies by |u|^e with |e| at most this


def beyond_every_line(
    x: sa.ColumnElement,
    us: list[sa.ColumnElement],
    bands: list[tuple[float, tuple[float, ...], float]],
    spans: list[tuple[float, float] | None],
    shift: tuple[float, float] = (0.0, 0.0),
) -> sa.ColumnElement | None:
    """`outside_every_line(log10|x| - s, [log10|u_j|], bands)` for any offset s in `shift`, on the raw columns:
    no logarithm, so a scan evaluates the logarithms only on the few rows this keeps (DuckDB: about 0.35 of the
    0.5 CPU-seconds of a 20M-row scoring scan were its logarithms). A necessary condition: true wherever that is
    (a row it drops is inside every band); None where it would keep every row anyway. Rows with a u_j of zero
    or NULL are not covered: the caller keeps them.

    `spans[j]` bounds v_j = log10|u_j| over the table (sqlstats.log_span). With b̄, D, c, h as there, a row
    outside_every_line keeps has |r - c| > h - Σ D_j·|v_j| for r = y - Σ b̄_j·v_j. Each slope is then replaced by
    its nearest integer e_j: r_e = y - Σ e_j·v_j = r + Σ (b̄_j - e_j)·v_j, and the span of each v_j bounds both
    sums, so r_e lies beyond two constants: |x| / Π|u_j|^e_j compared to two numbers, two products and two
    comparisons. Slopes near an integer (amount ~ qty: b ≈ 1) or explanatory columns of narrow range keep that
    margin small; otherwise no test is returned."""
    bands = [(a, b, w) for a, b, w in bands if all(math.isfinite(v) for v in (a, *b, w))]
    if not bands or not us or any(s is None for s in spans):
        return None
    lo, hi = max(a - w for a, _, w in bands), min(a + w for a, _, w in bands)
    half = (hi - lo) / 2 - 2e-9  # outside_every_line's margin, and one more for rounding in the products
    low, high = 0.0, 0.0  # the range of Σ (b̄_j - e_j)·v_j
    powers = []
    for j, span in enumerate(spans):
        assert span is not None
        lo_b, hi_b = min(b[j] for _, b, _ in bands), max(b[j] for _, b, _ in bands)
        mid = (lo_b + hi_b) / 2
        e = max(-RAW_POWER, min(RAW_POWER, round(mid)))
        half -= (hi_b - lo_b) / 2 * max(abs(span[0]), abs(span[1]))
        low, high = low + min((mid - e) * v for v in span), high + max((mid - e) * v for v in span)
        powers.append(e)
    centre = (lo + hi) / 2
    # log10(|x| / Π|u_j|^e_j) beyond these (y = log10|x| - s)
    above, below = centre + half + low + shift[0], centre - half + high + shift[1]
    reach = sum(abs(e) * max(abs(v) for v in span) for e, span in zip(powers, spans, strict=True) if span)
    if below >= above or max(abs(above), abs(below), reach) > RAW_LIMIT:
        return None
    left: sa.ColumnElement = sa.func.abs(sa.cast(x, sa.Double))
    right: sa.ColumnElement | None = None
    for u, e in zip(us, powers, strict=True):
        for _ in range(abs(e)):
            au = sa.func.abs(sa.cast(u, sa.Double))
            if e < 0:
                left = left * au
            else:
                right = au if right is None else right * au
    top, bottom = sa.literal(10**above, sa.Double), sa.literal(10**below, sa.Double)
    if right is not None:
        top, bottom = top * right, bottom * right
    return sa.or_(left > top, left < bottom)
