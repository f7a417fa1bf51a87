"""Durations ("26h", "1d12h") and schedules ("every 15m", cron with named weekdays).

Cron strings are normalised here, once, at config load: numeric day-of-week follows cron (0 and 7 = Sunday)
and is translated into names, because APScheduler reads 0 as Monday and would silently shift every job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(?:(\d+)\s*([smhdw])\s*)+$")
_PART = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(value: object) -> timedelta:
    """'90s', '15m', '26h', '2d', '1w', '1d12h' -> timedelta; plain numbers are seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration like 15m, 26h or 2d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION.match(value):
        seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(value))
    else:
        raise ValueError(f"expected a duration like 15m, 26h or 2d, got {value!r}")
    if seconds <= 0:
        raise ValueError("must be > 0")
    return timedelta(seconds=seconds)


def format_duration(td: timedelta) -> str:
    seconds = int(td.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


@dataclass(frozen=True)
class Schedule:
    """Either a cron expression (weekdays as names) or a fixed interval."""

    cron: str | None = None
    every: timedelta | None = None

    def __str__(self) -> str:
        return self.cron if self.cron is not None else f"every {format_duration(self.every)}"


_DOW_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_FIELDS = [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7)]


def _value(token: str, field: str, lo: int, hi: int) -> int:
    t = token.lower()
    if field == "day of week" and t in _DOW_NAMES:
        return _DOW_NAMES.index(t)
    if field == "month" and t in _MONTHS:
        return _MONTHS.index(t) + 1
    if not t.isdigit():
        raise ValueError(
            f"{field}: {token!r} is not a number" + (" or a name" if field in ("month", "day of week") else "")
        )
    n = int(t)
    if not lo <= n <= hi:
        raise ValueError(f"{field}: {n} is outside {lo}-{hi}")
    return n


def _expand(field_text: str, field: str, lo: int, hi: int) -> set[int]:
    """Expand one cron field (lists, ranges, steps, names) into the set of values it selects."""
    out: set[int] = set()
    for item in field_text.split(","):
        base, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{field}: bad step {step_text!r}")
            step = int(step_text)
        if base == "*":
            start, end = lo, (6 if field == "day of week" else hi)
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _value(a, field, lo, hi), _value(b, field, lo, hi)
            if field == "day of week" and end == 0:
                end = 7
            if start > end:
                raise ValueError(f"{field}: range {base!r} runs backwards")
        else:
            start = end = _value(base, field, lo, hi)
            if step_text:
                end = 6 if field == "day of week" else hi
        out.update(range(start, end + 1, step))
    return out


def parse_schedule(value: object) -> Schedule:
    if not isinstance(value, str):
        raise ValueError("expected a cron expression like '*/30 * * * *' or 'every 15m'")
    text = value.strip()
    if text.lower().startswith("every "):
        return Schedule(every=parse_duration(text[6:].strip()))
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"cron needs 5 fields (minute hour day month weekday), got {len(fields)}: {text!r}")
    for field_text, (name, lo, hi) in zip(fields[:4], _FIELDS[:4], strict=True):
        _expand(field_text, name, lo, hi)  # validates
    dow = fields[4]
    if dow != "*":
        days = sorted({d % 7 for d in _expand(dow, "day of week", 0, 7)})
        # APScheduler's day_of_week: names only, so cron's 0=Sunday cannot be misread as Monday.
        fields[4] = ",".join(_DOW_NAMES[d] for d in days)
    return Schedule(cron=" ".join(fields))
