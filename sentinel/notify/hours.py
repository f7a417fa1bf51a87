"""Working hours: when an owner may be reminded ("08:00-18:00 Mon-Fri", "09:00-17:30 Mon-Thu,Sat", "always").

Hours are wall-clock times in the owner's timezone, so a reminder due at 07:00 CST on the Monday after the
clocks change still waits for 08:00 local (zoneinfo does the arithmetic). A window start that does not exist on
a spring-forward day (02:30 in America/Chicago on 2026-03-08) opens at the first instant whose wall time is
past it (03:00 CDT); one that happens twice on a fall-back day opens at its first occurrence.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT = "08:00-18:00 Mon-Fri"
_SPEC = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*(.*?)\s*$")


@dataclass(frozen=True)
class Hours:
    start: int  # seconds after local midnight
    end: int  # exclusive; up to 86400 ("24:00")
    days: frozenset[int]  # weekday numbers, Monday = 0

    def is_open(self, t: dt.datetime, tz: ZoneInfo) -> bool:
        local = t.astimezone(tz)
        second = local.hour * 3600 + local.minute * 60 + local.second
        return local.weekday() in self.days and self.start <= second < self.end


ALWAYS = Hours(0, 86400, frozenset(range(7)))


def _clock(h: str, m: str, spec: str) -> int:
    hours, minutes = int(h), int(m)
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{h}:{m} is not a time of day in {spec!r}")
    return hours * 3600 + minutes * 60


def _day(name: str, spec: str) -> int:
    n = name.strip().lower()
    for i, full in enumerate(FULL):
        if n in (DAYS[i], full):
            return i
    raise ValueError(f"unknown day {name.strip()!r} in {spec!r} (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)")


def parse(spec: str) -> Hours:
    """'HH:MM-HH:MM [Day[-Day][,...]]' (no days: every day) or 'always'; ValueError saying what is wrong."""
    if not isinstance(spec, str):
        raise ValueError("expected a string like '08:00-18:00 Mon-Fri' or 'always'")
    if spec.strip().lower() == "always":
        return ALWAYS
    m = _SPEC.match(spec)
    if m is None:
        raise ValueError(f"expected 'HH:MM-HH:MM Mon-Fri' (days optional) or 'always', got {spec!r}")
    start, end = _clock(m[1], m[2], spec), _clock(m[3], m[4], spec)
    if end <= start:
        raise ValueError(f"the window must end after it starts, within one day: {spec!r}")
    days: set[int] = set()
    for item in filter(None, (p.strip() for p in m[5].split(","))) if m[5] else ():
        first, _, last = item.partition("-")
        a = _day(first, spec)
        b = _day(last, spec) if last else a
        days.update((a + i) % 7 for i in range((b - a) % 7 + 1))  # Sat-Mon wraps over the week's end
    return Hours(start, end, frozenset(days) if days else frozenset(range(7)))


def _first_instant(day: dt.date, second: int, tz: ZoneInfo) -> dt.datetime:
    """The earliest UTC instant on `day` whose local wall time is at or past `second` after midnight."""
    if second >= 86400:
        day, second = day + dt.timedelta(days=1), 0
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=second)
    early = naive.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)
    if early.astimezone(tz).replace(tzinfo=None) == naive:
        return early  # exists (fold=0: the first of a repeated hour)
    # a wall time skipped by a spring-forward: the first existing instant after it is the transition itself
    lo, hi = naive.replace(tzinfo=tz, fold=1).astimezone(dt.UTC), early
    if lo > hi:
        lo, hi = hi, lo
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0) + (dt.timedelta(seconds=1) if hi.microsecond else dt.timedelta())


def next_open(t: dt.datetime, hours: Hours, tz: ZoneInfo) -> dt.datetime:
    """`t` itself when the hours are open then, else the start of the next window (aware, UTC)."""
    t = t.astimezone(dt.UTC)
    if hours.is_open(t, tz):
        return t
    today = t.astimezone(tz).date()
    for i in range(8):
        day = today + dt.timedelta(days=i)
        if day.weekday() in hours.days:
            start = _first_instant(day, hours.start, tz)
            if start >= t:
                return start
    raise AssertionError("working hours with no open day")  # parse() never makes one


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")
