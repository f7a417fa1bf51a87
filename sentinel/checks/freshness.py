"""`freshness`: the newest value of a timestamp column is no older than `max_age`.

Naive timestamps are read as `timezone` (default UTC). Text columns holding ISO-8601 timestamps work too:
max() of ISO strings is the latest, and the value is parsed here.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from sentinel.checks.common import CannotMeasure, Context, Plan, Spec, result
from sentinel.timespec import format_duration
from sentinel.yamlmodel import CheckParams, Duration, TimeZoneName

CAUSES = ("stale", "no_data")  # the `cause` of each failure this kind reports (playbooks' `when.cause`)


class Params(CheckParams):
    column: str
    max_age: Duration
    timezone: TimeZoneName = "UTC"


def default_name(params: Params) -> str:
    return "freshness"


def to_datetime(value, tz: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise CannotMeasure("wrong_type", f"cannot read {value!r} as a timestamp") from exc
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if not isinstance(value, dt.datetime):
        raise CannotMeasure("wrong_type", f"expected timestamps, got {type(value).__name__} {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(dt.UTC)


def plan(spec: Spec, ctx: Context) -> Plan:
    p = spec.params
    col = ctx.col(p.column, timestamps=True, purpose="freshness")

    def finish(values):
        latest = to_datetime(values["latest"], p.timezone)
        expected = {"max_age": format_duration(p.max_age)}
        if latest is None:
            return result(
                spec,
                ctx,
                False,
                cause="no_data",
                observed=None,
                expected=expected,
                diagnosis={"cause": "no_data", "message": f"{p.column} has no values (empty table or all NULL)"},
            )
        age = ctx.now - latest
        ok = age <= p.max_age
        observed = {"latest": latest.isoformat(), "age": format_duration(max(age, dt.timedelta(0)))}
        diagnosis = (
            None
            if ok
            else {
                "cause": "stale",
                "message": f"newest {p.column} is {latest:%Y-%m-%d %H:%M} UTC, {format_duration(age)} old "
                f"(allowed {format_duration(p.max_age)})",
            }
        )
        return result(
            spec,
            ctx,
            ok,
            cause="stale",
            observed=observed,
            expected=expected,
            diagnosis=diagnosis,
            metrics={"age_seconds": age.total_seconds()},
        )

    return Plan(finish, {"latest": sa.func.max(col)})
