"""Dataset schedules as APScheduler triggers, and the nominal tick every replica agrees on.

Triggers are rebuilt from YAML at every boot and reload (no pickled job store). Intervals (`every 15m`) are
anchored at a fixed epoch, not at the process's start, so two daemons tick on the same grid; a tick is then
the same timestamp on every replica, and the state store records one completed run per dataset and tick.
Each dataset's interval grid is shifted by a stable offset within the interval (from a hash of its name):
500 datasets `every 1m` start one every 0.12 s, not all in the same second. Cron schedules fire at their
exact times (`daemon.jitter` spreads them). An interval's jitter delays each run from its own tick: it never
accumulates (`GridInterval`).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sentinel.timespec import Schedule

EPOCH = dt.datetime(2000, 1, 3, tzinfo=dt.UTC)  # a Monday: weekly intervals start on Mondays
HOURLY = Schedule(every=dt.timedelta(hours=1))  # a dataset without `schedule:`


def phase(name: str, every: dt.timedelta) -> dt.timedelta:
    """A dataset's stable offset within its interval, to the millisecond."""
    ms = max(int(every.total_seconds() * 1000), 1)
    return dt.timedelta(milliseconds=int(hashlib.sha256(name.encode()).hexdigest()[:12], 16) % ms)


class GridInterval(IntervalTrigger):
    """IntervalTrigger whose jitter stays on the grid. APScheduler 3 computes the next fire time from the
    previous one *with its jitter* (`previous + interval + uniform(0, jitter)`), so every run drifts later by
    jitter/2 on average: with `jitter: 5s` on `every 20s`, 200 runs spanned 227 ticks (27 never run, and a run
    was up to a whole interval late, where a replica takes it over from its live owner). Here the next fire time
    follows the grid tick the previous one belonged to (jitter shorter than the interval: config validation)."""

    def get_next_fire_time(self, previous_fire_time: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
        if previous_fire_time is not None and self.jitter:
            steps = math.floor((previous_fire_time - self.start_date) / self.interval)
            previous_fire_time = self.start_date + steps * self.interval
        return super().get_next_fire_time(previous_fire_time, now)


def trigger(
    schedule: Schedule | None, tz: str = "UTC", jitter: dt.timedelta | None = None, name: str = ""
) -> BaseTrigger:
    schedule = schedule or HOURLY
    j = int(jitter.total_seconds()) if jitter else None
    if schedule.every is not None:
        start = EPOCH + phase(name, schedule.every)
        return GridInterval(seconds=schedule.every.total_seconds(), start_date=start, timezone="UTC", jitter=j)
    minute, hour, day, month, dow = schedule.cron.split()
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=tz, jitter=j)


def nominal_tick(schedule: Schedule | None, now: dt.datetime, tz: str = "UTC", name: str = "") -> dt.datetime:
    """The latest scheduled time at or before `now` (jitter left out): the identity of this run's tick."""
    schedule = schedule or HOURLY
    if schedule.every is not None:
        step = schedule.every
        start = EPOCH + phase(name, step)
        return start + ((now - start) // step) * step
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


def shortest_gap(schedule: Schedule | None, tz: str = "UTC") -> dt.timedelta:
    """The shortest time between two consecutive ticks (a cron's over its next 200 ticks from a fixed date)."""
    schedule = schedule or HOURLY
    return schedule.every if schedule.every is not None else _cron_gap(schedule.cron, tz)


@functools.cache
def _cron_gap(cron: str, tz: str) -> dt.timedelta:
    trig = trigger(Schedule(cron=cron), tz)
    fires = [trig.get_next_fire_time(None, EPOCH)]
    while len(fires) <= 200 and fires[-1] is not None:
        fires.append(trig.get_next_fire_time(fires[-1], fires[-1] + dt.timedelta(microseconds=1)))
    gaps = [b - a for a, b in zip(fires, fires[1:], strict=False) if a is not None and b is not None]
    return min(gaps, default=dt.timedelta.max)
