"""`subschema`: silent unit or currency shifts, with names and types unchanged.

(a) `category_column`: values never seen before and re-weighted values, against the shares the last good run
    recorded; on the first run, with `timestamp_column`, the rows before `detection_period` are the reference
    and the newer ones are judged (without it the first run only learns). A flagged run's shares are kept as
    candidates only, so a new currency stays flagged until someone resolves the incident, which accepts them.
(b) a second mode on the log scale: within each label of `category_column` (or the whole column), rows of
    `value_column` that sit together far above or below the label's main mode. The main mode is the median
    and MAD of y = log10|value|; the tails beyond max(3 robust sigmas, 0.5 decades) are counted on both
    sides, and a side counts as a second mode when it holds at least `min_rows` (5) rows *more* than the
    opposite side (an honest heavy tail is roughly symmetric on the log scale), at least three times as
    many, and its rows cluster past the tail's start, where an honest tail thins out: their median lies 1
    robust sigma or more beyond it, or 1.5 where the body itself leans that way (Bowley skewness of the rows
    inside the edges above 0.05) or the side holds over a tenth of the rows. A Pareto-like body's tail is
    exponential on the log scale, its excess over the edge has a median of about one sigma and is no mode
    (where the body leans, a mode's median must also clear that by two of its standard errors: the median of
    5 honest rows strays, so 5 rows need 2.2 sigmas); a symmetric body has no honest reason for one side's
    excess. 0.5% of a 1,000-row label is enough, where
    whole-column drift tests dilute it away. The offset of that mode (the median distance of its rows,
    leaving out as many rows nearest the main mode as the opposite tail holds) is matched against 10^k and
    FX rates (`fx_rates:` in config.yaml, else built-in approximations used only to name the candidate),
    within two standard errors; close neighbours (JPY 2.18 and x100 2.0 on a wide mode) are listed as
    alternatives. Each row of a mode named 10^k, or a currency whose rate comes from `fx_rates`, gets a
    candidate value computed exactly from its stored value (sentinel/checks/exact.py: x / 10^k, or x / rate
    with the rate's decimal string) and that candidate's provenance. A built-in rate names the currency
    only: no candidate, and the message says to set `fx_rates.<code>` to get them.
(c) `reference_column`: the same on log10|value / reference|, so a drifting ratio to a trusted column shows;
    `explained_by: [cols]`: the same on the residual of a least-squares fit log10|value| ~ a + Σ b_j·log10|col_j|
    per label (sentinel/checks/fit.py, refitted without the rows far from the first line), for a value that
    follows other columns without being a fixed multiple of one. Rows missing a reference value (or holding a
    zero) are left out: a shift is a pattern across rows, and the others show it.
(d) mixed currencies, on every run (a property of the data, not a change, so no history is needed): when the
    labels of `category_column` are currency codes, the label with the most rows is the main one (the unit a
    sum over the column is read in; ties by name), and each other currency label whose rows sit its factor
    from the main label's (rate / main rate; `fx_rates` in config.yaml, else BUILTIN_FX, said as such) is
    reported: cause `mixed_units`, severity `mixed_units_severity` (default `warn`), with the currency, the
    factor and its row count. A label's offset is the median, over its sampled rows, of y (or the ratio, or
    the residual) minus the main label's reference in the row's peer group; it matches within two standard
    errors of the two medians (at least MATCH), and only a factor further from 1 than twice that and than
    the rows' spread is judged, so that "priced in its own currency" and "priced in the main unit" cannot
    both fit: EUR at 0.92 is never called mixed. A main label that is no currency code judges nothing.
`group_by: [cols]`: peers, as in `magnitude`. Each peer group (and label) has its own main mode (and its own
`explained_by` line); a label's rows of every peer group are then pooled, each measured from its own group's
mode in its own group's sigmas, so 20 yen rows spread over three products at different prices are one mode
of 20. A peer group of fewer than MIN_GROUP rows is skipped, and said so in the message: its median and MAD
are too loose to place a mode, and borrowing the whole column's would make its honest price level one.

NaN and +-infinity in any column used are left out (those of `value_column` counted in `observed.left_out`),
found as in `magnitude` by the columns' sums in the dataset's scan. Past `max_categories` distinct labels,
(a) and (d) are not run and (b) looks at the whole column (within each peer group): see Params.

Counts and medians are computed in the database; only the rows of a likely second mode's side are fetched
(up to FETCH_MAX, with the tail counts, so a mode costs no second scan). Each label's main mode
(median, MAD) comes from a sample of its rows (sentinel/checks/sqlstats.py); its tails are counted over all.
On Spark, without `explained_by`, the main modes are computed from the fetched sample (`fetched_modes`,
sqlstats.REFERENCES_FETCHED): the same numbers, without Spark's two dozen stages for a dozen small aggregates;
and the tails are counted from their fetched rows, up to FETCH_ROWS (`fetched_tails`), in one read of them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from pydantic import Field, model_validator

from sentinel.checks import fit
from sentinel.checks.common import CannotMeasure, Context, Plan, Spec, capped, left_out, not_finite
from sentinel.checks.exact import converted, exact, rate_text, shifted
from sentinel.checks.sqlstats import (
    EXACT_PERCENTILES,
    REFERENCES_FETCHED,
    SAMPLE,
    centred,
    counted,
    fetch_sample,
    fetchable,
    group_key,
    grouped,
    log10_abs,
    median,
    outside_every,
    percentile_cont,
    percentile_disc,
    quantiles,
    sampled,
)
from sentinel.results import CheckResult
from sentinel.yamlmodel import CheckParams, Duration, Severity

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

# Approximate units per USD, used only to *name* a candidate currency; config `fx_rates` override them.
BUILTIN_FX = {
    "EUR": 0.92,
    "GBP": 0.79,
    "JPY": 150.0,
    "KRW": 1400.0,
    "INR": 84.0,
    "CNY": 7.2,
    "CHF": 0.88,
    "CAD": 1.37,
    "AUD": 1.52,
    "MXN": 18.0,
    "BRL": 5.5,
    "SEK": 10.5,
}
TAIL_SIGMAS, TAIL_MIN = 3.0, 0.5  # where a tail starts: beyond 3 robust sigmas and half a decade
WINDOW_MIN = 0.25  # decades: the least half-width of a second mode's window around its centre
CLUSTER = 1.5  # a second mode's median sits at least this many robust sigmas beyond where the tail starts
CLUSTER_SYMMETRIC = 1.0  # ... or this many, when the body does not lean toward that side
# an exponential (Pareto-like) tail's excess over its edge, in sigmas: its median, and that median's standard
# error times sqrt(rows): a leaning body's mode of k rows clears HONEST_EXCESS + 2 EXCESS_SE / sqrt(k) too
HONEST_EXCESS, EXCESS_SE = 0.97, 1.40
SKEW_TOL = 0.05  # quartile skewness of the body within which it counts as symmetric
MINORITY = 0.1  # ... and only for a minority: a fifth of the rows a decade up is a second product
MATCH = 0.05  # decades: the least tolerance when matching a mode's offset to a candidate factor
MIN_FIT = 20  # rows a label needs for its own `explained_by` line; fewer use the whole sample's
MIN_GROUP = 20  # rows a `group_by` peer group needs to be judged for a second mode (fewer are skipped, noted)
MAD_SE = 1.36  # relative standard error of a MAD-based sigma is about 1.36/sqrt(n) (as in magnitude)
# a likely mode's tail rows up to this many come back with the tail scan (its rows are then chosen in Python);
# a bigger side is read again by its own statement, which keeps only the rows near its centre
FETCH_MAX = 50_000
# dialects on which subschema folds statements together, the same numbers either way: on Spark each statement
# scans the table (or draws the sample) again, 10M rows: ~0.5-1 s a scan, ~1 s a draw. The reference statement
# also computes the mixed-currency offsets (without a fit or peers), from the main label's median in its own
# CTE instead of a second statement on it as a literal; and the category counts (without peers) also count
# each label's rows that take part, which `sampled` needs (instead of `counted`, a second scan)
ONE_PASS = ("spark",)


CAUSES = (
    "unit_shift",
    "new_category",
    "share_shift",
    "high_cardinality",
    "mixed_units",
)  # the `cause` of each failure this kind reports (playbooks' `when.cause`)


class Params(CheckParams):
    """`max_categories` (default 10,000): past this many distinct values of `category_column` the column is
    reported as high-cardinality (one `warn` with the exact count) instead of tracking a share per value, which
    at 1,000,000 ids costs minutes, gigabytes and a million metric rows a run; second modes are then looked
    for over the whole column. NaN and infinite values of every column used are left out (those of
    `value_column` counted in `observed.left_out`)."""

    value_column: str
    category_column: str | None = None
    reference_column: str | None = None
    explained_by: list[str] = Field([], description="columns the value follows on the log scale")
    group_by: list[str] = Field([], description="peer columns: a second mode is judged within each peer group")
    timestamp_column: str | None = None  # with no earlier run, the rows before detection_period are the reference
    detection_period: Duration = dt.timedelta(days=1)
    min_rows: int = Field(5, ge=1, description="rows a second mode needs beyond the opposite tail")
    share_change: float = Field(0.05, gt=0, lt=1, description="a category's share moving this much is a shift")
    max_categories: int = Field(10_000, ge=1, description="distinct categories past which shares are not tracked")
    mixed_units_severity: Severity = Field("warn", description="of a currency label priced in its own currency")

    @model_validator(mode="after")
    def _one_reference(self) -> Params:
        if self.reference_column and self.explained_by:
            raise ValueError("give reference_column (a ratio) or explained_by (a fit), not both")
        if len(set(self.explained_by)) < len(self.explained_by) or self.value_column in self.explained_by:
            raise ValueError("explained_by: each column once, and not value_column itself")
        peers = set(self.group_by)
        if len(peers) < len(self.group_by) or peers & {self.value_column, self.category_column}:
            raise ValueError("group_by: each column once, and neither value_column nor category_column")
        return self


def default_name(params: Params) -> str:
    return f"subschema({params.value_column})"


def needs_key(params: Params) -> bool:
    return True


CONFIGURED, BUILTIN = "config fx_rates", "built-in approximation"


def candidates(fx_rates: dict[str, float]) -> list[tuple[float, str, dict[str, Any]]]:
    """(log10 factor, label, what the factor is) for every factor a silent unit change could bring. A rate
    from `fx_rates` can convert values; a built-in one (BUILTIN_FX) only names the currency."""
    out: list[tuple[float, str, dict[str, Any]]] = [
        (float(k), f"x10^{k}" if k > 0 else f"/10^{-k}", {"kind": "power of ten", "k": k})
        for k in (-3, -2, -1, 1, 2, 3)
    ]
    rates = {**BUILTIN_FX, **fx_rates}
    for code, rate in rates.items():
        if abs(math.log10(rate)) >= 0.3:  # currencies within 2x of USD are not separable from noise
            what = {"kind": "currency", "currency": code, "rate": rate_text(rate)}
            what["source"] = CONFIGURED if code in fx_rates else BUILTIN
            out.append((math.log10(rate), code, {**what, "transform": "x / rate"}))  # local amounts as USD
            out.append((-math.log10(rate), f"USD labelled {code}", {**what, "transform": "x * rate"}))
    return out


def name_offset(offset: float, fx_rates: dict[str, float], se: float = 0.0) -> dict[str, Any] | None:
    """The candidate factor nearest the mode's offset, if within two standard errors of the estimate (at
    least MATCH); the others within that tolerance are listed as alternatives: 20 rows spread over half a
    decade cannot tell JPY (2.18) from x100 (2.0), and the owner should hear both."""
    tol = max(MATCH, 2 * se)
    near = sorted((c for c in candidates(fx_rates) if abs(c[0] - offset) <= tol), key=lambda c: abs(c[0] - offset))
    if not near:
        return None
    best = near[0]
    return {
        "factor": _sig(10 ** best[0]),  # rounded for reading; candidates use `k` or `rate` exactly
        "label": best[1],
        **best[2],
        "offset": round(offset, 3),
        "distance": round(abs(best[0] - offset), 3),
        "tolerance": round(tol, 3),
        "alternatives": [c[1] for c in near[1:]],
    }


def provenance(factor: dict[str, Any], count: int, side: str) -> dict[str, Any] | None:
    """Where a mode's candidate values come from, or None when its factor may only name a cause (a built-in
    approximate rate): what the detector proved, the factor, and the transform applied to each row."""
    proof = (
        f"{count:,} rows sit {abs(factor['offset']):.3f} decades {side} the rest; {factor['label']} is "
        f"{factor['distance']:.3f} from that, within the tolerance {factor['tolerance']:.3f} "
        "(two standard errors of the offset, at least 0.05)"
    )
    if factor["kind"] == "power of ten":
        k = factor["k"]
        return {"kind": "power_of_ten", "k": k, "transform": f"x / 10^{k}", "proof": proof}
    if factor["source"] != CONFIGURED:
        return None
    keep = ("currency", "rate", "source", "transform")
    return {"kind": "fx_rate", **{k: factor[k] for k in keep}, "proof": proof}


def candidate(value: Any, prov: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A row's candidate value from its exact stored value, and its provenance (noting any rounding)."""
    if prov["kind"] == "power_of_ten":
        return shifted(value, prov["k"]), prov
    out, is_exact = converted(value, prov["rate"], divide=prov["transform"] == "x / rate")
    return out, prov if is_exact else {**prov, "rounded": "half-even, to the quotient's significant digits"}


def _skewness(q25: float | None, q50: float | None, q75: float | None) -> float:
    """Bowley's quartile skewness in [-1, 1]: 0 for a symmetric body, positive when its upper half is wider."""
    if q25 is None or q75 is None or float(q75) <= float(q25):
        return 0.0
    return (float(q75) + float(q25) - 2 * float(q50)) / (float(q75) - float(q25))


def _sig(v: float) -> float:
    return float(f"{v:.4g}")


def plan(spec: Spec, ctx: Context) -> Plan:
    p: Params = spec.params
    if ctx.dialect not in ("postgresql", "duckdb", "spark"):
        raise CannotMeasure("unsupported", f"subschema needs percentile_cont and log10; {ctx.dialect} has neither")
    value = ctx.col(p.value_column, numeric=True, purpose="subschema")
    key = ctx.key_col()
    category = ctx.col(p.category_column) if p.category_column else None
    label = group_key(category) if category is not None else sa.literal("(all)")
    peers = [ctx.col(g) for g in p.group_by]
    peer_keys = [group_key(g) for g in peers]
    y = log10_abs(value)
    plain = [value.is_not(None), value != 0]
    used = [p.value_column]  # the numeric columns whose NaN and infinite values must be left out
    if p.reference_column:
        ref = ctx.col(p.reference_column, numeric=True, purpose="reference_column")
        y = log10_abs(value) - log10_abs(ref)
        plain += [ref.is_not(None), ref != 0]
        used.append(p.reference_column)
    explaining, raw_us = [], []
    for j, name in enumerate(p.explained_by):
        u = ctx.col(name, numeric=True, purpose="explained_by")
        explaining.append(log10_abs(u).label(f"v{j}"))
        raw_us.append(u)
        plain += [u.is_not(None), u != 0]
        used.append(name)
    explained = [f"v{j}" for j in range(len(p.explained_by))]

    def rows_of(
        by_label: bool, where: list[sa.ColumnElement], units: bool, scored: list[tuple] | None = None
    ) -> tuple[list[sa.ColumnElement], sa.CTE, bool]:
        """The rows' columns (k, x, g0: the label or "(all)", y, v0..) and each label's sample: its main mode
        comes from the sample, once; its tails are counted over every row. With `group_by`, g0 is the peer
        group and label together (`_composite`); `units` adds the label and the peer group apart (lab, pg) to
        the sample, for the mixed-currency offsets. The groups' row counts are read first (sqlstats.sampled:
        the sample is drawn twice when mixed currencies are judged, and DuckDB once took 30 s over 20M rows
        to count 3 labels in the sample's own statement). `scored`: those counts per label, when the category
        counts gave them (ONE_PASS). Also whether the sample is small enough to fetch (sqlstats.fetchable)."""
        by_label = by_label and category is not None
        labels = [label] if by_label else []
        g0 = _composite([*peer_keys, *labels]) if peers else (label if by_label else sa.literal("(all)"))
        cols = [key.label("k"), value.label("x"), g0.label("g0"), y.label("y"), *explaining]
        extra = [label.label("lab"), _composite(peer_keys).label("pg")] if units and peers else []
        groups = [*peers, *([category] if by_label else [])]
        counts = None
        if scored is not None and groups == [category]:
            counts = scored
        elif groups or explained:
            counts = [tuple(r) for r in ctx.source.execute(counted(ctx.table, where, groups))]
        sample = sampled(ctx.dialect, ctx.table, cols + extra, where, groups, key, "ss", counts)
        return cols, sample, fetchable(counts)

    def tails_of(
        cols: list[sa.ColumnElement],
        where: list[sa.ColumnElement],
        stats: list[sa.Row],
        fits: fit.Fits | None,
        pool: dict[str, str],
        spans: list[tuple[float, float] | None] | None = None,
    ) -> sa.CTE:
        """Every row that may sit in a tail, with its distance d from its group's main mode (given as literals),
        and `lab`: the label whose rows are pooled to look for a second mode (with `group_by`, a label's rows
        of every peer group, each measured from its own group's mode). `spans`: with `explained_by`, each
        column's range of log10|u| (fit.spans), for a test on the raw columns before any logarithm."""
        known = sa.values(
            sa.column("g0", sa.String),
            sa.column("pool", sa.String),
            sa.column("m", sa.Float),
            sa.column("sigma", sa.Float),
            name="ss_stats",
        ).data([(r.g0, pool[r.g0], float(r.m), sigma(r)) for r in stats])
        # each group's tail edges (g0: the label, or peer group and label), as the tails below measure them
        edges = [(r.g0, float(r.m), max(TAIL_SIGMAS * sigma(r), TAIL_MIN)) for r in stats]
        inside = []
        if fits is None:  # a row inside every group's tail edges is in no tail
            inside.append(outside_every(y, [(m, edge) for _, m, edge in edges]))
        else:  # ... edges around each group's line: first on the raw columns (no logarithm; fit.beyond_every_line)
            bands = [(m + fits.of((g,)).a, fits.of((g,)).b, edge) for g, m, edge in edges]
            raw = fit.beyond_every_line(value, raw_us, bands, spans) if spans else None
            inside += [raw] if raw is not None else []
        base = sa.select(*cols).select_from(ctx.table).where(*where, *inside).subquery("ss_rows")
        if fits is not None:  # ... then on the logarithms (on the columns: each log10 computed once)
            inside = [fit.outside_every_line(base.c.y, [base.c[v] for v in explained], bands)]
        d = base.c.y - known.c.m
        rows = base.join(known, base.c.g0 == known.c.g0)
        if fits is not None:
            lines = fits.table("ss_lines")
            d = d - fit.predicted(lines, [base.c[v] for v in explained])
            rows = rows.join(lines, base.c.g0 == lines.c.g0)
        return (
            sa.select(
                base.c.k,
                base.c.x,
                base.c.g0,
                known.c.pool.label("lab"),
                d.label("d"),
                sa.func.greatest(TAIL_SIGMAS * known.c.sigma, TAIL_MIN).label("edge"),
                known.c.sigma.label("spread"),
            )
            .select_from(rows)
            .where(*(inside if fits is not None else []))
            .cte("ss_tails")
        )

    def sigma(r: sa.Row) -> float:
        """A group's robust sigma. With `group_by`, widened by two standard errors of a MAD from its rows (as
        magnitude's small_sample_factor): many small peer groups pooled would otherwise add up the honest tail
        rows of those whose spread came out narrow (Pareto amounts in 12 groups of 40 rows made a mode)."""
        s = 1.4826 * float(r.mad)
        return s * (1 + 2 * MAD_SE / math.sqrt(min(int(r.n), SAMPLE))) if peers else s

    def mode_statement(tails: sa.CTE, label: str, sign: int, other: int, count: int) -> sa.Select:
        """A mode's rows read again: its tail's rows, its centre (`mid`) and where its honest part ends (`cut`),
        then the rows past `cut` within their group's spread of its centre (a lone x10 row further in is not a
        yen row). e: distance from the main mode, away from it."""
        e = sign * tails.c.d
        tail_rows = (
            sa.select(tails.c.k, tails.c.x, tails.c.g0, tails.c.d, tails.c.spread, e.label("e"))
            .where(tails.c.lab == label, e > tails.c.edge)
            .cte("ss_mode")
        )
        tail_rows = _materialized(tail_rows)
        shifted = count - other
        centre = sa.select(
            sa.func.percentile_disc(other / count).within_group(tail_rows.c.e).label("cut"),
            sa.func.percentile_cont((other + shifted / 2) / count).within_group(tail_rows.c.e).label("mid"),
        ).cte("ss_centre")
        window = sa.func.greatest(TAIL_SIGMAS * tail_rows.c.spread, WINDOW_MIN)
        keep = [sa.func.abs(tail_rows.c.e - centre.c.mid) <= window]
        if other:
            keep.append(tail_rows.c.e > centre.c.cut)
        return (
            sa.select(
                tail_rows.c.k,
                tail_rows.c.x,
                tail_rows.c.g0,
                tail_rows.c.d,
                centre.c.mid,
                sa.func.count().over().label("total"),
            )
            .select_from(tail_rows.join(centre, sa.true()))
            .where(*keep)
            .order_by(tail_rows.c.k)
            .limit(ctx.evidence_limit)
        )

    cat_counts = None
    if p.category_column:
        # at most max_categories + 1 rows reach Python; count() over () is the exact number of categories
        cat_counts = (
            sa.select(label.label("value"), sa.func.count().label("n"), sa.func.count().over().label("categories"))
            .select_from(ctx.table)
            .group_by(label)
            .limit(p.max_categories + 1)
        )

    def finish(values: dict[str, Any]):
        fx = ctx.fx_rates
        skip = not_finite(values, used)
        where = [*plain, *[c for name in sorted(skip) for c in ctx.finite(name)]]
        skipped, note = {}, None
        if p.value_column in skip:
            skipped, note = left_out(ctx.left_out(p.value_column), p.value_column)
        counts: dict[str, int] = {}
        categories = None  # distinct categories, when there are more than max_categories
        scored = None  # each label's rows that take part, in label order, as `counted` gives them (ONE_PASS)
        if cat_counts is not None:
            one_scan = ctx.dialect in ONE_PASS and not peers
            taking_part = sa.func.sum(sa.case((sa.and_(*where), 1), else_=0)).label("scored")
            found = ctx.source.execute(cat_counts.add_columns(taking_part) if one_scan else cat_counts)
            if len(found) > p.max_categories:
                categories = int(found[0].categories)
            else:
                counts = {str(r.value): int(r.n) for r in found}
                if one_scan:
                    scored = sorted((str(r.value), int(r.scored)) for r in found if r.scored)
            del found
        by_label = bool(p.category_column) and categories is None
        main = min(counts, key=lambda v: (-counts[v], v)) if by_label and counts else None
        units = _currency_labels(counts, main, fx) if main is not None else []
        cols, sample, bounded = rows_of(categories is None, where, bool(units), scored)
        modes = []
        robust = None
        if explained:
            robust = fit.robust(ctx.source, sample, explained, 1, MIN_FIT, p.explained_by, "ss_lines")
        one_pass = bool(units) and robust is None and not peers and ctx.dialect in ONE_PASS
        got = None  # the sample's rows, when the main modes are computed from them (REFERENCES_FETCHED)
        if robust is None and ctx.dialect in REFERENCES_FETCHED and bounded:
            got = fetch_sample(ctx.source, sa.select(sample.c.g0, sample.c.y, sample.c.group_rows))
        if got is not None:  # the same numbers as the statement's
            stats = fetched_modes(got, (main, units) if one_pass else None, ctx.dialect)
        else:
            stats = ctx.source.execute(
                mode_stats(sample, robust, explained, ctx.dialect, (main, units) if one_pass else None)
            )
        fits = robust.fits(stats) if robust else None
        notes = [note] if note else []
        if peers:  # a peer group of a few rows cannot place a main mode, let alone a second one: skipped
            small = [r for r in stats if int(r.n) < MIN_GROUP]
            stats = [r for r in stats if int(r.n) >= MIN_GROUP]
            if small:
                notes.append(
                    f"{sum(int(r.n) for r in small):,} rows in {len(small):,} {'/'.join(p.group_by)} group(s) of "
                    f"fewer than {MIN_GROUP} rows were not judged for a second mode"
                )
        mixed = []
        if one_pass:
            at = {r.g0: (float(r.u_o), int(r.u_n), 1.4826 * float(r.u_mad)) for r in stats if r.u_n is not None}
            mixed = _judge_units(ctx, at, counts, main, units)
        elif units:
            mixed = _mixed_units(ctx, sample, stats, fits, explained, counts, main, units, bool(peers))
        # the rows pooled to look for a second mode: a label's (or the column's) in every peer group, each
        # measured from its own group's main mode; their size, spread (root mean square) and lean (mean skew)
        pool = {r.g0: ((_decoded(r.g0)[-1] if by_label else "(all)") if peers else r.g0) for r in stats}
        pooled: dict[str, list[float]] = {}
        for r in stats:
            acc = pooled.setdefault(pool[r.g0], [0.0, 0.0, 0.0])
            n_ = float(r.n)
            acc[0] += n_
            acc[1] += n_ * sigma(r) ** 2
            acc[2] += n_ * _skewness(r.q25, r.q50, r.q75)
        spans = None
        if fits is not None and stats:
            integer = ["INT" in ctx.columns[name].type.upper() for name in p.explained_by]
            spans = fit.spans(ctx.source, ctx.table, raw_us, integer)
        tails = tails_of(cols, where, stats, fits, pool, spans) if stats else None
        summary, fetched = [], {}
        if tails is not None:
            summary, fetched = tail_scan(ctx, tails, pooled, p.min_rows)
        for row in summary:
            total, squares, skews = pooled[row.lab]
            n, spread, skew = int(total), math.sqrt(squares / total), skews / total
            for side, count, other, beyond, lean in (
                ("above", row.up, row.down, row.up_beyond, skew),
                ("below", row.down, row.up, row.down_beyond, -skew),
            ):
                count, other = int(count or 0), int(other or 0)
                # a second mode clusters past the edge; an honest tail thins out just past it. A body leaning
                # that way (a Pareto-like tail: its excess over the edge is exponential, median about one sigma)
                # must show a mode well clear of it; a symmetric body has no honest reason for one side's excess
                need = CLUSTER if lean > SKEW_TOL or count > MINORITY * n else CLUSTER_SYMMETRIC
                if lean > SKEW_TOL:  # and the median of a few honest rows' excess strays: two standard errors
                    need = max(need, HONEST_EXCESS + 2 * EXCESS_SE / math.sqrt(count or 1))
                clustered = beyond is not None and float(beyond) >= need
                if count - other >= p.min_rows and count >= 3 * max(other, 1) and clustered:
                    modes.append(
                        {
                            "label": row.lab,
                            "side": side,
                            "count": count,
                            "of": n,
                            "opposite_tail": other,
                            "spread": spread,
                        }
                    )
        evidence: dict[str, Any] = {}
        messages = []
        for mode in modes:
            # e: distance from the main mode, away from it. The opposite tail estimates how many of this
            # tail's rows are honest; they are the ones nearest the main mode, so the mode's rows and its
            # offset come from the rest.
            sign = 1 if mode["side"] == "above" else -1
            count, other = mode["count"], mode.pop("opposite_tail")
            shifted = count - other
            spread = mode.pop("spread")
            side_rows = fetched.get((mode["label"], sign))
            if side_rows is not None:
                found = _mode_rows(ctx.dialect, side_rows, sign, other, count, ctx.evidence_limit)
            else:
                found = ctx.source.execute(mode_statement(tails, mode["label"], sign, other, count))
            mode["count"] = int(found[0].total) if found else 0
            if not found:  # nothing near the estimated centre: not a mode after all
                continue
            mid_v = float(found[0].mid)
            mode.update(honest_tail=other, offset=round(sign * mid_v, 3))
            # the median of `shifted` rows of spread s has a standard error of about 1.25 s / sqrt(shifted)
            mode["factor"] = name_offset(sign * mid_v, fx, 1.2533 * spread / shifted**0.5)
            rows = [{"key": r.k, "value": exact(r.x), "score": round(float(r.d), 3)} for r in found]
            if peers:  # each row's peer group, whose main mode it was measured from
                for row, r in zip(rows, found, strict=True):
                    row["group"] = dict(zip(p.group_by, _decoded(r.g0), strict=False))
            f = mode["factor"]
            prov = provenance(f, mode["count"], mode["side"]) if f else None
            if prov:
                for row, r in zip(rows, found, strict=True):
                    row["candidate"], row["provenance"] = candidate(r.x, prov)
            mode["rows"] = capped(rows, mode["count"])
            where_ = f"{p.category_column}={mode['label']}: " if by_label else ""
            rest = f"their {'/'.join(p.group_by)} peers" if peers else "the rest"
            what = "no known factor matches"
            if f:
                what = f"likely {f['label']} (factor {f['factor']:g})"
                if not prov:
                    what = (
                        f"likely {f['label']} (factor {f['factor']:g} at a built-in approximate rate; set "
                        f"fx_rates.{f['currency']} in config.yaml to get candidate values)"
                    )
                if f["alternatives"]:
                    what += f", or {' or '.join(f['alternatives'])}: too few rows to tell them apart"
            messages.append(
                f"{where_}{mode['count']:,} of {mode['of']:,} rows ({100 * mode['count'] / mode['of']:.2g}%) sit "
                f"{abs(mode['offset']):.2f} decades {mode['side']} {rest}: {what}"
            )
        modes = [m for m in modes if m["count"]]
        if modes:
            evidence["modes"] = modes
        new_values, shifted = [], []
        shares: dict[str, float] = {}
        if categories is not None:
            messages.append(
                f"{p.category_column} has {categories:,} distinct values, more than max_categories "
                f"({p.max_categories:,}): their shares are not tracked; second modes were looked for over all rows"
            )
        elif cat_counts is not None:
            total = sum(counts.values()) or 1
            shares = {v: c / total for v, c in counts.items()}
            before = ctx.history.get(f"category_shares:{spec.name}")
            now_counts = counts
            if before is None and p.timestamp_column:
                # day one: the rows before the detection period are the reference, the rest are judged
                before, now_counts = _split_by_time(ctx, p, label)
            if before:
                now_total = sum(now_counts.values()) or 1
                now_shares = {v: c / now_total for v, c in now_counts.items()}
                new_values = [{"value": v, "count": now_counts[v]} for v in sorted(now_counts) if v not in before]
                new = {x["value"] for x in new_values}
                for v in sorted(set(now_shares) | set(before)):
                    delta = now_shares.get(v, 0.0) - before.get(v, 0.0)
                    if abs(delta) >= p.share_change and v not in new:
                        shifted.append(
                            {"value": v, "share": round(now_shares.get(v, 0.0), 4), "was": round(before.get(v, 0.0), 4)}
                        )
            if new_values:
                evidence["new_values"] = capped(new_values[: ctx.evidence_limit], len(new_values))
                messages.append(
                    "new "
                    + p.category_column
                    + " value(s): "
                    + ", ".join(f"{x['value']} ({x['count']:,} rows)" for x in new_values[:5])
                    + _more(len(new_values))
                )
            if shifted:
                evidence["shifted"] = capped(shifted[: ctx.evidence_limit], len(shifted))
                messages.append(
                    "share shift: "
                    + ", ".join(f"{x['value']} {100 * x['was']:.1f}% -> {100 * x['share']:.1f}%" for x in shifted[:5])
                    + _more(len(shifted))
                )
        # a label priced in its own currency is a property of the data, not a change: its own severity
        changed = bool(evidence)
        if mixed:
            evidence["mixed_units"] = mixed
            messages += [_mixed_message(p, m, fits is not None) for m in mixed]
        ok = not evidence
        cause = "unit_shift" if modes else ("new_category" if new_values else "share_shift")
        if not changed:
            cause = "mixed_units"
        messages += notes
        diagnosis = None if ok else {"cause": cause, "message": "; ".join(messages)}
        if ok and notes:
            diagnosis = {"message": "; ".join(notes)}  # a pass, but the reader should know what was not judged
        # flagged shares are kept only as candidates: the next run still compares with the last good ones,
        # until someone resolves the incident (which accepts them, see runner.resolve_incident)
        prefix = "candidate_share:" if new_values or shifted else "share:"
        metrics = {f"{prefix}{v}": s for v, s in shares.items()}
        observed = {"modes": len(modes), "categories": categories or len(shares) or None}
        if mixed:
            observed["mixed_units"] = len(mixed)
        if note:
            observed["left_out"] = skipped
        expected = {"min_rows": p.min_rows, "share_change": p.share_change, "max_categories": p.max_categories}
        if categories is not None and not modes:
            # too many categories to track: a warning whatever the severity, since nothing was found wrong
            return CheckResult(
                ctx.dataset_name,
                spec.name,
                spec.kind,
                "warn",
                spec.severity,
                observed=observed,
                expected=expected,
                diagnosis={"cause": "high_cardinality", "message": "; ".join(messages)},
                cause="high_cardinality",
            )
        severities = ([spec.severity] if changed else []) + ([p.mixed_units_severity] if mixed else [])
        status = "pass" if ok else ("fail" if "error" in severities else "warn")
        return CheckResult(
            ctx.dataset_name,
            spec.name,
            spec.kind,
            status,
            spec.severity,
            observed=observed,
            expected=expected,
            evidence=evidence,
            diagnosis=diagnosis,
            cause=None if ok else cause,
            metrics=metrics,
        )

    return Plan(finish, ctx.sums(used))


def _composite(keys: list[sa.ColumnElement]) -> sa.ColumnElement:
    """One text key for several group keys: each as its length, ':' and itself, so no value (whatever it
    holds) makes two groups collide, and `_decoded` splits it back."""
    out: sa.ColumnElement = sa.literal("")
    for k in keys:
        out = out + sa.cast(sa.func.length(k), sa.String) + ":" + k
    return out


def _decoded(key: str) -> list[str]:
    """The group keys `_composite` joined (lengths in characters, as both databases count them)."""
    parts, i = [], 0
    while i < len(key):
        colon = key.index(":", i)
        n = int(key[i:colon])
        parts.append(key[colon + 1 : colon + 1 + n])
        i = colon + 1 + n
    return parts


def currency_rate(label: str, fx_rates: dict[str, float]) -> tuple[float, str] | None:
    """Units per USD of a label that is a currency code, and where the rate comes from; None otherwise."""
    code = label.strip().upper()
    if code in fx_rates:
        return fx_rates[code], CONFIGURED
    if code == "USD":
        return 1.0, "base"
    if code in BUILTIN_FX:
        return BUILTIN_FX[code], BUILTIN
    return None


def _currency_labels(counts: dict[str, int], main: str, fx_rates: dict[str, float]) -> list[str]:
    """The labels to judge for mixed currencies: every other currency code, when the main label is one."""
    if currency_rate(main, fx_rates) is None:
        return []
    return [v for v in sorted(counts) if v != main and currency_rate(v, fx_rates) is not None]


def mode_stats(
    sample: sa.CTE,
    fits: fit.Robust | None,
    explained: list[str],
    dialect: str,
    units_of: tuple[str, list[str]] | None = None,
) -> sa.Select:
    """Each label's main mode: the median and MAD of y, or of its residual against the label's line (a
    shifted minority moves the line little: it is refitted without the rows far from it). `units_of`
    (main label, other currency labels; no fit, no peers): each row also carries its label's mixed-currency
    offset (`_units_stats` as u_o, u_n, u_mad), from the main label's median in this statement, so the
    sample is drawn once (ONE_PASS)."""
    if fits is None:
        resid = sa.select(sample.c.g0, sample.c.group_rows, sample.c.y).cte("ss_resid")
    else:
        lines = fits.lines
        resid = (
            sa.select(
                sample.c.g0,
                sample.c.group_rows,
                (sample.c.y - fit.predicted(lines, [sample.c[v] for v in explained])).label("y"),
            )
            .select_from(sample.join(lines, sample.c.g0 == lines.c.g0))
            .cte("ss_resid")
        )
    med = (
        sa.select(resid.c.g0, median(resid.c.y).label("m"), sa.func.max(resid.c.group_rows).label("n"))
        .group_by(resid.c.g0)
        .cte("ss_med")
    )
    dev = (
        sa.select(med.c.g0, med.c.m, med.c.n, median(sa.func.abs(resid.c.y - med.c.m)).label("mad"))
        .select_from(resid.join(med, resid.c.g0 == med.c.g0))
        .group_by(med.c.g0, med.c.m, med.c.n)
        .cte("ss_dev")
    )
    # the body's skew, from its quartiles inside the tail edges (so a shifted minority does not make it)
    inside = sa.func.abs(resid.c.y - dev.c.m) <= sa.func.greatest(TAIL_SIGMAS * 1.4826 * dev.c.mad, TAIL_MIN)
    fourths = quantiles(dialect, resid.c.y, [0.25, 0.5, 0.75])
    quartiles = [v.label(f"q{q}") for q, v in zip((25, 50, 75), fourths, strict=True)]
    joined, line = resid.join(dev, resid.c.g0 == dev.c.g0), []
    if fits is not None:
        joined, line = fits.attach(joined, [dev.c.g0])  # lines fitted in this statement
    body = (
        sa.select(dev.c.g0, dev.c.m, dev.c.n, dev.c.mad, *quartiles, *line)
        .select_from(joined)
        .where(inside)
        .group_by(dev.c.g0, dev.c.m, dev.c.n, dev.c.mad, *line)
    )
    if units_of is None:
        return body.order_by(dev.c.g0)  # the same literals every run: see magnitude.stats
    main, others = units_of
    refs = sa.select(sa.literal("(all)").label("pg"), med.c.m.label("c")).where(med.c.g0 == main).cte("ss_refs")
    offsets = _units_stats(sample, refs, [], main, others, False).order_by(None).subquery("ss_offsets")
    body = body.subquery("ss_body")
    return (
        sa.select(body, offsets.c.o.label("u_o"), offsets.c.n.label("u_n"), offsets.c.mad.label("u_mad"))
        .select_from(body.outerjoin(offsets, body.c.g0 == offsets.c.lab))
        .order_by(body.c.g0)
    )


def _mixed_units(
    ctx: Context,
    sample: sa.CTE,
    stats: list[sa.Row],
    fits: fit.Fits | None,
    explained: list[str],
    counts: dict[str, int],
    main: str,
    units: list[str],
    peered: bool,
) -> list[dict[str, Any]]:
    """The currency labels whose rows sit their currency's factor from the main label's (item (d) of the
    module doc). Each label's offset is the median, over its sampled rows, of y minus the main label's
    reference in the row's peer group (its median, or its line plus the median residual); a row whose peer
    group has no judged main-label reference takes no part."""
    refs = []
    for r in stats:
        parts = _decoded(r.g0) if peered else [r.g0]
        if parts[-1] != main:
            continue
        line = fits.of((r.g0,)) if fits is not None else None
        pg = "".join(f"{len(v)}:{v}" for v in parts[:-1]) if peered else "(all)"
        refs.append((pg, float(r.m) + (line.a if line else 0.0), *(line.b if line else ())))
    if not refs:
        return []
    known = sa.values(
        sa.column("pg", sa.String),
        sa.column("c", sa.Float),
        *[sa.column(f"b{j}", sa.Float) for j in range(len(explained))],
        name="ss_refs",
    ).data(refs)
    found = ctx.source.execute(_units_stats(sample, known, explained, main, units, peered))
    at = {row.lab: (float(row.o), int(row.n), 1.4826 * float(row.mad)) for row in found}
    return _judge_units(ctx, at, counts, main, units)


def _units_stats(
    sample: sa.CTE, known: sa.FromClause, explained: list[str], main: str, units: list[str], peered: bool
) -> sa.Select:
    """Each currency label's offset from the main label's reference (`known`: pg, c, b0..: literals, or the
    main label's median from the reference statement's own CTE): its rows' median residual `o`, their count
    `n` and the residuals' MAD."""
    lab = sample.c.lab if peered else sample.c.g0
    r = sample.c.y - known.c.c
    for j, v in enumerate(explained):
        r = r - known.c[f"b{j}"] * sample.c[v]
    resid = (
        sa.select(lab.label("lab"), r.label("r"))
        .select_from(sample.join(known, (sample.c.pg if peered else sa.literal("(all)")) == known.c.pg))
        .where(lab.in_([main, *units]))
        .cte("ss_units")
    )
    med = (
        sa.select(resid.c.lab, median(resid.c.r).label("o"), sa.func.count().label("n"))
        .group_by(resid.c.lab)
        .cte("ss_units_med")
    )
    return (
        sa.select(med.c.lab, med.c.o, med.c.n, median(sa.func.abs(resid.c.r - med.c.o)).label("mad"))
        .select_from(resid.join(med, resid.c.lab == med.c.lab))
        .group_by(med.c.lab, med.c.o, med.c.n)
        .order_by(med.c.lab)
    )


def _judge_units(
    ctx: Context, at: dict[str, tuple[float, int, float]], counts: dict[str, int], main: str, units: list[str]
) -> list[dict[str, Any]]:
    """The mixed currencies among `units`, from each label's (offset, rows, spread) in `at`."""
    if main not in at:
        return []
    o_main, n_main, s_main = at[main]
    main_rate, main_source = currency_rate(main, ctx.fx_rates)
    out = []
    for label in units:
        if label not in at:
            continue
        o, n, s = at[label]
        rate, source = currency_rate(label, ctx.fx_rates)
        s = max(s, s_main)  # a few rows cannot show a spread narrower than the main label's
        se = 1.2533 * math.sqrt(s**2 / n + s_main**2 / n_main)  # of the difference of two medians
        tol = max(MATCH, 2 * se)
        factor = math.log10(rate / main_rate)
        offset = o - o_main
        # the factor must be told from 1: further than both tolerances and than the rows' own spread, so
        # that "priced in its own currency" and "priced in the main unit" cannot both fit (EUR at 0.92 never)
        if abs(factor) <= max(2 * tol, s) or abs(offset - factor) > tol:
            continue
        approximate = BUILTIN in (source, main_source)
        out.append(
            {
                "label": label,
                "main": main,
                "count": counts[label],
                "of": sum(counts.values()),
                "factor": _sig(rate / main_rate),
                "rate": rate_text(rate),
                "main_rate": rate_text(main_rate),
                "source": BUILTIN if approximate else CONFIGURED,
                "offset": round(offset, 3),
                "distance": round(abs(offset - factor), 3),
                "tolerance": round(tol, 3),
            }
        )
    return out


def _mixed_message(p: Params, m: dict[str, Any], fitted: bool) -> str:
    on = " (on the residual of the fit on " + ", ".join(p.explained_by) + ")" if fitted else ""
    on = " (on the ratio to " + p.reference_column + ")" if p.reference_column else on
    how = "a built-in approximate rate" if m["source"] == BUILTIN else "the rates of config fx_rates"
    if m["source"] == BUILTIN:
        how += f"; set fx_rates.{m['label'].strip().upper()} in config.yaml to use your books' rate"
    return (
        f"{p.value_column} mixes currencies: the {m['count']:,} rows labelled {m['label']} sit "
        f"{abs(m['offset']):.2f} decades {'above' if m['offset'] > 0 else 'below'} the {m['main']} rows{on}, "
        f"the {m['label']}/{m['main']} factor {m['factor']:g} ({how}): a sum or mean over {p.value_column} "
        "adds one unit to another"
    )


def _more(n: int, shown: int = 5) -> str:
    return f" and {n - shown:,} more" if n > shown else ""


def _split_by_time(ctx: Context, p: Params, label: sa.ColumnElement) -> tuple[dict[str, float] | None, dict[str, int]]:
    """Shares of the rows older than `detection_period` (None if there are none) and counts of the newer ones.
    Naive timestamps are read as UTC."""
    col = ctx.col(p.timestamp_column, timestamps=True, purpose="subschema's timestamp_column")
    aware = ctx.columns[p.timestamp_column].tz_aware
    ts = sa.func.timezone("UTC", col) if aware else sa.cast(col, sa.DateTime())
    cutoff = (ctx.now - p.detection_period).astimezone(dt.UTC).replace(tzinfo=None)
    recent = (ts >= cutoff).label("recent")
    old: dict[str, int] = {}
    new: dict[str, int] = {}
    stmt = sa.select(label.label("value"), recent, sa.func.count().label("n")).select_from(ctx.table)
    for r in ctx.source.execute(stmt.where(col.is_not(None)).group_by(label, recent)):
        (new if r.recent else old)[str(r.value)] = int(r.n)
    total = sum(old.values())
    return ({v: c / total for v, c in old.items()} if total else None), new


def reads(store: Any, dataset: str, name: str, params: Params) -> dict[str, Any]:
    """What earlier runs learnt that this check reads: the category shares last accepted (re-weighting)."""
    if not params.category_column:
        return {}
    return {f"category_shares:{name}": store.last_shares(dataset, name)}


def _materialized(cte: sa.CTE) -> sa.CTE:
    """Computed once where the dialect can be told so (DuckDB and PostgreSQL inline a CTE read twice); Spark,
    Trino, Snowflake and BigQuery have no MATERIALIZED and plan a CTE their own way."""
    return cte.prefix_with("MATERIALIZED", dialect="duckdb").prefix_with("MATERIALIZED", dialect="postgresql")


def tail_scan(
    ctx: Context, tails: sa.CTE, pooled: dict[str, list[float]], min_rows: int
) -> tuple[list[Any], dict[tuple[str, int], list[Any]]]:
    """One scan of the tails: each pool's counts above and below and how far past the edge they cluster
    (`summary`, in `lab` order), and with them the rows of each side that looks like a second mode by the
    same tests, when at most FETCH_MAX (`fetched`: {(lab, sign): rows ordered by k}), so its rows need no
    second scan of the table. Python decides the modes from `summary`; a mode not fetched is read again.
    On the dialects of sqlstats.REFERENCES_FETCHED the tail rows themselves are fetched, up to FETCH_ROWS, and
    counted in Python (`fetched_tails`): the same numbers, every side's rows up to FETCH_MAX, one read of the
    tails (Spark read them twice in this statement, once for the counts and once for the sides' rows: 0.9-1.1
    s at 10M). Past FETCH_ROWS tail rows what was fetched is dropped and the statement runs as before: one
    read more than the statement alone (a table whose tails hold over 400,000 rows)."""
    if ctx.dialect in REFERENCES_FETCHED:
        got = fetch_sample(ctx.source, sa.select(*[tails.c[name] for name in TAIL_COLUMNS]))
        if got is not None:
            return fetched_tails(got, ctx.dialect)
    tails = _materialized(tails)
    fetch_max = FETCH_MAX if ctx.dialect in EXACT_PERCENTILES else 0  # else every mode is read again
    up, down = tails.c.d > tails.c.edge, tails.c.d < -tails.c.edge
    unit = sa.func.greatest(tails.c.spread, 1e-12)  # each row's excess in its own group's sigmas
    summary = (
        sa.select(
            tails.c.lab,
            sa.func.sum(sa.case((up, 1), else_=0)).label("up"),
            sa.func.sum(sa.case((down, 1), else_=0)).label("down"),
            # FILTER: only the tail rows reach the sort (a CASE would feed every row of 10M to it)
            median((tails.c.d - tails.c.edge) / unit).filter(up).label("up_beyond"),
            median((-tails.c.d - tails.c.edge) / unit).filter(down).label("down_beyond"),
        )
        .group_by(tails.c.lab)
        .cte("ss_summary")
    )
    # each pool's size and lean, for the tests below (the same as in finish)
    shape = sa.values(
        sa.column("lab", sa.String), sa.column("n", sa.Float), sa.column("skew", sa.Float), name="ss_shape"
    ).data([(lab, acc[0], acc[2] / acc[0]) for lab, acc in pooled.items()])
    sides = []
    for sign, count, other, beyond in ((1, "up", "down", "up_beyond"), (-1, "down", "up", "down_beyond")):
        c, o, b, lean = summary.c[count], summary.c[other], summary.c[beyond], sign * shape.c.skew
        need = sa.case(
            (lean > SKEW_TOL, sa.func.greatest(CLUSTER, HONEST_EXCESS + 2 * EXCESS_SE / sa.func.sqrt(c))),
            (c > MINORITY * shape.c.n, CLUSTER),
            else_=CLUSTER_SYMMETRIC,
        )
        likely = [c - o >= min_rows, c >= 3 * sa.func.greatest(o, 1), b >= need, c <= fetch_max]
        sides.append(
            sa.select(summary.c.lab, sa.literal(sign).label("sign"))
            .select_from(summary.join(shape, summary.c.lab == shape.c.lab))
            .where(*likely)
        )
    likely_sides = sa.union_all(*sides).cte("ss_sides")
    rows = (
        sa.select(tails.c.lab, likely_sides.c.sign, tails.c.k, tails.c.x, tails.c.g0, tails.c.d, tails.c.spread)
        .select_from(
            tails.join(
                likely_sides,
                sa.and_(tails.c.lab == likely_sides.c.lab, likely_sides.c.sign * tails.c.d > tails.c.edge),
            )
        )
        .subquery("ss_side_rows")
    )
    out = ctx.source.execute(
        sa.select(*summary.c, rows.c.sign, rows.c.k, rows.c.x, rows.c.g0, rows.c.d, rows.c.spread)
        .select_from(summary.outerjoin(rows, summary.c.lab == rows.c.lab))
        .order_by(summary.c.lab, rows.c.sign, rows.c.k)  # the modes in the same order every run
    )
    first: dict[str, sa.Row] = {}
    fetched: dict[tuple[str, int], list[sa.Row]] = {}
    for r in out:
        first.setdefault(r.lab, r)
        if r.sign is not None:
            fetched.setdefault((r.lab, int(r.sign)), []).append(r)
    return list(first.values()), fetched


def _mode_rows(dialect: str, rows: list[sa.Row], sign: int, other: int, count: int, limit: int) -> list[_Found]:
    """What `mode_statement` returns, from the side's rows fetched with the tail scan (ordered by k): the same
    percentiles as the database computes them (bit for bit), the same window (its edge rounded once here,
    where the database may round it twice: a row within 1e-16 of it is the only one that could differ), the
    first `limit` rows by k."""
    ordered = sorted(sign * float(r.d) for r in rows)
    shifted = count - other
    cut = percentile_disc(dialect, ordered, other / count)
    mid = percentile_cont(dialect, ordered, (other + shifted / 2) / count)
    # the window as the database compares it: the spread (a literal, so DECIMAL) times 3.0, then a double
    kept = [
        r
        for r in rows
        if abs(sign * float(r.d) - mid) <= float(max(Decimal("3.0") * Decimal(r.spread), Decimal("0.25")))
        and (not other or sign * float(r.d) > cut)
    ]
    return [_Found(r.k, r.x, r.g0, r.d, mid, len(kept)) for r in kept[:limit]]


@dataclass(frozen=True)
class _Mode:
    """A label's main mode as `mode_stats` returns it (no fit): its median m, rows n, MAD, the quartiles of its
    body and, with `units_of`, its mixed-currency offset (u_o, u_n, u_mad; None for a label without one)."""

    g0: str
    m: float
    n: int
    mad: float
    q25: float
    q50: float
    q75: float
    u_o: float | None = None
    u_n: int | None = None
    u_mad: float | None = None


def fetched_modes(sample: pa.Table, units_of: tuple[str, list[str]] | None, dialect: str) -> list[_Mode]:
    """`mode_stats(sample, None, units_of)` computed from the sample's rows (g0, y, group_rows, fetched as
    columns), for the dialects of sqlstats.REFERENCES_FETCHED: the same numbers (the database's percentiles, bit
    for bit), in the same order."""
    import numpy as np

    modes, medians, by = [], {}, {}
    for (g,), ys, group_rows in grouped(sample, 1):
        by[g] = ys
        ordered, m, (mad,) = centred(dialect, ys, (0.5,))
        medians[g] = m
        edge = max(TAIL_SIGMAS * 1.4826 * mad, TAIL_MIN)
        body = ordered[np.abs(ordered - m) <= edge]
        if len(body):
            q25, q50, q75 = (percentile_cont(dialect, body, q) for q in (0.25, 0.5, 0.75))
            modes.append(_Mode(g, m, group_rows, mad, q25, q50, q75))
    if units_of is None or units_of[0] not in medians:
        return modes
    main, others = units_of
    offsets = {}
    for lab in [main, *others]:
        if lab in by:
            _ordered, o, (mad,) = centred(dialect, by[lab] - medians[main], (0.5,))
            offsets[lab] = {"u_o": o, "u_n": len(by[lab]), "u_mad": mad}
    return [replace(mode, **offsets.get(mode.g0, {})) for mode in modes]


TAIL_COLUMNS = ("k", "x", "g0", "lab", "d", "edge", "spread")  # a tail row as `tail_scan` fetches it
NULLS_FIRST = ("spark",)  # dialects whose ascending ORDER BY puts NULL first (DuckDB's and PostgreSQL's: last)


class _Tails(NamedTuple):
    """A pool's tail as `tail_scan`'s summary gives it: its rows above and below the edge, and the median of
    their excess over it, in their group's sigmas (None for a side without rows)."""

    lab: str
    up: int
    down: int
    up_beyond: float | None
    down_beyond: float | None


class _TailRow(NamedTuple):
    """A side's row as `tail_scan` fetches it with the summary."""

    k: Any
    x: Any
    g0: str
    d: float
    spread: float


def fetched_tails(tails: pa.Table, dialect: str) -> tuple[list[_Tails], Mapping[tuple[str, int], list[_TailRow]]]:
    """`tail_scan`'s summary computed from the tail rows (TAIL_COLUMNS, fetched as columns), with the rows of
    every side of at most FETCH_MAX ordered by key as its statement orders them (text by code point, as Spark
    and DuckDB compare it): the same counts, and medians bit for bit (numpy's subtraction, division and maximum
    of doubles are IEEE's, as the database's are)."""
    import numpy as np
    import pyarrow.compute as pc

    if not tails.num_rows:
        return [], {}
    nulls = [name for name in ("lab", "d", "edge", "spread") if tails.column(name).null_count]
    if nulls:  # a pool's name is coalesced and d a finite distance: a NULL is a statement's bug, not data
        raise ValueError(f"fetched tails: NULL in {', '.join(nulls)}")
    d, edge, spread = (tails.column(name).to_numpy().astype(np.float64, copy=False) for name in ("d", "edge", "spread"))
    unit = np.maximum(spread, 1e-12)  # each row's excess in its own group's sigmas
    sides = {1: (d > edge, (d - edge) / unit), -1: (d < -edge, (-d - edge) / unit)}
    enc = pc.dictionary_encode(tails.column("lab").combine_chunks())
    labs, of_row = enc.dictionary.to_pylist(), enc.indices.to_numpy(zero_copy_only=False)
    key = tails.column("k")
    order = pc.sort_indices(key).to_numpy()  # the statement's ORDER BY k; Arrow puts NULL last
    if key.null_count and dialect in NULLS_FIRST:
        order = np.roll(order, key.null_count)
    summary, at = [], {}
    for i in sorted(range(len(labs)), key=labs.__getitem__):
        mine = of_row == i
        counts, beyond = {}, {}
        for sign, (past, excess) in sides.items():
            on_side = mine & past
            counts[sign] = int(np.count_nonzero(on_side))
            beyond[sign] = None
            if counts[sign]:
                beyond[sign] = percentile_cont(dialect, np.sort(excess[on_side]), 0.5)
            if 0 < counts[sign] <= FETCH_MAX:  # as the statement: a bigger side is read again by its own
                at[(labs[i], sign)] = order[on_side[order]]
        summary.append(_Tails(labs[i], counts[1], counts[-1], beyond[1], beyond[-1]))
    return summary, _Sides(tails.select(list(_TailRow._fields)), at)


class _Sides(Mapping):
    """`fetched_tails`'s sides: each (lab, sign)'s rows, made Python rows only when asked for (a mode's, not
    the thousands of an honest tail's)."""

    def __init__(self, rows: pa.Table, at: dict[tuple[str, int], np.ndarray]) -> None:
        self.rows, self.at = rows, at

    def __getitem__(self, side: tuple[str, int]) -> list[_TailRow]:
        return [_TailRow(*r.values()) for r in self.rows.take(self.at[side]).to_pylist()]

    def __contains__(self, side: object) -> bool:
        return side in self.at

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self.at)

    def __len__(self) -> int:
        return len(self.at)


class _Found(NamedTuple):
    """A mode's row as `mode_statement` returns it."""

    k: Any
    x: Any
    g0: str
    d: float
    mid: float
    total: int
