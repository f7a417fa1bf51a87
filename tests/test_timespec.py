import datetime as dt
import random

import pytest
from apscheduler.triggers.cron import CronTrigger

from sentinel.timespec import format_duration, parse_duration, parse_schedule


@pytest.mark.parametrize(
    "text,seconds",
    [("90s", 90), ("15m", 900), ("26h", 93600), ("2d", 172800), ("1w", 604800), ("1d12h", 129600), (30, 30)],
)
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "soon", "10 minutes", "0m", "-5m", True])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_format_round_trips():
    assert format_duration(parse_duration("1d2h3m")) == "1d2h3m"


def test_every():
    s = parse_schedule("every 15m")
    assert s.every == dt.timedelta(minutes=15) and s.cron is None and str(s) == "every 15m"


@pytest.mark.parametrize(
    "cron,expected",
    [
        ("0 9 * * 0", "0 9 * * sun"),
        ("0 9 * * 7", "0 9 * * sun"),
        ("0 9 * * 1-5", "0 9 * * mon,tue,wed,thu,fri"),
        ("0 9 * * mon-fri", "0 9 * * mon,tue,wed,thu,fri"),
        ("0 9 * * */2", "0 9 * * sun,tue,thu,sat"),
        ("*/30 * * * *", "*/30 * * * *"),
        ("0 0 1 * 5,6", "0 0 1 * fri,sat"),
    ],
)
def test_numeric_weekdays_are_translated_to_names(cron, expected):
    assert parse_schedule(cron).cron == expected


def test_translated_sunday_fires_on_sunday_in_apscheduler():
    # APScheduler reads a numeric 0 as Monday; the translated expression must fire on a Sunday.
    trigger = CronTrigger.from_crontab(parse_schedule("0 9 * * 0").cron, timezone="UTC")
    fire = trigger.get_next_fire_time(None, dt.datetime(2026, 11, 25, tzinfo=dt.UTC))  # a Wednesday
    assert fire.strftime("%A %H:%M") == "Sunday 09:00"


@pytest.mark.parametrize(
    "bad,needle",
    [
        ("* * *", "5 fields"),
        ("61 * * * *", "minute"),
        ("0 25 * * *", "hour"),
        ("0 0 * * funday", "day of week"),
        ("0 0 * * 5-1", "backwards"),
        ("every soon", "duration"),
    ],
)
def test_bad_schedules(bad, needle):
    with pytest.raises(ValueError, match=needle):
        parse_schedule(bad)


@pytest.mark.parametrize(
    "schedule,jitter",
    [("every 20s", 5), ("every 1h", 300), ("every 15m", 899), ("*/5 * * * *", 60)],
)
def test_a_jittered_schedule_runs_every_tick_once_within_its_jitter(schedule, jitter):
    """Fed back its own fire times as APScheduler does, a trigger with jitter fires once for each tick, in
    order, at most `jitter` after it. (APScheduler's own IntervalTrigger added each jitter to the next: with
    `every 20s` and 5 s of jitter, 200 runs spanned 227 ticks.)"""
    from sentinel.scheduler import nominal_tick

    sched = parse_schedule(schedule)
    state = random.getstate()  # APScheduler draws its jitter from the module's generator
    random.seed(7)
    try:
        fires = _fires(sched, jitter, 300)
    finally:
        random.setstate(state)
    ticks = []
    for fire in fires:
        tick = nominal_tick(sched, fire, "UTC", "deals")
        assert dt.timedelta(0) <= fire - tick < dt.timedelta(seconds=jitter)
        ticks.append(tick)
    steps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert steps == {sched.every or dt.timedelta(minutes=5)}  # no tick skipped, none twice


def _fires(sched, jitter: int, n: int) -> list[dt.datetime]:
    """n fire times of the dataset's trigger, each fed back as the previous one, as APScheduler does."""
    from sentinel.scheduler import trigger

    trig = trigger(sched, "UTC", dt.timedelta(seconds=jitter), "deals")
    fires = [trig.get_next_fire_time(None, dt.datetime(2026, 12, 1, 9, 0, 1, tzinfo=dt.UTC))]
    while len(fires) < n:
        fires.append(trig.get_next_fire_time(fires[-1], fires[-1]))
    return fires
