"""Dataset schedules as APScheduler triggers, and the nominal tick every replica agrees on.

Triggers are rebuilt from YAML at every boot and reload (no pickled job store). Intervals (`every 15m`) are
anchored at a fixed epoch, not at the process's start, so two daemons tick on the same grid; a tick is then
the same timestamp on every replica, and the state store records one completed run per dataset and tick.
"""

from __future__ import annotations

import datetime as dt

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sentinel.timespec import Schedule

EPOCH = dt.datetime(2000, 1, 3, tzinfo=dt.UTC)  # a Monday: weekly intervals start on Mondays
HOURLY = Schedule(every=dt.timedelta(hours=1))  # a dataset without `schedule:`


def trigger(schedule: Schedule | None, tz: str = "UTC", jitter: dt.timedelta | None = None) -> BaseTrigger:
    schedule = schedule or HOURLY
    j = int(jitter.total_seconds()) if jitter else None
    if schedule.every is not None:
        return IntervalTrigger(seconds=schedule.every.total_seconds(), start_date=EPOCH, timezone="UTC", jitter=j)
    minute, hour, day, month, dow = schedule.cron.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=tz, jitter=j)


def nominal_tick(schedule: Schedule | None, now: dt.datetime, tz: str = "UTC") -> dt.datetime:
    """The latest scheduled time at or before `now` (jitter left out): the identity of this run's tick."""
    schedule = schedule or HOURLY
    if schedule.every is not None:
        step = schedule.every
        return EPOCH + ((now - EPOCH) // step) * step
    trig = trigger(schedule, tz)
    first = trig.get_next_fire_time(None, now)
    second = trig.get_next_fire_time(first, first + dt.timedelta(microseconds=1))
    back = second - first
    t = trig.get_next_fire_time(None, now - back)
    while t > now:  # an irregular schedule (weekdays only): look further back until a tick is found
        back *= 2
        t = trig.get_next_fire_time(None, now - back)
    while True:
        following = trig.get_next_fire_time(t, t + dt.timedelta(microseconds=1))
        if following > now:
            return t.astimezone(dt.UTC)
        t = following
