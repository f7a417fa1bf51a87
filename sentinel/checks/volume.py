"""`volume`: row counts per time bucket against a robust seasonal baseline learnt from the table itself.

The database returns counts per UTC hour over the training and detection windows (one small GROUP BY;
the dataset's single scan adds the table's first timestamp and total). Hours are folded into local buckets
here (so days follow `timezone`, across daylight-saving changes), and every bucket of the calendar is
filled: a day with no rows is a count of zero, not a missing GROUP BY row.

Only complete buckets count. The detection period is the last N complete buckets before the run; the
training period is the N before it and never includes it. Buckets before the table's first row are not
zeros, they did not exist. Buckets an earlier run flagged (known incidents) are left out of the baseline,
so a long outage does not become the new normal.

For each detection bucket the baseline is the median and MAD of log1p(count) over training buckets of the
same seasonal slot (same weekday, hour, ...; with fewer than `MIN_POINTS` of them only zero rows is tested),
with a Poisson floor on the spread so small counts do not alarm on noise. A bucket is flagged when its
robust z passes `sensitivity` in the watched direction *and* it differs from the expected count by at least
`min_change` (on steady series the MAD is tiny and z alone flags noise). Zero rows always fail.

Holidays (`holidays: US`, `US-CA`, or `{country, subdivision, dates}`; sentinel/checks/volume_holidays.py)
are real dips, not incidents. Holiday buckets are left out of the ordinary baselines, so Christmas does not
lower next week's expectations. A holiday in the detection period is judged by its effect: its slot's
ordinary median moved by the median effect of the earlier holidays in the training window (each one's
log1p(count) minus its own slot's ordinary median, so holidays on different weekdays compare; any holiday,
not only the same one, since a year's window holds each holiday once at most). The spread is the wider of the
effects' MAD and IQR, never narrower than an ordinary day's. With fewer than `MIN_HOLIDAYS` earlier holidays
the bucket is reported, not judged: the result passes with an info-level diagnosis, and only zero rows fail.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import Field

from sentinel.checks.common import CannotMeasure, Context, Plan, Spec, result
from sentinel.checks.freshness import to_datetime
from sentinel.checks.volume_holidays import Holidays, bucket_holidays
from sentinel.timespec import format_duration
from sentinel.yamlmodel import CheckParams, Duration, TimeZoneName

BUCKETS = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1), "week": dt.timedelta(weeks=1)}
DEFAULT_TRAINING = {"hour": dt.timedelta(days=14), "day": dt.timedelta(days=56), "week": dt.timedelta(weeks=26)}
DEFAULT_DETECTION = {"hour": dt.timedelta(hours=6), "day": dt.timedelta(days=2), "week": dt.timedelta(weeks=1)}
AUTO_SEASONALITY = {"hour": "hour_of_day", "day": "day_of_week", "week": "none"}
MIN_POINTS = 4  # same-slot training buckets needed for a seasonal baseline
MIN_HOLIDAYS = 3  # earlier holidays (days) needed to judge a holiday: from fewer, their effect is a guess
MAX_BUCKETS = 5000  # training + detection, a guard against a config that would scan years hour by hour
Seasonality = Literal["auto", "none", "day_of_week", "hour_of_day", "hour_of_week", "day_of_month"]


CAUSES = (
    "empty",
    "empty_bucket",
    "volume_drop",
    "volume_spike",
)  # the `cause` of each failure this kind reports (playbooks' `when.cause`)


class Params(CheckParams):
    timestamp_column: str
    bucket: Literal["hour", "day", "week"] = "day"
    training_period: Duration | None = None
    detection_period: Duration | None = None
    seasonality: Seasonality = "auto"
    direction: Literal["drop", "spike", "both"] = "both"
    sensitivity: float = Field(3.5, gt=0)
    min_change: float = Field(0.25, ge=0)
    timezone: TimeZoneName = "UTC"
    holidays: Holidays | None = None


def default_name(params: Params) -> str:
    return "volume"


@dataclass(frozen=True)
class Window:
    buckets: list[dt.datetime]  # local, aware bucket starts, oldest first; the last `n_detect` are detection
    n_detect: int
    end: dt.datetime  # exclusive, aware: start of the current (incomplete) bucket


def bucket_start(t: dt.datetime, bucket: str, tz: ZoneInfo) -> dt.datetime:
    local = t.astimezone(tz)
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if bucket == "week":
        day -= dt.timedelta(days=day.weekday())
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


def _step(start: dt.datetime, bucket: str, tz: ZoneInfo, k: int) -> dt.datetime:
    """k buckets after (k < 0: before) `start`, by the local calendar for days and weeks."""
    if bucket == "hour":  # hours are absolute: step in UTC so DST repeats/skips stay exact
        return (start.astimezone(dt.UTC) + dt.timedelta(hours=k)).astimezone(tz)
    days = k * (7 if bucket == "week" else 1)
    return dt.datetime.combine(start.date() + dt.timedelta(days=days), dt.time(), tzinfo=tz)


def window(now: dt.datetime, p: Params) -> Window:
    tz = ZoneInfo(p.timezone)
    size = BUCKETS[p.bucket]
    n_detect = max(1, round((p.detection_period or DEFAULT_DETECTION[p.bucket]) / size))
    n_train = max(1, round((p.training_period or DEFAULT_TRAINING[p.bucket]) / size))
    if n_detect + n_train > MAX_BUCKETS:
        raise CannotMeasure("bad_params", f"{n_detect + n_train} {p.bucket} buckets is more than {MAX_BUCKETS}")
    end = bucket_start(now, p.bucket, tz)
    first = _step(end, p.bucket, tz, -(n_detect + n_train))
    return Window([_step(first, p.bucket, tz, i) for i in range(n_detect + n_train)], n_detect, end)


def slot(start: dt.datetime, seasonality: str) -> int | tuple | None:
    if seasonality == "day_of_week":
        return start.weekday()
    if seasonality == "hour_of_day":
        return start.hour
    if seasonality == "hour_of_week":
        return (start.weekday(), start.hour)
    if seasonality == "day_of_month":
        # The month's last day is its own slot (month-end loads, billing runs: the 30th of a 30-day month
        # aligns with the 31st of a longer one), split by weekday and weekend; every other day keeps its
        # weekday's pattern, which a plain day-of-month slot would mix (the 14th is a Saturday one month, a
        # Monday the next).
        last = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        if start.day == last.day:
            return ("month_end", start.weekday() >= 5)
        return start.weekday()
    return None


@dataclass
class Baseline:
    expected: float
    low: float
    high: float
    median_log: float
    spread_log: float
    points: int


def baseline(train: list[int], p: Params) -> Baseline:
    logs = [math.log1p(c) for c in train]
    m = statistics.median(logs)
    mad = statistics.median(abs(v - m) for v in logs)
    return _bounds(m, 1.4826 * mad, len(train), p)  # 1.4826·MAD estimates sigma


def _bounds(m: float, spread: float, points: int, p: Params) -> Baseline:
    """The expected count and range around a median log1p(count) `m`. A Poisson count of mean λ has log-sd
    ≈ 1/sqrt(λ): a floor on `spread` for small counts."""
    expected = math.expm1(m)
    s = max(spread, 1.0 / math.sqrt(max(expected, 1.0)))
    k = p.sensitivity
    low = min(math.expm1(m - k * s), expected * (1 - p.min_change))
    high = max(math.expm1(m + k * s), expected * (1 + p.min_change))
    return Baseline(expected, max(low, 0.0), high, m, s, points)


def holiday_baseline(ordinary: Baseline, effects: list[float], p: Params) -> Baseline:
    """A holiday's baseline: its slot's ordinary median moved by the median effect of earlier holidays (each one's
    log1p(count) minus its own slot's ordinary median, so a Sunday holiday and a Thursday one compare).

    Holidays come in kinds (a quiet Christmas, a busy Columbus Day), and a dozen of them can fall in two clusters
    whose MAD is only the spread within the larger one: the spread is the wider of the MAD's and the
    interquartile range's estimates of sigma, and never narrower than an ordinary day's."""
    e = statistics.median(effects)
    mad = statistics.median(abs(v - e) for v in effects)
    q1, _, q3 = statistics.quantiles(effects, n=4, method="inclusive")
    spread = max(1.4826 * mad, (q3 - q1) / 1.349, ordinary.spread_log)
    return _bounds(ordinary.median_log + e, spread, len(effects), p)


def judge(counts: dict[dt.datetime, int], win: Window, p: Params, known: set[str], first: dt.datetime | None):
    """Flag detection buckets. Pure: tested directly on in-memory series as well as through each backend.

    With `holidays`, holiday buckets are left out of the ordinary baselines; a detection bucket on a holiday is
    judged against the effects of the earlier holidays in the training window (at least `MIN_HOLIDAYS` of them),
    else only its zero rows are tested. Its item says which holiday and how it was judged (`holiday`, `note`)."""
    season = AUTO_SEASONALITY[p.bucket] if p.seasonality == "auto" else p.seasonality
    seasonal = season != "none"
    train_starts = win.buckets[: -win.n_detect]
    usable = [
        b
        for b in train_starts
        if (first is None or _step(b, p.bucket, b.tzinfo, 1) > first) and b.isoformat() not in known
    ]
    days = bucket_holidays(win.buckets, p.bucket, p.holidays)
    ordinary = [b for b in usable if b not in days]
    bases: dict[Any, tuple[int, Baseline | None]] = {}

    def ordinary_base(b: dt.datetime) -> tuple[int, Baseline | None]:
        """(same-slot ordinary training buckets, their baseline if there are enough), once per slot. With
        seasonality, a bucket is only judged against buckets of its own slot: a month-end is not measured
        against ordinary days, nor a Sunday against weekdays."""
        key = slot(b, season) if seasonal else None
        if key not in bases:
            train = [counts.get(t, 0) for t in ordinary if not seasonal or slot(t, season) == key]
            bases[key] = (len(train), baseline(train, p) if len(train) >= MIN_POINTS else None)
        return bases[key]

    effects, earlier = [], set()  # each earlier holiday bucket's log effect; the holidays (days) they come from
    for h in usable:
        base = ordinary_base(h)[1] if h in days else None
        if base is not None:
            effects.append(math.log1p(counts.get(h, 0)) - base.median_log)
            earlier.add(h.date() if p.bucket == "hour" else h)

    flagged, checked = [], []
    for b in win.buckets[-win.n_detect :]:
        x = counts.get(b, 0)
        item: dict[str, Any] = {"bucket": b.isoformat(), "count": x}
        n_train, base = ordinary_base(b)
        zero_floor = base.expected if base is not None else None  # below 1 expected row, zero is no outage
        if b in days:
            item["holiday"] = {d.isoformat(): names for d, names in days[b].items()}
            base, item["note"] = _on_holiday(base, n_train, effects, len(earlier), p)
        if base is None:
            kind = "same-slot " if seasonal else ""
            item.setdefault("note", f"only {n_train} {kind}training bucket(s): zero rows is the only test")
            if x == 0 and (first is None or first < b) and (zero_floor is None or zero_floor >= 1):
                flagged.append({**item, "score": None, "reason": "zero rows"})
            checked.append(item)
            continue
        z = (math.log1p(x) - base.median_log) / base.spread_log
        item.update(
            expected=round(base.expected, 2),
            low=round(base.low, 2),
            high=round(base.high, 2),
            score=round(z, 2),
            baseline={
                "points": base.points,
                "seasonality": season,
                "median_log1p": round(base.median_log, 4),
                "spread_log1p": round(base.spread_log, 4),
                **({"holidays": len(earlier)} if b in days else {}),
                **({"holiday_buckets_left_out": len(usable) - len(ordinary)} if days else {}),
            },
        )
        checked.append(item)
        drop = x < base.low and p.direction in ("drop", "both")
        spike = x > base.high and p.direction in ("spike", "both")
        if x == 0 and base.expected >= 1:
            flagged.append({**item, "reason": "zero rows"})
        elif drop or spike:
            flagged.append({**item, "reason": "drop" if drop else "spike"})
    return flagged, checked


def _on_holiday(
    ordinary: Baseline | None, n_train: int, effects: list[float], n_earlier: int, p: Params
) -> tuple[Baseline | None, str]:
    """A holiday bucket's baseline (None: not judged) and the sentence saying why."""
    if ordinary is not None and n_earlier >= MIN_HOLIDAYS:
        return holiday_baseline(ordinary, effects, p), f"judged against {n_earlier} earlier {_holidays(n_earlier, p)}"
    if ordinary is None:
        why = f"only {n_train} ordinary training bucket(s) of its slot to measure it against"
    elif n_earlier:
        why = f"only {n_earlier} earlier {_holidays(n_earlier, p)} in the training window ({MIN_HOLIDAYS} needed)"
    else:
        why = f"no earlier {_holidays(1, p)} in the training window"
    return None, f"{why}: reported, not judged (zero rows is the only test)"


def _holidays(n: int, p: Params) -> str:
    return ("holiday week" if p.bucket == "week" else "holiday") + ("s" if n != 1 else "")


def holiday_notes(checked: list[dict], p: Params) -> list[str]:
    """One sentence per holiday in the detection period, saying how its buckets were treated: "2026-11-26
    Thanksgiving Day: judged against 12 earlier holidays" (hour buckets of one day share their sentence)."""
    notes: dict[str, int] = {}
    for item in checked:
        if "holiday" in item:
            held = "; ".join(f"{d} {', '.join(names)}" for d, names in item["holiday"].items())
            label = f"week of {item['bucket'][:10]} ({held})" if p.bucket == "week" else held
            line = f"{label}: {item['note']}"
            notes[line] = notes.get(line, 0) + 1
    return [line + (f" ({n} hour buckets)" if n > 1 else "") for line, n in notes.items()]


def _hour_expr(ctx: Context, col: sa.ColumnClause, aware: bool) -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """(hour-truncated timestamp, comparable timestamp) for this dialect and column type. The unit and the
    zone reach the database as SQL literals, not parameters: the bucket is selected and grouped by, and under
    qmark placeholders (Trino) two `?` are two parameters, which an analyzer need not see as the same
    expression. They are constants of this module, never data; rendered by the dialect at execution
    (literal_execute), they stay bound values in the statement, which Spark's `timezone` reads."""
    if ctx.dialect == "sqlite":
        ts = sa.func.datetime(col)
        return sa.func.strftime("%Y-%m-%d %H:00:00", col), ts
    ts = sa.func.timezone(_constant("UTC"), col) if aware else sa.cast(col, sa.DateTime())
    return sa.func.date_trunc(_constant("hour"), ts), ts


def _constant(text: str) -> sa.BindParameter:
    """A string constant of code, rendered into the SQL text as a literal by the dialect. Named, so it takes
    no number from the statement's anonymous parameters (param_1, ...), which keep their names."""
    return sa.bindparam("constant", text, sa.String, unique=True, literal_execute=True)


def plan(spec: Spec, ctx: Context) -> Plan:
    p: Params = spec.params
    col = ctx.col(p.timestamp_column, timestamps=True, purpose="volume")
    aware = ctx.columns[p.timestamp_column].tz_aware
    naive_tz = "UTC" if aware else p.timezone  # naive values are read in the check's time zone
    win = window(ctx.now, p)

    def finish(values):
        total = int(values["rows"] or 0)
        if values.get("first_infinite"):  # '-infinity' is no first row: the least finite timestamp is
            finite = sa.select(sa.func.min(col)).select_from(ctx.table).where(sa.func.isfinite(col))
            values = {**values, "first": ctx.source.execute(finite)[0][0]}
        first = to_datetime(values["first"], naive_tz) if values["first"] is not None else None
        expected = {
            "bucket": p.bucket,
            "detection": format_duration(win.end - win.buckets[-win.n_detect]),
            "training": format_duration(win.buckets[-win.n_detect] - win.buckets[0]),
            "sensitivity": p.sensitivity,
            "min_change": p.min_change,
            "direction": p.direction,
            **({"holidays": p.holidays.label()} if p.holidays else {}),
        }
        if total == 0:
            return result(
                spec,
                ctx,
                False,
                cause="empty",
                observed={"rows": 0},
                expected=expected,
                diagnosis={"cause": "empty", "message": f"{ctx.dataset_name} has no rows at all"},
            )
        counts = _counts(ctx, col, aware, win, naive_tz, p)
        known = ctx.history.get(f"flagged_buckets:{spec.name}", set())
        flagged, checked = judge(counts, win, p, known, first)
        ok = not flagged
        detail = "; ".join(_describe(f, p) for f in flagged[:5]) + (
            f"; and {len(flagged) - 5} more" if len(flagged) > 5 else ""
        )
        cause = (
            "empty_bucket"
            if any(f["reason"] == "zero rows" for f in flagged)
            else (flagged[0]["reason"] if flagged else None)
        )
        diagnosis = (
            None if ok else {"cause": f"volume_{cause}" if cause != "empty_bucket" else cause, "message": detail}
        )
        notes = holiday_notes(checked, p)
        if ok and notes:  # said, not failed: a passing result carries them as an info-level diagnosis
            diagnosis = {"level": "info", "cause": "holiday", "message": "; ".join(notes)}
        return result(
            spec,
            ctx,
            ok,
            cause=diagnosis["cause"] if diagnosis else None,
            observed={"rows": total, "buckets": checked, **({"holidays": notes} if notes else {})},
            expected=expected,
            evidence={"buckets": flagged} if flagged else {},
            diagnosis=diagnosis,
            metrics={"row_count": total},
        )

    return Plan(finish, {"rows": sa.func.count(), **_first(ctx, col)})


def _first(ctx: Context, col: sa.ColumnClause) -> dict[str, sa.ColumnElement]:
    """The table's first timestamp, for the dataset's scan. PostgreSQL and DuckDB timestamps take '-infinity',
    which psycopg cannot load (the whole scan would fail) and DuckDB loads as year 1: the scan returns the
    minimum only when it is finite, and says when it is not; isfinite() runs once on the minimum, not per row."""
    if ctx.dialect not in ("postgresql", "duckdb") or not ctx.columns[col.name].temporal:
        return {"first": sa.func.min(col)}
    finite = sa.func.isfinite(sa.func.min(col))
    return {"first": sa.case((finite, sa.func.min(col))), "first_infinite": sa.not_(finite)}


def _describe(f: dict, p: Params) -> str:
    b = dt.datetime.fromisoformat(f["bucket"])
    label = b.strftime("%Y-%m-%d %H:00" if p.bucket == "hour" else "%Y-%m-%d (%a)")
    if "holiday" in f:
        label += " " + ", ".join(n for names in f["holiday"].values() for n in names)
    if "expected" not in f:
        return f"{label}: 0 rows"
    n = f["baseline"].get("holidays")
    judged = f" from {n} earlier {_holidays(n, p)}" if n is not None else ""
    return f"{label}: {f['count']:,} rows, expected {f['expected']:,.0f} ({f['low']:,.0f}-{f['high']:,.0f}){judged}"


def _counts(ctx, col, aware: bool, win: Window, naive_tz: str, p: Params) -> dict[dt.datetime, int]:
    tz = ZoneInfo(p.timezone)
    hour, ts = _hour_expr(ctx, col, aware)
    lo, hi = win.buckets[0], win.end
    # bounds in the column's own terms: naive values are local to `naive_tz`
    lo_v = lo.astimezone(ZoneInfo(naive_tz)).replace(tzinfo=None)
    hi_v = hi.astimezone(ZoneInfo(naive_tz)).replace(tzinfo=None)
    if ctx.dialect == "sqlite":
        lo_v, hi_v = lo_v.isoformat(sep=" "), hi_v.isoformat(sep=" ")
    stmt = (
        sa.select(hour.label("h"), sa.func.count().label("n"))
        .select_from(ctx.table)
        .where(ts >= lo_v, ts < hi_v)
        .group_by(hour)
    )
    counts: dict[dt.datetime, int] = {}
    for h, n in ctx.source.execute(stmt):
        at = to_datetime(h, naive_tz)
        if at is None:
            continue
        key = bucket_start(at, p.bucket, tz)
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def reads(store: Any, dataset: str, name: str, params: Params) -> dict[str, Any]:
    """What earlier runs learnt that this check reads: the buckets earlier results flagged (a known incident
    stays out of the baseline)."""
    key = f"flagged_buckets:{name}"
    return {key: store.flagged_buckets(dataset).get(key, set())}
