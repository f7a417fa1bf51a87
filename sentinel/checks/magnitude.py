"""`magnitude`: rows whose value is orders of magnitude off its best reference ("$10M that should be $1M").

Each row is scored on y = log10|x| (zeros and NULLs are skipped, negatives use |x|) against the best
reference available for it:

- `explained_by: [cols]`: a robust least-squares fit y ~ a + Σ b_j·log10|col_j| within the row's `group_by`
  group (sentinel/checks/fit.py: fitted, then refitted without the rows far from the first line), so log price
  on log carat catches x10 inside a column whose honest values span two decades; a row missing one of those
  values (or holding a zero) falls back to the next reference;
- `group_by`: the median of the row's peer group;
- neither: the median of all rows.

Groups with fewer than `MIN_GROUP` rows borrow the whole table's reference (a group of one cannot judge
itself). The spread is 1.4826·MAD of the residuals in the same group, floored at `FLOOR` so a group of
identical values still flags a value ten times larger.

Everything is computed in the database. The references (fits, medians, MADs) come from a deterministic
sample of each group (sentinel/checks/sqlstats.py), in one statement that returns one row per group; with
`explained_by`, a statement before it counts each group's rows (the sample then joins them as literals), and
the lines are fitted on the same sample inside it (one column) or in two statements before it (several:
sentinel/checks/fit.py). Then one scan scores every row
against the references, passed back as literals, and returns only the flagged rows: no full-table sort. The
threshold scales with the row count so that the expected number of honest rows beyond it stays below 0.05
under a normal tail, widened by how much heavier the data's own tail is (the sample's 0.90 and 0.99
quantiles of |z|).

When log10 of a row's ratio to its reference is within the reference's own noise of a non-zero integer k,
the row's diagnosis names k ("likely 1 extra digit") and proposes x/10^k as a candidate: computed exactly
from the stored value (sentinel/checks/exact.py: "12345678.90" -> "1234567.89"), with its provenance (the
ratio, its distance from 10^k and the tolerance it is within). The result's diagnosis carries `k` only when
every flagged row is listed and all share it; otherwise each row says its own.
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
from typing import Any

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
from sentinel.checks.sqlstats import counted, group_key, log10_abs, median, outside_every, same, sampled
from sentinel.yamlmodel import CheckParams

MIN_GROUP = 20
FLOOR = 0.01  # log10 units: a 2.3% spread at least
MIN_HISTORY = 5  # earlier runs needed before sum and mean are judged
AGGREGATE_CHANGE = 0.25  # and they must also move this much: steady series have a tiny MAD
EXPECTED_FALSE = 0.05  # honest rows beyond the threshold, per check, under a normal tail
NORMAL_Q90, NORMAL_Q99 = 1.6449, 2.5758  # quantiles of |z| under a normal tail
TAIL_CAP = 1.6  # the data's tail may widen the normal threshold this much at most (a few wild rows cannot)
MAD_SE = 1.36  # relative standard error of a MAD-based sigma is about 1.36/sqrt(n)


CAUSES = ("magnitude",)  # the `cause` of each failure this kind reports (playbooks' `when.cause`)


class Params(CheckParams):
    column: str
    group_by: list[str] = []
    explained_by: list[str] = []
    history_by: str | None = None
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


def tolerance(spread: float) -> float:
    """How far (decades) log10(x/ref) may sit from an integer k for k to be named: the reference's noise."""
    return max(0.05, 3.5 * spread)


def digits(ratio_log: float, spread: float) -> int | None:
    """k when log10(x/ref) sits within the reference's noise of a non-zero integer k, else None."""
    if not math.isfinite(ratio_log):
        return None
    k = round(ratio_log)
    tol = tolerance(spread)
    if k == 0 or tol > 0.6 or abs(ratio_log - k) > tol:  # beyond 0.6 the reference cannot tell k from k±1
        return None
    return k


def shared_k(items: list[dict[str, Any]], total: int) -> int | None:
    """The k every flagged row shares, if all `total` of them are listed and each names the same k: a
    result-level k must hold for each row a correction would touch."""
    ks = {(i.get("diagnosis") or {}).get("k") for i in items}
    if len(items) != total or len(ks) != 1 or None in ks:
        return None
    return ks.pop()


@dataclass(frozen=True)
class Scoring:
    """How `magnitude` scores a table: `sample` holds the rows its references are estimated from (y, the
    explanatory columns v0.., groups g0..); `rows` are all the scored rows."""

    sample: sa.CTE
    rows: sa.Subquery
    groups: int
    explained: list[str]  # v0, v1, ...: log10|explained_by| columns of sample and rows (NULL: missing or 0)
    describe: str
    peers: str  # describes the reference of rows missing an explanatory value
    scorable: sa.ColumnElement  # selects the scored rows, for counting them in the dataset's scan
    counts: sa.Select  # each group's scored rows: run first, its rows make `sample` join literals (explained_by)


def scoring(ctx: Context, p: Params, skip: frozenset[str] = frozenset(), counts: list[tuple] | None = None) -> Scoring:
    """`skip`: the columns holding NaN or infinite values, whose finite values alone take part. `counts`: the
    rows of `Scoring.counts`, if run (sqlstats.sampled says why)."""
    if ctx.dialect not in ("postgresql", "duckdb"):
        raise CannotMeasure("unsupported", f"magnitude needs percentile_cont and log10; {ctx.dialect} has neither")
    x = ctx.col(p.column, numeric=True, purpose="magnitude")
    key = ctx.key_col()
    groups = [ctx.col(g) for g in p.group_by]
    cols = [key.label("k"), x.label("x"), log10_abs(x).label("y")]
    cols += [group_key(g).label(f"g{i}") for i, g in enumerate(groups)]
    where = [x.is_not(None), x != 0, *(ctx.finite(p.column) if p.column in skip else [])]
    for j, name in enumerate(p.explained_by):
        # NULL where the value is missing, zero, NaN or infinite: that row is judged against its peers instead
        u = ctx.col(name, numeric=True, purpose="explained_by")
        if name in skip:
            v = sa.case((sa.and_(u != 0, *ctx.finite(name)), log10_abs(u)))
        else:
            v = log10_abs(sa.func.nullif(u, 0))
        cols.append(v.label(f"v{j}"))
    sample = sampled(ctx.dialect, ctx.table, cols, where, groups, key, "mag", counts)
    peers = f"median of {', '.join(p.group_by)} peers" if groups else "median of all rows"
    describe = peers
    if p.explained_by:
        describe = f"fit on log {', '.join(p.explained_by)}" + (f" within {', '.join(p.group_by)}" if groups else "")
        peers += f" (no {' or '.join(p.explained_by)} to fit on)"
    rows = sa.select(*cols).select_from(ctx.table).where(*where).subquery("mag_rows")
    explained = [f"v{j}" for j in range(len(p.explained_by))]
    counts_of = counted(ctx.table, where, groups)
    return Scoring(sample, rows, len(groups), explained, describe, peers, sa.and_(*where), counts_of)


def _centre(base: sa.CTE, e: sa.ColumnElement, gs: list[sa.ColumnElement], name: str) -> tuple[sa.CTE, sa.CTE]:
    """Median, count and MAD of e (its NULLs left out): a CTE with one row per group (m, n, mad) and a
    one-row CTE over all rows (m0, n0, mad0)."""
    med = sa.select(*gs, median(e).label("m"), sa.func.count(e).label("n")).group_by(*gs).cte(f"{name}_med")
    per_group = (
        sa.select(*[med.c[g.name] for g in gs], med.c.m, med.c.n, median(sa.func.abs(e - med.c.m)).label("mad"))
        .select_from(base.join(med, same(gs, [med.c[g.name] for g in gs])))
        .group_by(*[med.c[g.name] for g in gs], med.c.m, med.c.n)
        .cte(f"{name}_groups")
    )
    glob = sa.select(median(e).label("m0"), sa.func.count(e).label("n0")).cte(f"{name}_all")
    overall = (
        sa.select(glob.c.m0, glob.c.n0, median(sa.func.abs(e - glob.c.m0)).label("mad0"))
        .select_from(base.join(glob, sa.true()))
        .group_by(glob.c.m0, glob.c.n0)
        .cte(f"{name}_overall")
    )
    return per_group, overall


def stats(sc: Scoring, fits: fit.Robust | None) -> sa.Select:
    """Every group's reference from the sample, one row per group: the median and MAD of its residuals
    against its line (or of y itself, without `explained_by`), the overall ones, and the sample's tail of |z|
    repeated on each row. With `explained_by`, also the median and MAD of y itself (`peer_` columns): the
    reference of rows whose explanatory values are missing."""
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
    per_group, overall = _centre(base, e, gs, "ref")
    rows = sa.select(*gs, sa.func.max(base.c.group_rows).label("group_rows")).group_by(*gs).cte("group_rows")
    on = lambda a, b: same([a.c[g.name] for g in gs], [b.c[g.name] for g in gs])  # noqa: E731
    # the sample's own |z|: its 0.90 and 0.99 quantiles say how heavy the honest tail is (small groups borrow
    # the overall centre and spread)
    own = per_group.c.n >= MIN_GROUP
    centre = sa.case((own, per_group.c.m), else_=overall.c.m0)
    spread = sa.func.greatest(sa.case((own, 1.4826 * per_group.c.mad), else_=1.4826 * overall.c.mad0), FLOOR)
    z = sa.func.abs((e - centre) / spread)
    tail = (
        sa.select(*[sa.func.percentile_cont(q).within_group(z).label(f"q{round(100 * q)}") for q in (0.9, 0.99)])
        .select_from(base.join(per_group, on(base, per_group)).join(overall, sa.true()))
        .cte("tail")
    )
    cols = [*[rows.c[g.name] for g in gs], rows.c.group_rows]
    cols += [per_group.c.m, per_group.c.n, per_group.c.mad, overall, tail]
    joined = rows.outerjoin(per_group, on(rows, per_group)).join(overall, sa.true()).join(tail, sa.true())
    if fits is not None:
        peer, peer_all = _centre(base, base.c.y, gs, "peer")
        cols += [peer.c.m.label("peer_m"), peer.c.n.label("peer_n"), peer.c.mad.label("peer_mad")]
        cols += [peer_all.c.m0.label("peer_m0"), peer_all.c.n0.label("peer_n0"), peer_all.c.mad0.label("peer_mad0")]
        joined = joined.join(peer, on(rows, peer)).join(peer_all, sa.true())
        joined, line = fits.attach(joined, [rows.c[g.name] for g in gs])  # lines fitted in this statement
        cols += line
    # ordered: the scoring scan's literals then come out the same run after run, which the speculative scan
    # of the next process (sentinel/prefetch.py) needs to reuse it
    return sa.select(*cols).select_from(joined).order_by(*[rows.c[g.name] for g in gs])


def _reference(r: dict[str, Any], first: dict[str, Any], prefix: str) -> tuple[float | None, float, int]:
    """A group's centre, spread and rows behind them: its own if it has MIN_GROUP rows, else the table's."""
    own = (r[f"{prefix}n"] or 0) >= MIN_GROUP
    centre = r[f"{prefix}m"] if own else first[f"{prefix}m0"]
    mad = r[f"{prefix}mad"] if own else first[f"{prefix}mad0"]
    n = r[f"{prefix}n"] if own else first[f"{prefix}n0"]
    spread = max(1.4826 * float(mad), FLOOR) if mad is not None else FLOOR
    return (None if centre is None else float(centre)), spread, int(n or 0)


def references(
    sc: Scoring, stats: list[dict[str, Any]], fits: fit.Fits | None, n: int, sensitivity: float
) -> tuple[list[tuple], float]:
    """Each group's reference as literals: (groups..., a, b0.., s, threshold, ref_n, [peer a, s, threshold,
    ref_n,] group_n), where a row's log10 reference is a + Σ b_j·log10|explained_by_j| (a: the line's
    intercept plus the group's median residual; no b without a fit), and, with a fit, the peer median for
    rows missing an explanatory value; and the threshold before widening."""
    first = stats[0]
    t = threshold(n, _float(first["q90"]), _float(first["q99"]), sensitivity)
    out = []
    for r in stats:
        groups = tuple(r[f"g{i}"] for i in range(sc.groups))
        line = fits.of(groups) if fits else fit.Line(0.0, (), 0)
        centre, spread, ref_n = _reference(r, first, "")
        row: tuple = (*groups, line.a + (centre or 0.0), *line.b, spread, t * small_sample_factor(ref_n), ref_n)
        if fits is not None:
            peer, peer_spread, peer_n = _reference(r, first, "peer_")
            row += (peer, peer_spread, t * small_sample_factor(peer_n), peer_n)
        own = (r["n"] or 0) >= MIN_GROUP or (fits is not None and (r["peer_n"] or 0) >= MIN_GROUP)
        out.append((*row, int(r["group_rows"]) if own else 0))
    return out, t


def flagged(sc: Scoring, refs: list[tuple], limit: int) -> sa.Select:
    """The rows beyond their group's threshold, worst first, with the total count on each."""
    fitted = bool(sc.explained)
    names = ["a", *[f"b{j}" for j in range(len(sc.explained))], "s", "thr", "ref_n"]
    names += ["peer_a", "peer_s", "peer_thr", "peer_ref_n"] if fitted else []
    known = sa.values(
        *[sa.column(f"g{i}", sa.String) for i in range(sc.groups)],
        *[sa.column(c, sa.Integer if c.endswith("ref_n") else sa.Float) for c in names],
        sa.column("group_n", sa.Integer),
        name="mag_refs",
    ).data(refs)
    rows = sc.rows
    on = same([rows.c[f"g{i}"] for i in range(sc.groups)], [known.c[f"g{i}"] for i in range(sc.groups)])
    ref, spread, thr, ref_n, peer = known.c.a, known.c.s, known.c.thr, known.c.ref_n, sa.false()
    inside: list[sa.ColumnElement] = []
    if fitted:
        # a row missing an explanatory value is judged against its peers' median instead of the line
        peer = sa.or_(*[rows.c[v].is_(None) for v in sc.explained])
        line = fit.predicted(known, [rows.c[v] for v in sc.explained])
        ref, spread = sa.case((peer, known.c.peer_a), else_=line), sa.case((peer, known.c.peer_s), else_=spread)
        thr, ref_n = sa.case((peer, known.c.peer_thr), else_=thr), sa.case((peer, known.c.peer_ref_n), else_=ref_n)
        # as below, for lines: rows inside every group's band are dropped before the join (peers: their medians)
        nv, g = len(sc.explained), sc.groups
        bands = [(r[g], tuple(r[g + 1 : g + 1 + nv]), r[g + 2 + nv] * r[g + 1 + nv]) for r in refs]
        peers = [(r[g + 4 + nv], r[g + 6 + nv] * r[g + 5 + nv]) for r in refs if r[g + 4 + nv] is not None]
        vs = [rows.c[v] for v in sc.explained]
        off_peer = sa.and_(peer, outside_every(rows.c.y, peers)) if peers else sa.false()
        inside.append(sa.or_(off_peer, fit.outside_every_line(rows.c.y, vs, bands)))
    elif refs:
        inside.append(outside_every(rows.c.y, [(a, t * s) for *_, a, s, t, _ref_n, _group_n in refs]))
    scored = (
        sa.select(
            rows.c.k,
            rows.c.x,
            rows.c.y,
            ref.label("ref"),
            spread.label("s"),
            ((rows.c.y - ref) / spread).label("z"),
            thr.label("thr"),
            known.c.group_n,
            ref_n.label("ref_n"),
            peer.label("peer"),
            *[rows.c[f"g{i}"] for i in range(sc.groups)],
        )
        .select_from(rows.join(known, on))
        .where(*inside)
        .subquery("scored")
    )
    return (
        sa.select(scored, sa.func.count().over().label("total"))
        .where(sa.func.abs(scored.c.z) > scored.c.thr)
        .order_by(sa.func.abs(scored.c.z).desc(), scored.c.k)
        .limit(limit)
    )


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
        robust = None
        if n and sc.explained:
            sc = scoring(ctx, p, frozenset(skip), [tuple(r) for r in ctx.source.execute(sc.counts)])
            robust = fit.robust(ctx.source, sc.sample, sc.explained, sc.groups, MIN_GROUP, p.explained_by, "mag_lines")
        found = [dict(r._mapping) for r in ctx.source.execute(stats(sc, robust))] if n else []
        fits = robust.fits(found) if robust else None
        t, tail90, tail99, rows = threshold(n, None, None, p.sensitivity), None, None, []
        if found:
            refs, t = references(sc, found, fits, n, p.sensitivity)
            tail90, tail99 = _float(found[0]["q90"]), _float(found[0]["q99"])
            rows = [dict(r._mapping) for r in ctx.source.execute(flagged(sc, refs, ctx.evidence_limit))]
        total = int(rows[0]["total"]) if rows else 0
        items = [_item(r, p, sc.peers if r["peer"] else describe, t) for r in rows]
        expected = {
            "reference": describe,
            "threshold": round(t, 2),
            "rows_scored": n,
            "tail_abs_z": {"q90": _float(tail90), "q99": _float(tail99)},
        }
        snapshot = None
        if p.history_by:
            # the same key's previous value comes first: its items replace the peers' for the same key
            found = _history(ctx, spec, p, n, sc, {str(i["key"]) for i in items})
            expected["history"] = found["summary"]
            snapshot = found["update"]
            hist_keys = found["keys"]  # every key history flagged; only the first evidence_limit are items
            total += len(hist_keys - {str(i["key"]) for i in items})
            items = [*found["items"], *[i for i in items if str(i["key"]) not in hist_keys]][: ctx.evidence_limit]
        ok = total == 0 and not drift
        diagnosis = None
        if not ok:
            parts = []
            if total:
                parts.append(
                    f"{total:,} of {n:,} rows off their reference by orders of magnitude; "
                    # rows with a named k first: they carry a candidate value an owner can confirm
                    + "; ".join(_sentence(i, p) for i in sorted(items, key=lambda i: "diagnosis" not in i)[:3])
                )
            parts += [
                f"{d['metric']} of {p.column} is {approx(d['value'])}, {d['ratio']:.3g}x its usual "
                f"{approx(d['expected'])} over {d['history_runs']} runs"
                for d in drift
            ]
            diagnosis = {"cause": "magnitude", "message": "; ".join(parts + ([note] if note else []))}
            k = shared_k(items, total)
            if k is not None and not drift:
                diagnosis["k"] = k
        elif note:
            diagnosis = {"message": note}  # a pass, but the reader should know what was not judged
        return result(
            spec,
            ctx,
            ok,
            cause="magnitude",
            observed={"rows_scored": n, "flagged": total, **aggregates, **({"left_out": skipped} if note else {})},
            expected=expected,
            evidence={
                **({"rows": capped(items, total)} if total else {}),
                **({"aggregates": drift} if drift else {}),
            },
            diagnosis=diagnosis,
            # a flagged aggregate is not kept as history: tomorrow's baseline must not learn today's fault
            metrics={"flagged": float(total), **({} if drift else {k: v for k, v in aggregates.items() if v})},
            snapshot=snapshot,
        )

    return Plan(
        finish,
        {
            "sum": sa.func.sum(x),  # NaN or infinite when the column holds such values: see Context.sums
            # the mean as sum / count: PostgreSQL's avg(float8) also sums squares, which overflow past 1e154
            "count": sa.func.count(x),
            "n": sa.func.sum(sa.case((plain.scorable, 1), else_=0)),
            **ctx.sums(p.explained_by),
        },
    )


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


def _item(r: dict[str, Any], p: Params, describe: str, t: float) -> dict[str, Any]:
    x, ref_log, s, z = float(r["x"]), float(r["ref"]), float(r["s"]), float(r["z"])
    reference = math.copysign(10**ref_log, x)
    ratio_log = float(r["y"]) - ref_log
    group = {g: r[f"g{i}"] for i, g in enumerate(p.group_by)}
    item: dict[str, Any] = {
        "key": r["k"],
        "value": exact(r["x"]),
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
    k = digits(ratio_log, s)
    if k is not None:
        item["diagnosis"] = {
            "k": k,
            "candidate": shifted(r["x"], k),
            "provenance": power_of_ten(ratio_log, k, s, describe),
        }
    return item


def power_of_ten(ratio_log: float, k: int, spread: float, reference: str) -> dict[str, Any]:
    """What the detector proved about a row before proposing x / 10^k: its ratio to the reference, how far
    that is from 10^k on the log scale, and the tolerance (the reference's own noise) it is within."""
    ratio, distance, tol = 10**ratio_log, abs(ratio_log - k), tolerance(spread)
    return {
        "kind": "power_of_ten",
        "k": k,
        "transform": f"x / 10^{k}",
        "ratio": _round(ratio),
        "distance_decades": round(distance, 4),
        "tolerance_decades": round(tol, 4),
        "reference": reference,
        "proof": f"ratio {ratio:.4g} to the {reference} is within {distance:.2g} decades of 10^{k} "
        f"(tolerance {tol:.3g}: the reference's spread {spread:.3g} x 3.5, at least 0.05)",
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
