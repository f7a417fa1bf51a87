"""`magnitude`: rows whose value is orders of magnitude off its best reference ("$10M that should be $1M").

Each row is scored on y = log10|x| (zeros and NULLs are skipped, negatives use |x|) against the best
reference available for it:

- `explained_by: [col]`: a robust fit y ~ a + b·log10|col| within the row's `group_by` group (least squares,
  then refitted without the rows beyond 4 robust sigmas of the first fit), so log price on log carat
  catches x10 inside a column whose honest values span two decades;
- `group_by`: the median of the row's peer group;
- neither: the median of all rows.

Groups with fewer than `MIN_GROUP` rows borrow the whole table's reference (a group of one cannot judge
itself). The spread is 1.4826·MAD of the residuals in the same group, floored at `FLOOR` so a group of
identical values still flags a value ten times larger.

Everything is computed in the database as one chain of CTEs: a first query returns the row count and the
0.99 quantile of |z|, a second returns only the flagged rows. The threshold scales with the row count so
that the expected number of honest rows beyond it stays below 0.05 under a normal tail, widened by how
much heavier the data's own tail is (its 0.99 quantile of |z| against the normal 2.576).

When log10 of a row's ratio to its reference is within the reference's own noise of a non-zero integer k,
the diagnosis names k ("likely 1 extra digit") and proposes x/10^k as a candidate, with its provenance.
Aggregate magnitude: the column's sum and mean are kept as metric history each run and, once 5 runs exist,
judged against them the same way (robust z on log10, plus a 25% minimum change); a flagged run's
aggregates are not kept, so a bad day never becomes the baseline. `history_by` (the same key's previous
value) arrives with stored per-key snapshots.
"""

from __future__ import annotations

import math
import statistics
from statistics import NormalDist
from typing import Any

import sqlalchemy as sa
from pydantic import Field, field_validator

from sentinel.checks.common import CannotMeasure, Context, Plan, Spec, result
from sentinel.yamlmodel import CheckParams

MIN_GROUP = 20
FLOOR = 0.01  # log10 units: a 2.3% spread at least
MIN_HISTORY = 5  # earlier runs needed before sum and mean are judged
AGGREGATE_CHANGE = 0.25  # and they must also move this much: steady series have a tiny MAD
TRIM = 4.0  # robust sigmas beyond which a row does not take part in the refit
EXPECTED_FALSE = 0.05  # honest rows beyond the threshold, per check, under a normal tail
NORMAL_Q90, NORMAL_Q99 = 1.6449, 2.5758  # quantiles of |z| under a normal tail
TAIL_CAP = 1.6  # the data's tail may widen the normal threshold this much at most (a few wild rows cannot)
MAD_SE = 1.36  # relative standard error of a MAD-based sigma is about 1.36/sqrt(n)


class Params(CheckParams):
    column: str
    group_by: list[str] = []
    explained_by: list[str] = []
    history_by: str | None = None
    sensitivity: float = Field(3.5, gt=0, description="the least threshold on |robust z|; it grows with rows")

    @field_validator("explained_by")
    @classmethod
    def _one(cls, cols: list[str]) -> list[str]:
        if len(cols) > 1:
            raise ValueError("one explanatory column is supported so far")
        return cols

    @field_validator("history_by")
    @classmethod
    def _later(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("history_by needs stored per-key snapshots, not available yet; use group_by/explained_by")
        return value


def default_name(params: Params) -> str:
    return f"magnitude({params.column})"


def needs_key(params: Params) -> bool:
    return True


def threshold(n: int, q90: Any, q99: Any, sensitivity: float, greatest: Any = max, least: Any = min) -> Any:
    """|z| beyond which a row is flagged, so that about EXPECTED_FALSE honest rows of n lie beyond it.

    Two estimates of that level: a normal tail (scaled if the body of |z| is wider than normal), and the
    data's own tail: its 0.90 and 0.99 quantiles of |z|, taken as a line in normal scores and extended to the
    level wanted (exact on normal data; a heavier tail has a steeper line). The latter is capped at TAIL_CAP
    times the former, so a few percent of wild rows cannot raise the bar over themselves. Measured with
    bench-style simulations: normal data 0.004 false rows per 1,000, Student t5 0.45, recall of x10 0.98.

    The quantiles may be numbers, or SQL expressions with `greatest`/`least` given as sa.func.greatest/least:
    the check computes the threshold in the same statement that lists the flagged rows."""
    if n <= 0:
        return sensitivity
    score = NormalDist().inv_cdf(1 - EXPECTED_FALSE / (2 * n))
    if q90 is None or q99 is None:
        return max(sensitivity, score)
    normal = score * greatest(1.0, q90 / NORMAL_Q90)
    own = q90 + (q99 - q90) / (NORMAL_Q99 - NORMAL_Q90) * (score - NORMAL_Q90)
    return greatest(sensitivity, normal, least(own, TAIL_CAP * normal))


def small_sample_factor(n: float) -> float:
    """A spread estimated from few rows is itself uncertain: widen the threshold by two standard errors."""
    return 1.0 + 2 * MAD_SE / math.sqrt(max(n, 1.0))


def digits(ratio_log: float, spread: float) -> int | None:
    """k when log10(x/ref) sits within the reference's noise of a non-zero integer k, else None."""
    k = round(ratio_log)
    tol = max(0.05, 3.5 * spread)
    if k == 0 or tol > 0.6 or abs(ratio_log - k) > tol:  # beyond 0.6 the reference cannot tell k from k±1
        return None
    return k


def _median(expr: sa.ColumnElement) -> sa.ColumnElement:
    return sa.func.percentile_cont(0.5).within_group(expr)


NULL_GROUP = "(null)"


def group_key(col: sa.ColumnElement) -> sa.ColumnElement:
    """A group's join key: text, never NULL. `IS NOT DISTINCT FROM` would keep NULL groups too, but
    PostgreSQL cannot hash-join on it, and a nested loop over 10M rows never ends."""
    return sa.func.coalesce(sa.cast(col, sa.String), NULL_GROUP)


def _same(a: list[sa.ColumnElement], b: list[sa.ColumnElement]) -> sa.ColumnElement:
    return sa.and_(sa.true(), *[x == y for x, y in zip(a, b, strict=True)])


def scored(ctx: Context, p: Params) -> tuple[sa.CTE, str, sa.ColumnElement]:
    """A CTE of every scored row: k (key), x, ref (log10 reference), s (spread), z; a description; and the
    condition that selects the rows it scores (for counting them in the dataset's scan)."""
    if ctx.dialect not in ("postgresql", "duckdb"):
        raise CannotMeasure("unsupported", f"magnitude needs percentile_cont and log10; {ctx.dialect} has neither")
    x = ctx.col(p.column, numeric=True, purpose="magnitude")
    key = ctx.key_col()
    groups = [ctx.col(g) for g in p.group_by]
    u = ctx.col(p.explained_by[0], numeric=True, purpose="explained_by") if p.explained_by else None
    cols = [key.label("k"), x.label("x"), sa.func.log10(sa.func.abs(x)).label("y")]
    cols += [group_key(g).label(f"g{i}") for i, g in enumerate(groups)]
    where = [x.is_not(None), x != 0]
    if u is not None:
        cols.append(sa.func.log10(sa.func.abs(u)).label("v"))
        where += [u.is_not(None), u != 0]
    base = sa.select(*cols).select_from(ctx.table).where(*where).cte("base")
    scorable = sa.and_(*where)
    g_of = lambda t: [t.c[f"g{i}"] for i in range(len(groups))]  # noqa: E731

    if u is None:
        pred_g = None
        resid = base
        e = base.c.y
        describe = f"median of {', '.join(p.group_by)} peers" if groups else "median of all rows"
    else:
        # least squares per group and overall, then a refit without the rows beyond TRIM robust sigmas
        fit1 = (
            sa.select(
                *g_of(base),
                sa.func.regr_slope(base.c.y, base.c.v).label("b"),
                sa.func.regr_intercept(base.c.y, base.c.v).label("a"),
                sa.func.count().label("n"),
            )
            .group_by(*g_of(base))
            .cte("fit1")
        )
        all1 = sa.select(
            sa.func.regr_slope(base.c.y, base.c.v).label("b"), sa.func.regr_intercept(base.c.y, base.c.v).label("a")
        ).cte("all1")

        def predict(fit, overall, t):
            use = sa.and_(fit.c.n >= MIN_GROUP, fit.c.b.is_not(None))
            return sa.case((use, fit.c.a + fit.c.b * t.c.v), else_=overall.c.a + overall.c.b * t.c.v)

        r1 = (
            sa.select(base, (base.c.y - predict(fit1, all1, base)).label("e1"))
            .select_from(base.join(fit1, _same(g_of(base), g_of(fit1))).join(all1, sa.true()))
            .cte("r1")
        )
        s1 = sa.select(*g_of(r1), _median(sa.func.abs(r1.c.e1)).label("mad")).group_by(*g_of(r1)).cte("s1")
        keep = (
            sa.select(r1)
            .select_from(r1.join(s1, _same(g_of(r1), g_of(s1))))
            .where(sa.func.abs(r1.c.e1) <= TRIM * sa.func.greatest(1.4826 * s1.c.mad, FLOOR))
            .cte("keep")
        )
        fit2 = (
            sa.select(
                *g_of(keep),
                sa.func.regr_slope(keep.c.y, keep.c.v).label("b"),
                sa.func.regr_intercept(keep.c.y, keep.c.v).label("a"),
                sa.func.count().label("n"),
            )
            .group_by(*g_of(keep))
            .cte("fit2")
        )
        all2 = sa.select(
            sa.func.regr_slope(keep.c.y, keep.c.v).label("b"), sa.func.regr_intercept(keep.c.y, keep.c.v).label("a")
        ).cte("all2")
        pred = predict(fit2, all2, base)
        resid = (
            sa.select(base, pred.label("p"), (base.c.y - pred).label("e"))
            .select_from(base.outerjoin(fit2, _same(g_of(base), g_of(fit2))).join(all2, sa.true()))
            .cte("resid")
        )
        e = resid.c.e
        pred_g = resid.c.p
        describe = f"fit on log {p.explained_by[0]}" + (f" within {', '.join(p.group_by)}" if groups else "")

    # robust centre and spread of e, per group and overall; small groups borrow the overall ones
    med = sa.select(*g_of(resid), _median(e).label("m"), sa.func.count().label("n")).group_by(*g_of(resid)).cte("med")
    glob = sa.select(_median(e).label("m0"), sa.func.count().label("n0")).cte("overall")
    dev = (
        sa.select(*g_of(resid), _median(sa.func.abs(e - med.c.m)).label("mad"))
        .select_from(resid.join(med, _same(g_of(resid), g_of(med))))
        .group_by(*g_of(resid))
        .cte("dev")
    )
    gdev = (
        sa.select(_median(sa.func.abs(e - glob.c.m0)).label("mad0"))
        .select_from(resid.join(glob, sa.true()))
        .cte("overall_dev")
    )
    own = med.c.n >= MIN_GROUP
    centre = sa.case((own, med.c.m), else_=glob.c.m0)
    spread = sa.func.greatest(sa.case((own, 1.4826 * dev.c.mad), else_=1.4826 * gdev.c.mad0), FLOOR)
    ref = centre if pred_g is None else pred_g + centre
    joined = (
        resid.join(med, _same(g_of(resid), g_of(med)))
        .join(dev, _same(g_of(resid), g_of(dev)))
        .join(glob, sa.true())
        .join(gdev, sa.true())
    )
    out = (
        sa.select(
            resid.c.k,
            resid.c.x,
            resid.c.y,
            ref.label("ref"),
            spread.label("s"),
            ((e - centre) / spread).label("z"),
            sa.case((own, med.c.n), else_=0).label("group_n"),
            sa.case((own, med.c.n), else_=glob.c.n0).label("ref_n"),
            *g_of(resid),
        )
        .select_from(joined)
        .cte("scored")
    )
    return out, describe, scorable


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
    table, describe, scorable = scored(ctx, p)
    x = ctx.col(p.column, numeric=True, purpose="magnitude")

    def finish(values: dict[str, Any]):
        aggregates = {"sum": _float(values["sum"]), "mean": _float(values["mean"])}
        drift = aggregate_drift(aggregates, ctx.history.get(f"metric_history:{spec.name}", {}), p)
        n = int(values["n"] or 0)  # rows scored, counted in the dataset's scan: the threshold's n
        # One statement: the tail quantiles of |z|, the threshold from them, and the rows beyond it (the chain
        # of medians and MADs behind `scored` runs once). The LEFT JOIN keeps the quantiles when none is.
        quantiles = [
            sa.func.percentile_cont(q).within_group(sa.func.abs(table.c.z)).label(f"q{q}") for q in (0.9, 0.99)
        ]
        tail = sa.select(*quantiles).cte("tail")
        t = threshold(n, tail.c["q0.9"], tail.c["q0.99"], p.sensitivity, sa.func.greatest, sa.func.least)
        # per row: the threshold widened for the rows behind its reference's spread (small_sample_factor, in SQL)
        hit = sa.func.abs(table.c.z) > t * (1 + 2 * MAD_SE / sa.func.sqrt(sa.cast(table.c.ref_n, sa.Float)))
        order = [sa.func.abs(table.c.z).desc(), table.c.k]
        flagged = (
            sa.select(table, sa.func.count().over().label("total"))
            .select_from(table.join(tail, sa.true()))
            .where(hit)
            .order_by(*order)
            .limit(ctx.evidence_limit)
            .subquery("flagged")
        )
        stmt = (
            sa.select(tail, flagged)
            .select_from(tail.outerjoin(flagged, sa.true()))
            .order_by(sa.func.abs(flagged.c.z).desc().nulls_last(), flagged.c.k)
        )
        found = [dict(r._mapping) for r in ctx.source.execute(stmt)]
        tail90, tail99 = _float(found[0]["q0.9"]), _float(found[0]["q0.99"])
        t = threshold(n, tail90, tail99, p.sensitivity)
        rows = [r for r in found if r["k"] is not None]
        total = int(rows[0]["total"]) if rows else 0
        items = [_item(r, p, describe, t) for r in rows]
        expected = {
            "reference": describe,
            "threshold": round(t, 2),
            "rows_scored": n,
            "tail_abs_z": {"q90": _float(tail90), "q99": _float(tail99)},
        }
        ok = total == 0 and not drift
        diagnosis = None
        if not ok:
            parts = []
            if total:
                parts.append(
                    f"{total:,} of {n:,} rows off their reference by orders of magnitude; "
                    + "; ".join(_sentence(i, p) for i in items[:3])
                )
            parts += [
                f"{d['metric']} of {p.column} is {_money(d['value'])}, {d['ratio']:.3g}x its usual "
                f"{_money(d['expected'])} over {d['history_runs']} runs"
                for d in drift
            ]
            diagnosis = {"cause": "magnitude", "message": "; ".join(parts)}
            ks = {i["diagnosis"]["k"] for i in items if i.get("diagnosis")}
            if len(ks) == 1:
                diagnosis["k"] = ks.pop()
        return result(
            spec,
            ctx,
            ok,
            cause="magnitude",
            observed={"rows_scored": n, "flagged": total, **aggregates},
            expected=expected,
            evidence={
                **({"rows": {"count": total, "items": items, "omitted": max(total - len(items), 0)}} if total else {}),
                **({"aggregates": drift} if drift else {}),
            },
            diagnosis=diagnosis,
            # a flagged aggregate is not kept as history: tomorrow's baseline must not learn today's fault
            metrics={"flagged": float(total), **({} if drift else {k: v for k, v in aggregates.items() if v})},
        )

    return Plan(
        finish,
        {
            "sum": sa.func.sum(x),
            "mean": sa.func.avg(sa.cast(x, sa.Float)),
            "n": sa.func.sum(sa.case((scorable, 1), else_=0)),
        },
    )


def _item(r: dict[str, Any], p: Params, describe: str, t: float) -> dict[str, Any]:
    x, ref_log, s, z = float(r["x"]), float(r["ref"]), float(r["s"]), float(r["z"])
    reference = math.copysign(10**ref_log, x)
    ratio_log = float(r["y"]) - ref_log
    group = {g: r[f"g{i}"] for i, g in enumerate(p.group_by)}
    item: dict[str, Any] = {
        "key": r["k"],
        "value": x,
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
            "candidate": _round(x / 10**k),
            "provenance": {"transform": f"x / 10^{k}", "ratio": _round(10**ratio_log), "reference": describe},
        }
    return item


def _float(v: Any) -> float | None:
    return None if v is None else round(float(v), 3)


def _round(v: float) -> float:
    return float(f"{v:.6g}")


def _money(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.6g}"


def _sentence(item: dict[str, Any], p: Params) -> str:
    text = f"{item['key']}: {_money(item['value'])} is {item['ratio']:.3g}x its reference {_money(item['reference'])}"
    d = item.get("diagnosis")
    if d:
        what = (
            f"{d['k']} extra digit{'s' if abs(d['k']) > 1 else ''}"
            if d["k"] > 0
            else f"{-d['k']} missing digit{'s' if abs(d['k']) > 1 else ''}"
        )
        text += f" (likely {what}; candidate {_money(d['candidate'])})"
    return text
