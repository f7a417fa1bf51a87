"""Working hours (sentinel/notify/hours.py): parsing, and the next open instant across DST changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sentinel.notify.hours import ALWAYS, next_open, parse

CHICAGO, BERLIN = ZoneInfo("America/Chicago"), ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def local(tz: ZoneInfo, *args: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz, fold=fold)


def test_parse_windows_and_days():
    h = parse("09:00-17:30 Mon-Thu,Sat")
    assert (h.start, h.end) == (9 * 3600, 17 * 3600 + 1800)
    assert h.days == {0, 1, 2, 3, 5}
    assert parse("08:00-18:00 Mon-Fri").days == {0, 1, 2, 3, 4}
    assert parse("22:00-24:00 sat-mon").days == {5, 6, 0}  # wraps over the week's end
    assert parse("08:00-12:00").days == set(range(7))  # no days: every day
    assert parse("always") == ALWAYS and parse("Always") == ALWAYS


@pytest.mark.parametrize(
    "spec, words",
    [
        ("8-18 Mon-Fri", "HH:MM-HH:MM"),
        ("18:00-08:00 Mon-Fri", "end after it starts"),
        ("08:00-18:00 Mon-Fryday", "unknown day 'Fryday'"),
        ("08:61-18:00", "not a time of day"),
        ("25:00-26:00", "not a time of day"),
        ("", "HH:MM-HH:MM"),
    ],
)
def test_parse_refuses_bad_specs_saying_why(spec, words):
    with pytest.raises(ValueError, match=words):
        parse(spec)


def test_inside_hours_is_now_and_outside_waits_for_the_next_window():
    h = parse("08:00-18:00 Mon-Fri")
    tuesday_noon = local(CHICAGO, 2026, 11, 24, 12, 0)
    assert next_open(tuesday_noon, h, CHICAGO) == tuesday_noon
    friday_evening = local(CHICAGO, 2026, 11, 27, 18, 0)  # the window's end is not inside it
    assert next_open(friday_evening, h, CHICAGO) == local(CHICAGO, 2026, 11, 30, 8, 0)
    early = local(CHICAGO, 2026, 11, 24, 7, 59)
    assert next_open(early, h, CHICAGO) == local(CHICAGO, 2026, 11, 24, 8, 0)


def test_chicago_fall_back_weekend_opens_at_eight_local_which_moved_in_utc():
    """2026-11-01 (Sunday) America/Chicago leaves CDT (-5) for CST (-6): Friday 08:00 is 13:00 UTC, Monday
    08:00 is 14:00 UTC. A reminder due Saturday waits for Monday 08:00 *local*."""
    h = parse("08:00-18:00 Mon-Fri")
    saturday = dt.datetime(2026, 10, 31, 15, 0, tzinfo=UTC)
    opens = next_open(saturday, h, CHICAGO)
    assert opens == dt.datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert opens.astimezone(CHICAGO).hour == 8
    friday = next_open(dt.datetime(2026, 10, 30, 12, 0, tzinfo=UTC), h, CHICAGO)
    assert friday == dt.datetime(2026, 10, 30, 13, 0, tzinfo=UTC)


def test_the_repeated_hour_of_a_fall_back_opens_at_its_first_occurrence():
    h = parse("01:30-03:00")  # 01:30 happens twice in Chicago on 2026-11-01
    before = dt.datetime(2026, 11, 1, 5, 0, tzinfo=UTC)  # 00:00 CDT
    # (aware datetimes inside a repeated hour never compare equal across zones: compare in UTC)
    assert next_open(before, h, CHICAGO) == dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 CDT
    second = local(CHICAGO, 2026, 11, 1, 1, 45, fold=1).astimezone(UTC)  # 01:45 CST, the second time round
    assert next_open(second, h, CHICAGO) == second == dt.datetime(2026, 11, 1, 7, 45, tzinfo=UTC)


def test_a_window_start_skipped_by_spring_forward_opens_when_the_clocks_jump():
    """Europe/Berlin 2026-03-29: 02:00 CET jumps to 03:00 CEST; a 02:30 start does not exist that day: the
    first instant whose wall time is past it is 03:00 CEST = 01:00 UTC."""
    h = parse("02:30-06:00")
    opens = next_open(dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC), h, BERLIN)
    assert opens == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert opens.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"
    assert h.is_open(opens, BERLIN) and not h.is_open(opens - dt.timedelta(seconds=1), BERLIN)


def test_berlin_spring_forward_monday_opens_at_eight_cest():
    h = parse("08:00-18:00 Mon-Fri")
    friday_night = dt.datetime(2026, 3, 27, 20, 0, tzinfo=UTC)  # 21:00 CET
    opens = next_open(friday_night, h, BERLIN)
    assert opens == dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 CEST (+2), not 07:00 UTC as in winter
    assert next_open(dt.datetime(2026, 3, 26, 20, 0, tzinfo=UTC), h, BERLIN) == dt.datetime(
        2026, 3, 27, 7, 0, tzinfo=UTC
    )


def test_always_is_always_open():
    t = dt.datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    assert next_open(t, ALWAYS, CHICAGO) == t
