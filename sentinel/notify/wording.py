"""How an owner request writes values and times: numbers exactly as the evidence holds them, times in the
recipient's zone with its abbreviation, durations in words."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sentinel.store import utc


def count(observed: Any) -> int | None:
    if isinstance(observed, bool):
        return None
    if isinstance(observed, int | float) and float(observed).is_integer():
        return int(observed)
    if isinstance(observed, Mapping):
        for k in ("rows", "row_count", "count"):
            if isinstance(observed.get(k), int) and not isinstance(observed.get(k), bool):
                return observed[k]
    return None


def number(value: Any) -> str:
    """A value as stored, exactly: 12345678.9 -> "12,345,678.9" (a decimal string stays exact); text as is."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float | str):
        try:
            d = Decimal(str(value).strip()) if not isinstance(value, float) else Decimal(repr(value))
        except InvalidOperation:
            return str(value)
        if not d.is_finite():
            return str(value)
        if isinstance(value, str) and not re.fullmatch(r"-?(0|[1-9]\d*)(\.\d+)?", value):
            return value  # text that merely parses as a number ("00123", "1e3", " 5") is shown as it is
        if d == d.to_integral_value():
            return f"{int(d):,}"
        return f"{d:,f}"
    return str(value)


def brief(value: Any) -> str | None:
    """`expected` in one short phrase: a scalar, or a flat mapping of scalars ("min_rows 1")."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return number(value) if not isinstance(value, list | dict) else None
    flat = value.get("kwargs") if isinstance(value.get("kwargs"), Mapping) else value
    parts = []
    for k, v in flat.items():
        if isinstance(v, list) and len(v) <= 10 and all(not isinstance(x, list | dict) for x in v):
            parts.append(f"{k} [{', '.join(number(x) for x in v)}]")
        elif not isinstance(v, list | dict):
            parts.append(f"{k} {number(v)}")
    return ", ".join(parts[:6]) or None


def parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return utc(value)
    if not isinstance(value, str):
        return None
    try:
        return utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def when(at: dt.datetime | None, tz: ZoneInfo, now: dt.datetime | None = None) -> str:
    """A time in the recipient's zone with its abbreviation; the date too unless it is today there."""
    if at is None:
        return "an unknown time"
    local = at.astimezone(tz)
    if now is not None and now.astimezone(tz).date() == local.date():
        return f"{local:%H:%M %Z}"
    return f"{local:%a %d %b %H:%M %Z}"


def span(td: dt.timedelta) -> str:
    """How long something stayed open, to the minute, the largest two units ("2 h 5 min", "3 d 4 h")."""
    minutes = max(int(td.total_seconds() // 60), 0)
    d, rest = divmod(minutes, 1440)
    h, m = divmod(rest, 60)
    parts = [f"{d} d"] * bool(d) + [f"{h} h"] * bool(h) + [f"{m} min"] * bool(m)
    return " ".join(parts[:2]) or "under a minute"
