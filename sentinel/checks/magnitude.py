"""`magnitude`: rows whose value is orders of magnitude off its best reference ("$10M that should be $1M").

Each row is scored on y = log10|x| (zeros and NULLs are skipped, negatives use |x|) against the best
reference available for it:

- `explained_by: [cols]`: a robust least-squares fit y ~ a + Σ b_j·log10|col_j| within the row's `group_by`
  group (sentinel/checks/fit.py: fitted, then refitted without the rows far from the first line), so log price
  on log carat catches x10 inside a column whose honest values span two decades; a row missing one of those
  values (or holding a zero) falls back to the next reference;
- `group_by`: the median of the row's peer group;
- neither: the median of all rows.

`unit_column: <label column>` (a currency or unit) judges each row in its own unit: a label with a config
`fx_rates` rate (units per `base_unit`, USD by default) is converted to the base unit (its log10 rate
subtracted in the SQL) and joins the base label's peer groups; every other label, NULL included, is a peer
group of its own. Nothing is inferred: `expected.units` says how each label was judged, and a flagged row's
reference and candidate are in its own unit.

Groups with fewer than `MIN_GROUP` rows borrow the whole table's reference, or their label's with
`unit_column` (a group of one cannot judge itself, and a yen row is not judged against dollars). The spread
is 1.4826·MAD of the residuals in the same group, floored at `FLOOR` so a group of identical values still
flags a value ten times larger.

Everything is computed in the database (on Spark, without `explained_by`, the references are computed from
the fetched sample instead: sqlstats.REFERENCES_FETCHED, `fetched_stats`, the same numbers). The references
(fits, medians, MADs) come from a deterministic sample of each group (sentinel/checks/sqlstats.py), in one
statement that returns one row per group; with
`explained_by` (and on Spark: sqlstats.COUNTS_FIRST), a statement before it counts each group's rows (the
sample then joins them as literals), and the lines are fitted on the same sample inside it (one column) or
in two statements before it (several: sentinel/checks/fit.py). Then one scan scores every row against the
references, passed back as literals, and returns only the flagged rows: no full-table sort (with
`explained_by`, rows a comparison on the raw columns proves inside every line's band are dropped before any
logarithm: fit.beyond_every_line, bounded by the explanatory columns' min and max). The
threshold scales with the row count so that the expected number of honest rows beyond it stays below 0.05
under a normal tail, widened by how much heavier the data's own tail is (the sample's 0.90 and 0.99
quantiles of |z|).

When log10 of a row's ratio to its reference is within the reference's own noise of a non-zero integer k
(`tolerance`: 2.5 noise sigmas, the noise being the wider of the MAD and the 0.90 quantile of |residual|),
the row's cause is `magnitude`: its diagnosis names k ("likely 1 extra digit") and proposes x/10^k as a
candidate, computed exactly from the stored value (sentinel/checks/exact.py: "12345678.90" -> "1234567.89"),
with its provenance (the ratio, its distance from 10^k and the tolerance it is within). The scan decides
this per row, so the counts of each cause are exact. Any other flagged row is `unusual`: far from its
reference but not near a power of ten of it, so no k and no candidate are invented. One proven slip (or a
moved aggregate) fails the check as `magnitude`, listing every flagged row with its own cause; a run of
unusual rows alone is reported at `unusual_severity` (warn: status and severity `warn`, cause `unusual`; info:
a pass that lists them; error: a failure), never above the check's own severity. The result's diagnosis
carries `k` only when every flagged row is listed and all share it; otherwise each row says its own.
Aggregate magnitude: the column's sum and mean are kept as metric history each run and, once 5 runs exist,
judged against them the same way (robust z on log10, plus a 25% minimum change); a flagged run's
aggregates are not kept, so a bad day never becomes the baseline.

NaN and +-infinity (DOUBLE columns of DuckDB and PostgreSQL take them) are left out of every statistic and
scoring, counted, and said ("12 NaN values of amount left out", `observed.left_out`); in an explanatory
column they count as missing. The dataset's scan tells whether a column holds any by its sum (NaN or infinite
exactly then), so a clean column runs the same SQL as ever and only a dirty one pays for the filtering.

`history_by: <key column>` puts the same key's previous value first (sentinel/checks/history.py): a row that
jumped by about 10^k since the last run is flagged with that value as its reference, even where its new
value is ordinary among its peers.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from pydantic import Field, field_validator, model_validator

from sentinel.checks import fit, history
from sentinel.checks.common import (
    CannotMeasure,
    Context,
    Plan,
    Spec,
    approx,
    capped,
    left_out,
    not_finite,
    number,
    result,
)
from sentinel.checks.exact import exact, shifted
from sentinel.checks.sqlstats import (
    COUNTS_FIRST,
    NULL_GROUP,
    REFERENCES_FETCHED,
    beyond_every,
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
    quantiles,
    same,
    sampled,
)
from sentinel.results import CheckResult
from sentinel.yamlmodel import CheckParams

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

MIN_GROUP = 20
FLOOR = 0.01  # log10 units: a 2.3% spread at least
MIN_HISTORY = 5  # earlier runs needed before sum and mean are judged
AGGREGATE_CHANGE = 0.25  # and they must also move this much: steady series have a tiny MAD
EXPECTED_FALSE = 0.05  # honest rows beyond the threshold, per check, under a normal tail
NORMAL_Q90, NORMAL_Q99 = 1.6449, 2.5758  # quantiles of |z| under a normal tail
TAIL_CAP = 1.6  # the data's tail may widen the normal threshold this much at most (a few wild rows cannot)
MAD_SE = 1.36  # relative standard error of a MAD-based sigma is about 1.36/sqrt(n)
NAMING_SIGMAS = 2.5  # k is named when log10(x/ref) is within this many noise sigmas of k: 99% of real slips
NAMING_FLOOR = 0.05  # decades: the least tolerance (values rounded to a few digits have a tiny MAD)
MAX_NOISE = 0.2  # decades: a noisier reference cannot favour 10^k 2:1 over any other ratio (0.4/sigma per decade)


# the `cause` of each failure this kind reports (playbooks' `when.cause`): a proven x10^k slip, or a row far
# from its reference that is not near a power of ten of it (no candidate: only its owner knows)
CAUSES = ("magnitude", "unusual")
UNUSUAL_STATUS = {"info": "pass", "warn": "warn", "error": "fail"}
UNITS_SHOWN = 20  # labels the result lists with how each was judged


class Params(CheckParams):
    column: str
    group_by: list[str] = []
    explained_by: list[str] = []
    history_by: str | None = None
    unit_column: str | None = None
    base_unit: str = Field("USD", min_length=1, description="the unit config fx_rates are quoted against")
    unusual_severity: Literal["info", "warn", "error"] = "warn"
    sensitivity: float = Field(3.5, gt=0, description="the least threshold on |robust z|; it grows with rows")

    @field_validator("explained_by")
    @classmethod
    def _distinct(cls, cols: list[str]) -> list[str]:
        if len(set(cols)) < len(cols):
            raise ValueError("a column is listed twice")
        return cols

    @model_validator(mode="after")
    def _not_itself(self) -> Params:
        if self.column in self.explained_by:
            raise ValueError(f"explained_by: {self.column} cannot explain itself")
        if self.unit_column is not None and self.unit_column in (self.column, *self.explained_by, *self.group_by):
            raise ValueError(
                f"unit_column: {self.unit_column} is already the checked column, an explained_by or a group_by column"
            )
        return self


def default_name(params: Params) -> str:
    return f"magnitude({params.column})"


def needs_key(params: Params) -> bool:
    return True


def threshold(n: int, q90: float | None, q99: float | None, sensitivity: float) -> float:
    """|z| beyond which a row is flagged, so that about EXPECTED_FALSE honest rows of n lie beyond it.

    Two estimates of that level: a normal tail (scaled if the body of |z| is wider than normal), and the
    data's own tail: its 0.90 and 0.99 quantiles of |z|, taken as a line in normal scores and extended to the
    level wanted (exact on normal data; a heavier tail has a steeper line). The latter is capped at TAIL_CAP
    times the former, so a few percent of wild rows cannot raise the bar over themselves. Measured with
    bench-style simulations: normal data 0.004 false rows per 1,000, Student t5 0.45, recall of x10 0.98."""
    if n <= 0:
        return sensitivity
    score = NormalDist().inv_cdf(1 - EXPECTED_FALSE / (2 * n))
    if q90 is None or q99 is None:
        return max(sensitivity, score)
    normal = score * max(1.0, q90 / NORMAL_Q90)
    own = q90 + (q99 - q90) / (NORMAL_Q99 - NORMAL_Q90) * (score - NORMAL_Q90)
    return max(sensitivity, normal, min(own, TAIL_CAP * normal))


def small_sample_factor(n: float) -> float:
    """A spread estimated from few rows is itself uncertain: widen the threshold by two standard errors."""
    return 1.0 + 2 * MAD_SE / math.sqrt(max(n, 1.0))


def tolerance(noise: float) -> float:
    """How far (decades) log10(x/ref) may sit from an integer k for k to be named: NAMING_SIGMAS of the
    reference's noise, at least NAMING_FLOOR.

    A slipped row is an honest value times 10^k, so its distance from 10^k is the honest value's own deviation
    from its reference: within 2.5 sigmas for 99% of slips under a normal tail, 97% under a Student-t5 one. An
    unusual honest value lands anywhere in the decade, so a tolerance of t decades names a false k for about 2t
    of them: 2.5 sigmas, not the 3.5 that named "0.21x its reference" (3.2 sigmas from 10^-1). Past MAX_NOISE no k
    is named at all: even a ratio of exactly 10^k is then less than twice as likely a slip (a normal density
    of 0.4/sigma per decade at its centre) as an unusual value (1 per decade, anywhere in it)."""
    return max(NAMING_FLOOR, NAMING_SIGMAS * noise)


def digits(ratio_log: float, noise: float) -> int | None:
    """k when log10(x/ref) sits within the reference's noise of a non-zero integer k, else None. The scoring
    scan applies the same rule in SQL (`flagged`, with `naming_tolerance` per group), so that the count of
    proven slips is exact even where the evidence lists only some of the rows."""
    if not math.isfinite(ratio_log):
        return None
    k = round(ratio_log)
    tol = tolerance(noise)
    if k == 0 or noise >= MAX_NOISE or abs(ratio_log - k) > tol:
        return None
    return k


def noise_of(spread: float, d90: float | None) -> float:
    """The reference's noise: the larger of its MAD-based spread and its 0.90 quantile of |residual| in normal
    sigmas. A group whose body is tight but whose tail is wide (cheap small diamonds next to dear large ones in
    one cut-colour-clarity group) is noisier than its MAD says, and a k named against the MAD alone would be a
    guess."""
    if d90 is None or not math.isfinite(d90):
        return spread
    return max(spread, d90 / NORMAL_Q90)


def shared_k(items: list[dict[str, Any]], total: int) -> int | None:
    """The k every flagged row shares, if all `total` of them are listed and each names the same k: a
    result-level k must hold for each row a correction would touch."""
    ks = {(i.get("diagnosis") or {}).get("k") for i in items}
    if len(items) != total or len(ks) != 1 or None in ks:
        return None
    return ks.pop()


@dataclass(frozen=True)
class Units:
    """How `unit_column` puts each row in a unit: labels with a config `fx_rates` rate are converted to
    `base` (log10 offsets per label) and join the base label's groups; every other label (NULL included) is a
    peer group of its own. The unit is the last group column, g{index}."""

    column: str
    base: str
    rates: dict[str, float]  # label -> units per base unit, for the labels converted
    index: int

    def offset(self, label: Any) -> float:
        """log10 of the rate a row with this label was converted at (0: in its own unit)."""
        rate = self.rates.get(label) if isinstance(label, str) else None
        return math.log10(rate) if rate else 0.0

    def how(self, label: str) -> str:
        rate = self.rates.get(label)
        return f"converted at fx_rates {rate:g} to {self.base}" if rate else "own label"


@dataclass(frozen=True)
class Scoring:
    """How `magnitude` scores a table: `sample` holds the rows its references are estimated from (y, the
    explanatory columns v0.., groups g0..); `rows` selects all the scored rows (the scoring scan may add raw
    conditions to its WHERE: `Raw`)."""

    sample: sa.CTE
    rows: sa.Select
    groups: int
    explained: list[str]  # v0, v1, ...: log10|explained_by| columns of sample and rows (NULL: missing or 0)
    describe: str
    peers: str  # describes the reference of rows missing an explanatory value
    scorable: sa.ColumnElement  # selects the scored rows, for counting them in the dataset's scan
    counts: sa.Select  # each group's scored rows: run first, its rows make `sample` join literals (explained_by,
    # COUNTS_FIRST)
    units: Units | None = None
    raw: Raw | None = None  # with explained_by


@dataclass(frozen=True)
class Raw:
    """The scored rows' columns before their logarithms, so that the scoring scan can drop the rows inside
    every band with comparisons on them (fit.beyond_every_line) before it takes a single logarithm: `x` the
    value, `us` the explanatory columns, `missing` true where a row has no line (a u NULL, zero or not finite:
    judged against its peers), `shift` the range of unit offsets subtracted from log10|x|, `integer` which us
    hold integers (their least non-zero |u| is 1: fit.spans)."""

    x: sa.ColumnElement
    us: list[sa.ColumnElement]
    missing: sa.ColumnElement
    shift: tuple[float, float]
    integer: list[bool]


def units_of(ctx: Context, p: Params) -> tuple[Units | None, sa.ColumnElement | None, sa.ColumnElement | None]:
    """The unit (group key) and log10 conversion offset of each row, or Nones without `unit_column`. Labels
    and rates go into the SQL as bound literals; the comparison is on the label as text."""
    if p.unit_column is None:
        return None, None, None
    label = group_key(ctx.col(p.unit_column))
    rates = {code: float(rate) for code, rate in sorted(ctx.fx_rates.items()) if code != p.base_unit}
    units = Units(p.unit_column, p.base_unit, rates, len(p.group_by))
    if not rates:
        return units, ctx.col(p.unit_column), None
    converted = label.in_([sa.literal(code, sa.String) for code in rates])
    unit = sa.case((converted, sa.literal(p.base_unit, sa.String)), else_=label)
    offset = sa.case(
        *[(label == sa.literal(code, sa.String), sa.literal(math.log10(r), sa.Double)) for code, r in rates.items()],
        else_=sa.literal(0.0, sa.Double),
    )
    return units, unit, offset


def scoring(ctx: Context, p: Params, skip: frozenset[str] = frozenset(), counts: list[tuple] | None = None) -> Scoring:
    """`skip`: the columns holding NaN or infinite values, whose finite values alone take part. `counts`: the
    rows of `Scoring.counts`, if run (sqlstats.sampled says why)."""
    if ctx.dialect not in ("postgresql", "duckdb", "spark"):
        raise CannotMeasure("unsupported", f"magnitude needs percentile_cont and log10; {ctx.dialect} has neither")
    x = ctx.col(p.column, numeric=True, purpose="magnitude")
    key = ctx.key_col()
    units, unit, offset = units_of(ctx, p)
    groups: list[sa.ColumnElement] = [ctx.col(g) for g in p.group_by] + ([unit] if unit is not None else [])
    y = log10_abs(x) if offset is None else log10_abs(x) - offset  # in the base unit where converted
    cols = [key.label("k"), x.label("x"), y.label("y")]
    cols += [group_key(g).label(f"g{i}") for i, g in enumerate(groups)]
    where = [x.is_not(None), x != 0, *(ctx.finite(p.column) if p.column in skip else [])]
    us, missing = [], []
    for j, name in enumerate(p.explained_by):
        # NULL where the value is missing, zero, NaN or infinite: that row is judged against its peers instead
        u = ctx.col(name, numeric=True, purpose="explained_by")
        if name in skip:
            v = sa.case((sa.and_(u != 0, *ctx.finite(name)), log10_abs(u)))
        else:
            v = log10_abs(sa.func.nullif(u, 0))
        cols.append(v.label(f"v{j}"))
        us.append(u)
        missing += [u.is_(None), u == 0, *[sa.not_(f) for f in (ctx.finite(name) if name in skip else [])]]
    sample = sampled(ctx.dialect, ctx.table, cols, where, groups, key, "mag", counts)
    by = [*p.group_by, *([p.unit_column] if p.unit_column else [])]
    peers = f"median of {', '.join(by)} peers" if by else "median of all rows"
    describe = peers
    if p.explained_by:
        describe = f"fit on log {', '.join(p.explained_by)}" + (f" within {', '.join(by)}" if by else "")
        peers += f" (no {' or '.join(p.explained_by)} to fit on)"
    # the row's own label (its unit, NULL as NULL_GROUP), for saying which unit its value and reference are in
    shown = [group_key(ctx.col(p.unit_column)).label("u")] if p.unit_column else []
    rows = sa.select(*cols, *shown).select_from(ctx.table).where(*where)
    explained = [f"v{j}" for j in range(len(p.explained_by))]
    counts_of = counted(ctx.table, where, groups)
    raw = None
    if us:
        offsets = [0.0, *[math.log10(r) for r in units.rates.values()]] if units is not None else [0.0]
        integer = ["INT" in ctx.columns[name].type.upper() for name in p.explained_by]
        raw = Raw(x, us, sa.or_(*missing), (min(offsets), max(offsets)), integer)
    return Scoring(sample, rows, len(groups), explained, describe, peers, sa.and_(*where), counts_of, units, raw)


def unit_lines(ctx: Context, sc: Scoring, robust: fit.Robust, p: Params) -> fit.Robust:
    """`robust` where a group too small for a line of its own takes its unit's line instead of the whole
    sample's: the sample's line is the dollars' line, and a handful of yen rows of one owner would sit 150x off
    it. The units' fit is one more over the same sample: in the references' statement for one explanatory
    column, two more small statements for several."""
    assert sc.units is not None
    t = sc.sample
    by_unit = sa.select(t.c.y, *[t.c[v] for v in sc.explained], t.c[f"g{sc.units.index}"].label("g0"))
    units = fit.robust(
        ctx.source, by_unit.cte("mag_units"), sc.explained, 1, MIN_GROUP, p.explained_by, "mag_unit_lines"
    )
    return robust.within(units, sc.units.index)


def _centre(
    base: sa.CTE,
    e: sa.ColumnElement,
    gs: list[sa.ColumnElement],
    name: str,
    within: list[sa.ColumnElement],
    dialect: str,
) -> tuple[sa.CTE, sa.CTE]:
    """Median, count, MAD and 0.90 quantile of |deviation| of e (its NULLs left out): a CTE with one row per
    group (m, n, mad, d90) and one with a row per unit of `within` (m0, n0, mad0, d90_0; one row over all rows
    without a unit column)."""
    med = sa.select(*gs, median(e).label("m"), sa.func.count(e).label("n")).group_by(*gs).cte(f"{name}_med")
    dev = sa.func.abs(e - med.c.m)
    mad, d90 = quantiles(dialect, dev, [0.5, 0.9])
    per_group = (
        sa.select(
            *[med.c[g.name] for g in gs],
            med.c.m,
            med.c.n,
            mad.label("mad"),
            d90.label("d90"),
        )
        .select_from(base.join(med, same(gs, [med.c[g.name] for g in gs])))
        .group_by(*[med.c[g.name] for g in gs], med.c.m, med.c.n)
        .cte(f"{name}_groups")
    )
    glob = sa.select(*within, median(e).label("m0"), sa.func.count(e).label("n0")).group_by(*within).cte(f"{name}_all")
    ws = [glob.c[w.name] for w in within]
    dev0 = sa.func.abs(e - glob.c.m0)
    mad0, d90_0 = quantiles(dialect, dev0, [0.5, 0.9])
    overall = (
        sa.select(
            *ws,
            glob.c.m0,
            glob.c.n0,
            mad0.label("mad0"),
            d90_0.label("d90_0"),
        )
        .select_from(base.join(glob, same(within, ws)))
        .group_by(*ws, glob.c.m0, glob.c.n0)
        .cte(f"{name}_overall")
    )
    return per_group, overall


def stats(sc: Scoring, fits: fit.Robust | None, dialect: str) -> sa.Select:
    """Every group's reference from the sample, one row per group: the median, MAD and 0.90 quantile of
    |deviation| of its residuals against its line (or of y itself, without `explained_by`), its unit's (or
    the table's) same, and the sample's tail of |z| repeated on each row. With `explained_by`, also those of
    y itself (`peer_` columns): the reference of rows whose explanatory values are missing; and, when the
    lines are fitted in this statement, `Robust.attach`'s columns."""
    sample = sc.sample
    gs = [sample.c[f"g{i}"] for i in range(sc.groups)]
    if fits is None:
        base, e = sample, sample.c.y
    else:
        lines = fits.lines
        pred = fit.predicted(lines, [sample.c[v] for v in sc.explained])  # NULL where a value is missing
        base = (
            sa.select(sample, (sample.c.y - pred).label("e"))
            .select_from(sample.outerjoin(lines, same(gs, [lines.c[f"g{i}"] for i in range(sc.groups)])))
            .cte("resid")
        )
        gs = [base.c[f"g{i}"] for i in range(sc.groups)]
        e = base.c.e
    # small groups borrow the reference of their unit (the table's, without unit_column): a yen row is never
    # judged against dollars
    within = [gs[sc.units.index]] if sc.units is not None else []
    per_group, overall = _centre(base, e, gs, "ref", within, dialect)
    rows = sa.select(*gs, sa.func.max(base.c.group_rows).label("group_rows")).group_by(*gs).cte("group_rows")

    def matching(names: list[str]) -> Any:
        return lambda a, b: same([a.c[n] for n in names], [b.c[n] for n in names])

    on, in_unit = matching([g.name for g in gs]), matching([w.name for w in within])
    # the sample's own |z|: its 0.90 and 0.99 quantiles say how heavy the honest tail is (small groups borrow
    # the overall centre and spread)
    own = per_group.c.n >= MIN_GROUP
    centre = sa.case((own, per_group.c.m), else_=overall.c.m0)
    spread = sa.func.greatest(sa.case((own, 1.4826 * per_group.c.mad), else_=1.4826 * overall.c.mad0), FLOOR)
    z = sa.func.abs((e - centre) / spread)
    q90, q99 = quantiles(dialect, z, [0.9, 0.99])
    tail = (
        sa.select(q90.label("q90"), q99.label("q99"))
        .select_from(base.join(per_group, on(base, per_group)).join(overall, in_unit(base, overall)))
        .cte("tail")
    )
    cols = [*[rows.c[g.name] for g in gs], rows.c.group_rows]
    cols += [per_group.c.m, per_group.c.n, per_group.c.mad, per_group.c.d90]
    cols += [overall.c.m0, overall.c.n0, overall.c.mad0, overall.c.d90_0, tail]
    joined = rows.outerjoin(per_group, on(rows, per_group)).join(overall, in_unit(rows, overall)).join(tail, sa.true())
    if fits is not None:
        peer, peer_all = _centre(base, base.c.y, gs, "peer", within, dialect)
        cols += [peer.c[c].label(f"peer_{c}") for c in ("m", "n", "mad", "d90")]
        cols += [peer_all.c[c].label(f"peer_{c}") for c in ("m0", "n0", "mad0", "d90_0")]
        joined = joined.join(peer, on(rows, peer)).join(peer_all, in_unit(rows, peer_all))
        joined, line = fits.attach(joined, [rows.c[g.name] for g in gs])  # lines fitted in this statement
        cols += line
    # ordered: the scoring scan's literals then come out the same run after run, which the speculative scan
    # of the next process (sentinel/prefetch.py) needs to reuse it
    return sa.select(*cols).select_from(joined).order_by(*[rows.c[g.name] for g in gs])


def sample_rows(sc: Scoring) -> sa.Select:
    """The sample's groups, y and group_rows: what `fetched_stats` computes `stats` from."""
    t = sc.sample
    return sa.select(*[t.c[f"g{i}"] for i in range(sc.groups)], t.c.y, t.c.group_rows)


def fetched_stats(sc: Scoring, sample: pa.Table, dialect: str) -> list[dict[str, Any]]:
    """`stats(sc, None, dialect)` computed from the sample's rows (`sample_rows`, fetched as columns), for the
    dialects of sqlstats.REFERENCES_FETCHED: the same columns, numbers (the database's own percentiles, bit for
    bit) and order. Without `explained_by` only: the lines' fits stay in the database."""
    import numpy as np

    groups = grouped(sample, sc.groups)
    if not groups:  # no group to judge: the statement returns no row either
        return []
    within = sc.units.index if sc.units is not None else None

    def unit(g: tuple) -> Any:
        return None if within is None else g[within]

    def centre(values: np.ndarray) -> tuple[float, int, float, float]:
        ordered, m, (mad, d90) = centred(dialect, values, (0.5, 0.9))
        return m, len(ordered), mad, d90

    own = {g: centre(ys) for g, ys, _rows in groups}
    units: dict[Any, list[np.ndarray]] = {}
    for g, ys, _rows in groups:
        units.setdefault(unit(g), []).append(ys)
    overall = {u: centre(np.concatenate(parts)) for u, parts in units.items()}
    zs = []
    for g, ys, _rows in groups:
        m, n, mad, _d90 = own[g]
        m0, _n0, mad0, _d90_0 = overall[unit(g)]
        mine = n >= MIN_GROUP
        c = m if mine else m0
        spread = max(1.4826 * mad if mine else 1.4826 * mad0, FLOOR)
        zs.append(np.abs((ys - c) / spread))
    every = np.sort(np.concatenate(zs))
    q90, q99 = percentile_cont(dialect, every, 0.9), percentile_cont(dialect, every, 0.99)
    out = []
    for g, _ys, group_rows in groups:
        m, n, mad, d90 = own[g]
        m0, n0, mad0, d90_0 = overall[unit(g)]
        out.append(
            {
                **{f"g{i}": v for i, v in enumerate(g)},
                "group_rows": group_rows,
                **{"m": m, "n": n, "mad": mad, "d90": d90, "m0": m0, "n0": n0, "mad0": mad0, "d90_0": d90_0},
                **{"q90": q90, "q99": q99},
            }
        )
    return out


@dataclass(frozen=True)
class Reference:
    """One group's reference as `references` resolves it: its own if it has MIN_GROUP rows, else its unit's
    (the table's). `noise` is what `digits` measures a row's distance from 10^k against."""

    centre: float | None
    spread: float
    noise: float
    n: int


def _reference(r: dict[str, Any], prefix: str) -> Reference:
    own = (r[f"{prefix}n"] or 0) >= MIN_GROUP
    names = ("m", "mad", "d90", "n") if own else ("m0", "mad0", "d90_0", "n0")
    centre, mad, d90, n = (r[prefix + c] for c in names)
    spread = max(1.4826 * float(mad), FLOOR) if mad is not None else FLOOR
    noise = noise_of(spread, None if d90 is None else float(d90))
    return Reference(None if centre is None else float(centre), spread, noise, int(n or 0))


def naming_tolerance(noise: float) -> float:
    """`tolerance(noise)` as the scoring scan compares it; -1 where no k can be named at all."""
    return round(tolerance(noise), 6) if noise < MAX_NOISE else -1.0


def references(
    sc: Scoring, stats: list[dict[str, Any]], fits: fit.Fits | None, n: int, sensitivity: float
) -> tuple[list[tuple], float]:
    """Each group's reference as literals: (groups..., a, b0.., s, threshold, ref_n, tol, [peer a, s,
    threshold, ref_n, tol,] group_n), where a row's log10 reference is a + Σ b_j·log10|explained_by_j| (a: the
    line's intercept plus the group's median residual; no b without a fit), and, with a fit, the peer median
    for rows missing an explanatory value; tol is how near 10^k a ratio must be for k to be named; and the
    threshold before widening."""
    first = stats[0]
    t = threshold(n, _float(first["q90"]), _float(first["q99"]), sensitivity)
    out = []
    for r in stats:
        groups = tuple(r[f"g{i}"] for i in range(sc.groups))
        line = fits.of(groups) if fits else fit.Line(0.0, (), 0)
        ref = _reference(r, "")
        row: tuple = (*groups, line.a + (ref.centre or 0.0), *line.b, ref.spread)
        row += (t * small_sample_factor(ref.n), ref.n, naming_tolerance(ref.noise))
        if fits is not None:
            peer = _reference(r, "peer_")
            row += (peer.centre, peer.spread, t * small_sample_factor(peer.n), peer.n, naming_tolerance(peer.noise))
        own = (r["n"] or 0) >= MIN_GROUP or (fits is not None and (r["peer_n"] or 0) >= MIN_GROUP)
        out.append((*row, int(r["group_rows"]) if own else 0))
    return out, t


def flagged(
    sc: Scoring, refs: list[tuple], limit: int, spans: list[tuple[float, float] | None] | None = None
) -> sa.Select:
    """The rows beyond their group's threshold, worst first, with on each the total count and how many of them
    sit within their reference's noise of 10^k (`named`: proven slips, whose k the item names). `spans`: each
    explanatory column's range of log10|u| (sqlstats.log_span), for the raw test before the logarithms."""
    fitted = bool(sc.explained)
    names = ["a", *[f"b{j}" for j in range(len(sc.explained))], "s", "thr", "ref_n", "tol"]
    names += ["peer_a", "peer_s", "peer_thr", "peer_ref_n", "peer_tol"] if fitted else []
    known = sa.values(
        *[sa.column(f"g{i}", sa.String) for i in range(sc.groups)],
        *[sa.column(c, sa.Integer if c.endswith("ref_n") else sa.Float) for c in names],
        sa.column("group_n", sa.Integer),
        name="mag_refs",
    ).data(refs)
    recs = [dict(zip([*[f"g{i}" for i in range(sc.groups)], *names, "group_n"], r, strict=True)) for r in refs]
    bs = [f"b{j}" for j in range(len(sc.explained))]
    bands = [(r["a"], tuple(r[b] for b in bs), r["thr"] * r["s"]) for r in recs]  # each line's band
    peers = [(r["peer_a"], r["peer_thr"] * r["peer_s"]) for r in recs if fitted and r["peer_a"] is not None]
    rows = sc.rows.where(*_raw_test(sc, bands, peers, spans)).subquery("mag_rows")
    on = same([rows.c[f"g{i}"] for i in range(sc.groups)], [known.c[f"g{i}"] for i in range(sc.groups)])
    ref, spread, thr, ref_n, peer = known.c.a, known.c.s, known.c.thr, known.c.ref_n, sa.false()
    tol = known.c.tol
    inside: list[sa.ColumnElement] = []
    if fitted:
        # a row missing an explanatory value is judged against its peers' median instead of the line
        peer = sa.or_(*[rows.c[v].is_(None) for v in sc.explained])
        line = fit.predicted(known, [rows.c[v] for v in sc.explained])
        ref, spread = sa.case((peer, known.c.peer_a), else_=line), sa.case((peer, known.c.peer_s), else_=spread)
        thr, ref_n = sa.case((peer, known.c.peer_thr), else_=thr), sa.case((peer, known.c.peer_ref_n), else_=ref_n)
        tol = sa.case((peer, known.c.peer_tol), else_=tol)
        # as below, for lines: rows inside every group's band are dropped before the join (peers: their medians)
        vs = [rows.c[v] for v in sc.explained]
        off_peer = sa.and_(peer, outside_every(rows.c.y, peers)) if peers else sa.false()
        inside.append(sa.or_(off_peer, fit.outside_every_line(rows.c.y, vs, bands)))
    elif refs:
        inside.append(outside_every(rows.c.y, [(a, t * s) for *_, a, s, t, _ref_n, _tol, _group_n in refs]))
    scored = (
        sa.select(
            rows.c.k,
            rows.c.x,
            rows.c.y,
            ref.label("ref"),
            spread.label("s"),
            ((rows.c.y - ref) / spread).label("z"),
            thr.label("thr"),
            tol.label("tol"),
            known.c.group_n,
            ref_n.label("ref_n"),
            peer.label("peer"),
            *[rows.c[f"g{i}"] for i in range(sc.groups)],
            *([rows.c.u] if sc.units is not None else []),
        )
        .select_from(rows.join(known, on))
        .where(*inside)
        .subquery("scored")
    )
    d = scored.c.y - scored.c.ref  # log10 of the ratio to the reference
    k = sa.func.round(d)
    named = sa.and_(k != 0, sa.func.abs(d - k) <= scored.c.tol)
    return (
        sa.select(
            scored,
            named.label("named"),
            sa.func.count().over().label("total"),
            sa.func.sum(sa.case((named, 1), else_=0)).over().label("slips"),
        )
        .where(sa.func.abs(scored.c.z) > scored.c.thr)
        .order_by(sa.func.abs(scored.c.z).desc(), scored.c.k)
        .limit(limit)
    )


def _raw_test(
    sc: Scoring,
    bands: list[tuple[float, tuple[float, ...], float]],
    peers: list[tuple[float, float]],
    spans: list[tuple[float, float] | None] | None,
) -> list[sa.ColumnElement]:
    """The scoring scan's test on the raw columns (`Raw`), in its WHERE, so before its logarithms: a row that
    no group's line (or, missing an explanatory value, no group's peer median) can flag is dropped by a
    comparison, not two logarithms. A necessary condition of `flagged`'s own test on the logarithms (the same
    bands), so the rows flagged are the same; none where it would not drop a row."""
    if sc.raw is None or not bands or spans is None:
        return []
    raw = sc.raw
    line = fit.beyond_every_line(raw.x, raw.us, bands, spans, raw.shift)
    if line is None:
        return []
    off_peer = beyond_every(raw.x, peers, raw.shift) if peers else sa.false()
    return [sa.or_(sa.and_(raw.missing, sa.true() if off_peer is None else off_peer), line)]


def aggregate_drift(values: dict[str, float | None], history: dict[str, list[float]], p: Params) -> list[dict]:
    """Sum and mean of the column against earlier runs (robust z on log10|x|), once MIN_HISTORY runs exist.

    Runs whose aggregates were flagged are not in `history` (the store leaves them out), so a bad day does
    not become the baseline."""
    flagged = []
    for metric, value in values.items():
        past = [v for v in history.get(metric, []) if v]
        if value is None or value == 0 or len(past) < MIN_HISTORY:
            continue
        logs = [math.log10(abs(v)) for v in past]
        m = statistics.median(logs)
        s = max(1.4826 * statistics.median(abs(v - m) for v in logs), FLOOR)
        z = (math.log10(abs(value)) - m) / s
        t = p.sensitivity * small_sample_factor(len(past))
        change = abs(abs(value) / 10**m - 1)
        if abs(z) > t and change >= AGGREGATE_CHANGE:
            flagged.append(
                {
                    "metric": metric,
                    "value": _round(value),
                    "expected": _round(math.copysign(10**m, value)),
                    "score": round(z, 2),
                    "threshold": round(t, 2),
                    "history_runs": len(past),
                    "ratio": _round(abs(value) / 10**m),
                }
            )
    return flagged


def plan(spec: Spec, ctx: Context) -> Plan:
    p: Params = spec.params
    plain = scoring(ctx, p)
    describe = plain.describe
    x = ctx.col(p.column, numeric=True, purpose="magnitude")
    converted = {}
    if plain.units is not None and plain.units.rates:  # rows of each converted label: the result names them
        label = group_key(ctx.col(p.unit_column))
        converted = {
            f"unit:{code}": sa.func.sum(sa.case((label == sa.literal(code, sa.String), 1), else_=0))
            for code in plain.units.rates
        }

    def finish(values: dict[str, Any]):
        aggregates = _sum_mean(values)
        n = int(values["n"] or 0)  # rows scored, counted in the dataset's scan: the threshold's n
        skip = not_finite({**values, f"sum:{p.column}": values["sum"]}, [p.column, *p.explained_by])
        skipped, note = {}, None
        if p.column in skip:  # NaN or infinite values: counted, and left out of n, the aggregates and the SQL
            counts = ctx.left_out(p.column)
            skipped, note = left_out(counts, p.column)
            n -= skipped["nan"] + skipped["infinite"]  # `scorable` counted them: NaN and inf are not NULL or 0
            aggregates = _sum_mean(counts)
        sc = scoring(ctx, p, frozenset(skip)) if skip else plain
        drift = aggregate_drift(aggregates, ctx.history.get(f"metric_history:{spec.name}", {}), p)
        # Two statements: the references from the sample (small: one row per group), then one scan of every
        # row against them as literals, returning only the rows beyond their threshold.
        robust, spans, counts = None, None, None
        if n and (sc.explained or ctx.dialect in COUNTS_FIRST):
            counts = [tuple(r) for r in ctx.source.execute(sc.counts)]
            sc = scoring(ctx, p, frozenset(skip), counts)
        if n and sc.explained:
            robust = fit.robust(ctx.source, sc.sample, sc.explained, sc.groups, MIN_GROUP, p.explained_by, "mag_lines")
            assert sc.raw is not None
            spans = fit.spans(ctx.source, ctx.table, sc.raw.us, sc.raw.integer)
            if sc.units is not None:
                robust = unit_lines(ctx, sc, robust, p)
        got = None  # the sample's rows, when the references are computed from them (REFERENCES_FETCHED)
        if n and robust is None and ctx.dialect in REFERENCES_FETCHED and counts is not None and fetchable(counts):
            got = fetch_sample(ctx.source, sample_rows(sc))
        if not n:
            found = []
        elif got is not None:
            found = fetched_stats(sc, got, ctx.dialect)
        else:
            found = [dict(r._mapping) for r in ctx.source.execute(stats(sc, robust, ctx.dialect))]
        fits = robust.fits(found) if robust else None
        t, tail90, tail99, rows = threshold(n, None, None, p.sensitivity), None, None, []
        if found:
            refs, t = references(sc, found, fits, n, p.sensitivity)
            tail90, tail99 = _float(found[0]["q90"]), _float(found[0]["q99"])
            rows = [dict(r._mapping) for r in ctx.source.execute(flagged(sc, refs, ctx.evidence_limit, spans))]
        total = int(rows[0]["total"]) if rows else 0
        slips = int(rows[0]["slips"] or 0) if rows else 0
        items = [_item(r, p, sc, sc.peers if r["peer"] else describe, t) for r in rows]
        expected = {
            "reference": describe,
            "threshold": round(t, 2),
            "rows_scored": n,
            "tail_abs_z": {"q90": _float(tail90), "q99": _float(tail99)},
        }
        if sc.units is not None:
            expected["units"] = _units(sc.units, found, values)
        snapshot = None
        if p.history_by:
            # the same key's previous value comes first: its items replace the peers' for the same key
            found_h = _history(ctx, spec, p, n, sc, {str(i["key"]) for i in items})
            expected["history"] = found_h["summary"]
            snapshot = found_h["update"]
            hist_keys = found_h["keys"]  # every key history flagged; only the first evidence_limit are items
            for i in found_h["items"]:
                i["cause"] = "magnitude" if "diagnosis" in i else "unusual"
            replaced = [i for i in items if str(i["key"]) in hist_keys]
            total += len(hist_keys - {str(i["key"]) for i in items})
            slips += sum(i["cause"] == "magnitude" for i in found_h["items"])
            slips -= sum(i["cause"] == "magnitude" for i in replaced)
            items = [*found_h["items"], *[i for i in items if str(i["key"]) not in hist_keys]][: ctx.evidence_limit]
        unusual = total - slips
        observed = {"rows_scored": n, "flagged": total, "slips": slips, "unusual": unusual, **aggregates}
        if note:
            observed["left_out"] = skipped
        evidence = {
            **({"rows": capped(items, total)} if total else {}),
            **({"aggregates": drift} if drift else {}),
        }
        # a flagged aggregate is not kept as history: tomorrow's baseline must not learn today's fault
        metrics = {"flagged": float(total), **({} if drift else {k: v for k, v in aggregates.items() if v})}
        if slips or drift:
            # a proven slip (or a moved sum or mean): the check fails as `magnitude`, listing every flagged row
            # with its own cause
            diagnosis = {"cause": "magnitude", "message": "; ".join(_messages(items, total, slips, n, drift, p, note))}
            k = shared_k(items, total)
            if k is not None and not drift:
                diagnosis["k"] = k
            res = result(spec, ctx, False, cause="magnitude", diagnosis=diagnosis, observed=observed)
        elif unusual:
            # only rows far from their reference and not near a power of ten of it: no candidate, `unusual`,
            # at `unusual_severity` (never above the check's own severity)
            level = min(p.unusual_severity, spec.severity, key=("info", "warn", "error").index)
            message = "; ".join(_messages(items, total, slips, n, drift, p, note))
            status = UNUSUAL_STATUS[level]
            if status == "pass":
                res = result(spec, ctx, True, diagnosis={"message": message}, observed=observed)
            else:
                diagnosis = {"cause": "unusual", "message": message}
                res = CheckResult(
                    ctx.dataset_name, spec.name, spec.kind, status, level, diagnosis=diagnosis, cause="unusual"
                )
        else:
            # a pass, but the reader should know what was not judged
            res = result(spec, ctx, True, diagnosis={"message": note} if note else None)
        res.observed, res.expected, res.evidence = observed, expected, evidence
        res.metrics, res.snapshot = metrics, snapshot
        return res

    return Plan(
        finish,
        {
            "sum": sa.func.sum(x),  # NaN or infinite when the column holds such values: see Context.sums
            # the mean as sum / count: PostgreSQL's avg(float8) also sums squares, which overflow past 1e154
            "count": sa.func.count(x),
            "n": sa.func.sum(sa.case((plain.scorable, 1), else_=0)),
            **ctx.sums(p.explained_by),
            **converted,
        },
    )


def _messages(
    items: list[dict[str, Any]], total: int, slips: int, n: int, drift: list[dict], p: Params, note: str | None
) -> list[str]:
    """The diagnosis message's parts: the flagged rows (proven slips first: they carry a candidate an owner
    can confirm), the aggregates that moved, and what was left out."""
    parts = []
    if total:
        head = f"{total:,} of {n:,} rows off their reference by orders of magnitude"
        if slips and slips < total:
            head += f" ({slips:,} near a power of ten, {total - slips:,} unusual)"
        elif not slips:
            head = f"{total:,} of {n:,} rows unusual: far from their reference, not near a power of ten of it"
        shown = sorted(items, key=lambda i: "diagnosis" not in i)[:3]
        parts.append(head + "; " + "; ".join(_sentence(i, p) for i in shown))
    parts += [
        f"{d['metric']} of {p.column} is {approx(d['value'])}, {d['ratio']:.3g}x its usual "
        f"{approx(d['expected'])} over {d['history_runs']} runs"
        for d in drift
    ]
    return parts + ([note] if note else [])


def _units(units: Units, found: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, str]:
    """How each label seen was judged: converted at its config rate, or within its own label; with its rows.
    The own labels come from the references' groups (the base label's count includes the rows converted to it),
    the converted ones from the dataset's scan."""
    rows: dict[str, int] = {}
    for r in found:
        label = r[f"g{units.index}"]
        rows[label] = rows.get(label, 0) + int(r["group_rows"] or 0)
    converted = {code: int(values.get(f"unit:{code}") or 0) for code in units.rates}
    out = {}
    for code, count in converted.items():
        if count:
            out[code] = f"{units.how(code)} ({count:,} rows)"
            rows[units.base] = rows.get(units.base, 0) - count
    for label, count in sorted(rows.items(), key=lambda kv: -kv[1]):
        if count > 0 and label not in out:
            out[label] = f"own label ({count:,} rows)"
    if len(out) > UNITS_SHOWN:
        kept = dict(list(out.items())[:UNITS_SHOWN])
        kept["..."] = f"{len(out) - UNITS_SHOWN:,} more labels, each judged within its own rows"
        return kept
    return out


def _history(ctx: Context, spec: Spec, p: Params, n: int, sc: Scoring, flagged_keys: set[str]) -> dict[str, Any]:
    snapshots = ctx.history.get(f"snapshots:{spec.name}")
    if snapshots is None:
        return {
            "items": [],
            "keys": set(),
            "update": None,
            "summary": {"note": "no state store: history_by was not compared"},
        }
    cmp = history.compare(
        ctx,
        snapshots,
        p.column,
        p.history_by,
        n,
        [sc.scorable],
        p.sensitivity,
        flagged_keys,
        lambda m, sensitivity: threshold(m, None, None, sensitivity),
    )
    summary: dict[str, Any] = {"keys_with_snapshot": cmp.compared, "changed_keys": cmp.changed}
    if cmp.note:
        summary["note"] = cmp.note
    return {"items": cmp.items, "keys": cmp.flagged_keys, "update": cmp.update, "summary": summary}


def _item(r: dict[str, Any], p: Params, sc: Scoring, describe: str, t: float) -> dict[str, Any]:
    """One flagged row as evidence: its reference and ratio in the row's own unit, and its cause: `magnitude`
    with k and the candidate x / 10^k (in the row's own unit, exactly) where the scan found the ratio within
    the reference's noise of 10^k, else `unusual`, with no candidate."""
    x, ref_log, s, z = float(r["x"]), float(r["ref"]), float(r["s"]), float(r["z"])
    ratio_log = float(r["y"]) - ref_log
    offset = sc.units.offset(r["u"]) if sc.units is not None else 0.0
    reference = math.copysign(10 ** (ref_log + offset), x)  # converted back to the row's own unit
    group = {g: r[f"g{i}"] for i, g in enumerate(p.group_by)}
    item: dict[str, Any] = {
        "key": r["k"],
        "value": exact(r["x"]),
        "cause": "magnitude" if r["named"] else "unusual",
        "score": round(z, 2),
        "reference": _round(reference),
        "ratio": _round(10**ratio_log),
        "baseline": {
            "kind": describe,
            "group": group or None,
            "group_rows": int(r["group_n"]) or None,
            "spread_log10": round(s, 4),
            "threshold": round(t * small_sample_factor(float(r["ref_n"])), 2),
        },
    }
    if sc.units is not None:
        item["unit"] = {"label": None if r["u"] == NULL_GROUP else r["u"], "judged": sc.units.how(r["u"])}
    if r["named"]:
        k = round(ratio_log)
        item["diagnosis"] = {
            "k": k,
            "candidate": shifted(r["x"], k),
            "provenance": power_of_ten(ratio_log, k, float(r["tol"]), describe),
        }
    return item


def power_of_ten(ratio_log: float, k: int, tol: float, reference: str) -> dict[str, Any]:
    """What the detector proved about a row before proposing x / 10^k: its ratio to the reference, how far
    that is from 10^k on the log scale, and the tolerance (the reference's own noise) it is within."""
    ratio, distance = 10**ratio_log, abs(ratio_log - k)
    return {
        "kind": "power_of_ten",
        "k": k,
        "transform": f"x / 10^{k}",
        "ratio": _round(ratio),
        "distance_decades": round(distance, 4),
        "tolerance_decades": round(tol, 4),
        "reference": reference,
        "proof": f"ratio {ratio:.4g} to the {reference} is within {distance:.2g} decades of 10^{k} "
        f"(tolerance {tol:.3g}: {NAMING_SIGMAS:g} sigmas of the reference's noise, at least {NAMING_FLOOR})",
    }


def _sum_mean(values: dict[str, Any]) -> dict[str, float | None]:
    total, count = values["sum"], int(values["count"] or 0)
    return {"sum": _float(total), "mean": _float(float(total) / count) if total is not None and count else None}


def _float(v: Any) -> float | None:
    """A statistic as the result shows it; None for a missing or non-finite one (a sum past 1.8e308)."""
    return None if v is None or not math.isfinite(float(v)) else round(float(v), 3)


def _round(v: float) -> float:
    return float(f"{v:.6g}")


def _sentence(item: dict[str, Any], p: Params) -> str:
    text = f"{item['key']}: {number(item['value'])} is {item['ratio']:.3g}x its reference {approx(item['reference'])}"
    d = item.get("diagnosis")
    if d:
        what = (
            f"{d['k']} extra digit{'s' if abs(d['k']) > 1 else ''}"
            if d["k"] > 0
            else f"{-d['k']} missing digit{'s' if abs(d['k']) > 1 else ''}"
        )
        text += f" (likely {what}; candidate {number(d['candidate'])})"
    return text


def reads(store: Any, dataset: str, name: str, params: Params) -> dict[str, Any]:
    """What earlier runs learnt that this check reads: its sum/mean history (aggregate drift) and, with
    `history_by`, the per-key value snapshots."""
    found: dict[str, Any] = {f"metric_history:{name}": store.metric_history(dataset, name, ("sum", "mean"))}
    if params.history_by:
        found[f"snapshots:{name}"] = store.snapshots(dataset, name)
    return found
