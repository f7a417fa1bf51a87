"""`volume`'s `holidays:`: which buckets are holidays, from a country's calendar (the `holidays` package) and
listed dates.

    holidays: US                                   # a country's public holidays (ISO 3166-1 code)
    holidays: US-CA                                # ... with a subdivision's (ISO 3166-2 style)
    holidays: {country: US, subdivision: CA, dates: [2026-11-27, 2026-12-24]}   # plus listed dates
    holidays: {dates: [2026-11-27]}                # listed dates only

The string is shorthand for the mapping. Unknown countries and subdivisions are config errors naming what
the package knows. A day bucket is a holiday when its local date is one; an hour bucket when its local date
(in the check's `timezone`) is; a week bucket when any of its days is. The package is imported only when a
check declares holidays (it costs a tenth of a second).
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from typing import Any

from pydantic import model_validator

from sentinel.yamlmodel import Model

LISTED = "listed date"  # the name a listed date carries when no calendar names it


class Holidays(Model):
    country: str | None = None
    subdivision: str | None = None
    dates: list[dt.date] = []

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        if isinstance(v, str):
            country, _, subdivision = v.strip().partition("-")
            v = {"country": country, **({"subdivision": subdivision} if subdivision else {})}
        if isinstance(v, dict) and isinstance(v.get("country"), str) and len(v["country"].strip()) <= 3:
            v = {**v, "country": v["country"].strip().upper()}  # codes are upper case: `us` is US
        return v

    @model_validator(mode="after")
    def _known(self) -> Holidays:
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError("a subdivision needs its country, e.g. {country: US, subdivision: CA} or US-CA")
            if not self.dates:
                raise ValueError("name a country (e.g. US, or US-CA with a subdivision) or list dates")
            return self
        problem = _unknown(self.country, self.subdivision)
        if problem:
            raise ValueError(problem)
        return self

    def label(self) -> str:
        """How the result's `expected` names the calendar: "US-CA + 2 listed dates"."""
        parts = [f"{self.country}-{self.subdivision}" if self.subdivision else self.country] if self.country else []
        if self.dates:
            parts.append(f"{len(self.dates)} listed date{'s' if len(self.dates) > 1 else ''}")
        return " + ".join(p for p in parts if p)


def _unknown(country: str, subdivision: str | None) -> str | None:
    """Why the package cannot give this calendar, naming what it knows; None when it can."""
    import holidays

    try:
        holidays.country_holidays(country, subdiv=subdivision)
        return None
    except NotImplementedError:
        pass
    known = holidays.list_supported_countries()
    if country not in known:
        near = difflib.get_close_matches(country.upper(), list(known), n=3)
        hint = f"did you mean {', '.join(near)}?" if near else "use an ISO 3166-1 code such as US, GB, DE"
        return f"unknown country {country!r} for holidays ({len(known)} known; {hint})"
    subs = list(known[country])
    if not subs:
        return f"{country} has no subdivisions in the holidays package; use {country} alone"
    return f"{country} has no subdivision {subdivision!r} for holidays (known: {', '.join(subs)})"


@functools.lru_cache(maxsize=64)
def _calendar(country: str, subdivision: str | None, years: tuple[int, ...]) -> dict[dt.date, str]:
    import holidays

    return dict(holidays.country_holidays(country, subdiv=subdivision, years=years).items())


def holiday_dates(h: Holidays, first: dt.date, last: dt.date) -> dict[dt.date, list[str]]:
    """The holidays from `first` to `last` (inclusive), each with its names."""
    out: dict[dt.date, list[str]] = {}
    if h.country:
        for day, names in _calendar(h.country, h.subdivision, tuple(range(first.year, last.year + 1))).items():
            if first <= day <= last:
                out[day] = names.split("; ")  # the package joins two holidays on one day with "; "
    for day in h.dates:
        if first <= day <= last:
            out.setdefault(day, [LISTED])  # a date the calendar names keeps its name
    return out


def bucket_holidays(buckets: list[dt.datetime], bucket: str, h: Holidays | None) -> dict[dt.datetime, dict]:
    """The holiday buckets among `buckets` (local bucket starts): bucket -> {date: names} of the holidays it
    holds (one date for day and hour buckets, any in its seven days for a week)."""
    if h is None or not buckets:
        return {}
    span = 7 if bucket == "week" else 1
    days = holiday_dates(h, buckets[0].date(), buckets[-1].date() + dt.timedelta(days=span - 1))
    out: dict[dt.datetime, dict] = {}
    for b in buckets:
        held = {d: days[d] for d in (b.date() + dt.timedelta(days=i) for i in range(span)) if d in days}
        if held:
            out[b] = held
    return out
