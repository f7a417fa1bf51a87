"""`volume` with `holidays:`: flights-like series (weekly seasonality, US public holidays 40-60% down) judged
in memory, then the whole check through DuckDB, SQLite and PostgreSQL at a fixed clock, and the config errors.

The series mark their holidays with the `holidays` package (as a flights table's traffic would follow them);
the dates the assertions name (Thanksgiving 2026-11-26, Christmas 2026-12-25) are written out."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import holidays as calendars
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sentinel.checks.volume import Params, holiday_notes, judge, window
from sentinel.config import ConfigError, load_config
from sentinel.runner import measure

UTC = dt.UTC
WEEK = [1.0, 0.92, 0.95, 1.05, 1.08, 0.8, 1.0]  # Monday .. Sunday: flights dip on Tuesdays and Saturdays
US = calendars.country_holidays("US", years=range(2024, 2028))
THANKSGIVING, CHRISTMAS = dt.date(2026, 11, 26), dt.date(2026, 12, 25)
YEAR = "365d"


def flights(buckets, seed=0, level=2000.0, dip=(0.4, 0.6), extra=(), hourly=None):
    """Counts per bucket: `level` x the weekday's factor (x `hourly[h]` for hour buckets), 40-60% down on US
    holidays and on the `extra` dates (the local date of the bucket), 3% noise."""
    rng = random.Random(seed)
    counts = {}
    for b in buckets:
        mean = level * WEEK[b.weekday()] * (hourly[b.hour] if hourly else 1.0)
        if b.date() in US or b.date() in extra:
            mean *= rng.uniform(*dip)
        counts[b] = max(0, round(mean * (1 + rng.gauss(0, 0.03))))
    return counts


def year_of_days(end=dt.datetime(2027, 1, 1, tzinfo=UTC)):
    return window(end, Params(timestamp_column="t", training_period="730d", detection_period="1d")).buckets


def run(counts, now, **params):
    p = Params(timestamp_column="t", **params)
    win = window(now, p)
    flagged, checked = judge(counts, win, p, set(), None)
    return flagged, checked, p


def daily_flags(counts, **params) -> list[str]:
    """Every day of 2026 as the detection period of a daily run (training: the year before): the days flagged."""
    out = []
    for d in range(365):
        now = dt.datetime(2026, 1, 2, tzinfo=UTC) + dt.timedelta(days=d)
        flagged, _, _ = run(counts, now, training_period=YEAR, detection_period="1d", **params)
        out += [f["bucket"][:10] for f in flagged]
    return out


def test_a_year_of_flights_flags_every_holiday_without_holidays_and_none_with_them():
    counts = flights(year_of_days())
    without = daily_flags(counts)
    assert {THANKSGIVING.isoformat(), CHRISTMAS.isoformat()} <= set(without)  # the problem: real travel dips
    assert set(without) <= {d.isoformat() for d in US}  # ... and nothing else
    assert daily_flags(counts, holidays="US") == []


HOLIDAYS_2026 = sorted(d for d in US if d.year == 2026)


@settings(max_examples=40, deadline=None)
@given(
    level=st.floats(50, 1e6),
    low=st.floats(0.2, 0.9),
    width=st.floats(0, 0.2),
    noise=st.floats(0, 0.05),
    seed=st.integers(0, 10**6),
    day=st.sampled_from(HOLIDAYS_2026),
)
def test_clean_holidays_of_many_shapes_raise_nothing(level, low, width, noise, seed, day):
    rng = random.Random(seed)
    counts = {}
    for b in year_of_days():
        mean = level * WEEK[b.weekday()] * (rng.uniform(low, min(low + width, 1.0)) if b.date() in US else 1.0)
        counts[b] = max(0, round(mean * (1 + rng.gauss(0, noise))))
    now = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(9), tzinfo=UTC)
    assert run(counts, now, training_period=YEAR, holidays="US")[0] == []


def test_a_holiday_is_judged_against_earlier_holidays_and_says_so():
    counts = flights(year_of_days())
    flagged, checked, p = run(counts, dt.datetime(2026, 11, 27, 9, tzinfo=UTC), training_period=YEAR, holidays="US")
    assert flagged == []
    wed, thu = checked  # detection: Wednesday 25th and Thanksgiving
    # the year before: Thanksgiving 2025 to Veterans Day 2026, Independence Day and its observed Friday: 12
    assert "holiday" not in wed and wed["baseline"]["holiday_buckets_left_out"] == 12
    assert thu["holiday"] == {"2026-11-26": ["Thanksgiving Day"]} and thu["baseline"]["holidays"] == 12
    # expected from the holidays' effect: about half an ordinary Thursday (2,100 flights)
    assert thu["low"] < thu["count"] < thu["high"] and 700 < thu["expected"] < 1400
    assert holiday_notes(checked, p) == ["2026-11-26 Thanksgiving Day: judged against 12 earlier holidays"]


@pytest.mark.parametrize(
    "day,training,note",
    [
        (THANKSGIVING, "56d", "only 2 earlier holidays in the training window (3 needed): reported, not judged"),
        (dt.date(2026, 9, 7), "28d", "no earlier holiday in the training window: reported, not judged"),
    ],
)
def test_a_holiday_without_earlier_ones_in_the_training_window_is_reported_not_judged(day, training, note):
    """Before Thanksgiving, 56 days hold Columbus Day and Veterans Day; before Labor Day, 28 days hold none."""
    counts = flights(year_of_days())
    bucket = dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo("UTC"))
    counts[bucket] //= 3  # a third of a holiday: not judged either
    now = bucket + dt.timedelta(days=1, hours=9)
    flagged, checked, p = run(counts, now, training_period=training)
    assert [f["bucket"][:10] for f in flagged] == [day.isoformat()]  # without holidays: a drop
    flagged, checked, p = run(counts, now, training_period=training, holidays="US")
    assert flagged == [] and "expected" not in checked[1]
    name = US[day]
    assert holiday_notes(checked, p) == [f"{day} {name}: {note} (zero rows is the only test)"]


def test_a_holiday_whose_slot_has_too_few_ordinary_buckets_is_reported_not_judged():
    counts = flights(year_of_days())
    flagged, checked, p = run(counts, dt.datetime(2026, 11, 27, 9, tzinfo=UTC), training_period="14d", holidays="US")
    assert flagged == [] and holiday_notes(checked, p) == [
        "2026-11-26 Thanksgiving Day: only 2 ordinary training bucket(s) of its slot to measure it against: "
        "reported, not judged (zero rows is the only test)"
    ]


@pytest.mark.parametrize("training", [YEAR, "14d"])
def test_zero_rows_on_a_holiday_still_fail(training):
    counts = flights(year_of_days())
    counts[dt.datetime(2026, 11, 26, tzinfo=ZoneInfo("UTC"))] = 0
    flagged, _, _ = run(counts, dt.datetime(2026, 11, 27, 9, tzinfo=UTC), training_period=training, holidays="US")
    assert [(f["bucket"][:10], f["reason"]) for f in flagged] == [("2026-11-26", "zero rows")]


def test_a_drop_beyond_what_earlier_holidays_show_is_flagged():
    counts = flights(year_of_days())
    day = dt.datetime(2026, 12, 25, tzinfo=ZoneInfo("UTC"))
    normal = counts[day]
    counts[day] = round(normal * 0.25)  # a quarter of an ordinary Christmas: holidays here lose 40-60%, not 87%
    flagged, _, _ = run(counts, dt.datetime(2026, 12, 26, 9, tzinfo=UTC), training_period=YEAR, holidays="US")
    (f,) = flagged
    assert f["reason"] == "drop" and f["holiday"] == {"2026-12-25": ["Christmas Day"]} and f["high"] > normal
    counts[day] = normal * 3  # and a spike on a holiday is one too
    flagged, _, _ = run(counts, dt.datetime(2026, 12, 26, 9, tzinfo=UTC), training_period=YEAR, holidays="US")
    assert [f["reason"] for f in flagged] == ["spike"]


def test_holidays_of_two_kinds_widen_the_range():
    """Eleven earlier holidays, seven at 43% of a day and four at 56%: a MAD sees only the larger cluster and
    would flag a 55% holiday; the interquartile range sees both kinds."""
    p = Params(timestamp_column="t", seasonality="none", training_period=YEAR, detection_period="1d")
    now = dt.datetime(2026, 12, 26, 9, tzinfo=UTC)
    win = window(now, p)
    rng = random.Random(5)
    counts = {b: round(2000 * (1 + rng.gauss(0, 0.01))) for b in win.buckets}
    listed = [b for b in win.buckets[:-1]][15::33]  # eleven days spread over the year
    for i, b in enumerate(listed):
        counts[b] = 860 if i % 3 else 1120
    counts[win.buckets[-1]] = 1100
    flagged, checked, _ = run(
        counts,
        now,
        seasonality="none",
        training_period=YEAR,
        detection_period="1d",
        holidays={"dates": [b.date() for b in listed + win.buckets[-1:]]},
    )
    assert len(listed) == 11 and flagged == [] and checked[0]["baseline"]["holidays"] == 11
    assert checked[0]["expected"] == pytest.approx(860, rel=0.02) and checked[0]["high"] > 1100


def test_holiday_dips_stay_out_of_the_ordinary_baseline():
    """A holiday season (five listed days of ten, down 50%) would drag a flat baseline down to where a real 40%
    drop on the next ordinary day passes; left out, the drop is caught."""
    p_days = Params(timestamp_column="t", seasonality="none", training_period="10d", detection_period="1d")
    now = dt.datetime(2027, 1, 12, 9, tzinfo=UTC)
    win = window(now, p_days)
    season = [b.date() for b in win.buckets[:-1:2]]  # every other training day
    rng = random.Random(3)
    counts = {b: round(1000 * (0.5 if b.date() in season else 1.0) * (1 + rng.gauss(0, 0.02))) for b in win.buckets}
    counts[win.buckets[-1]] = 600
    assert run(counts, now, seasonality="none", training_period="10d", detection_period="1d")[0] == []
    flagged, checked, _ = run(
        counts, now, seasonality="none", training_period="10d", detection_period="1d", holidays={"dates": season}
    )
    assert [f["reason"] for f in flagged] == ["drop"] and 950 < flagged[0]["expected"] < 1050
    assert checked[0]["baseline"]["points"] == 5 and checked[0]["baseline"]["holiday_buckets_left_out"] == 5


def test_listed_dates_are_holidays_too():
    black_friday = dt.date(2026, 11, 27)
    friday = dt.datetime(2026, 11, 27, tzinfo=ZoneInfo("UTC"))
    counts = flights(year_of_days(), extra={black_friday})
    now = dt.datetime(2026, 11, 28, 9, tzinfo=UTC)
    flagged, _, _ = run(counts, now, training_period=YEAR, holidays="US")
    assert [f["bucket"] for f in flagged] == [friday.isoformat()]  # not a US public holiday
    flagged, checked, p = run(counts, now, training_period=YEAR, holidays={"country": "US", "dates": [black_friday]})
    assert flagged == [] and checked[1]["holiday"] == {"2026-11-27": ["listed date"]}
    assert holiday_notes(checked, p)[1] == "2026-11-27 listed date: judged against 12 earlier holidays"
    # dates alone: the earlier holidays are the listed ones in the training window
    earlier = [d for d in US if dt.date(2025, 11, 28) <= d < dt.date(2026, 11, 26)]
    flagged, checked, _ = run(counts, now, training_period=YEAR, holidays={"dates": [*earlier, black_friday]})
    assert [f["bucket"][:10] for f in flagged] == ["2026-11-26"]  # Thanksgiving was not listed
    assert checked[1]["baseline"]["holidays"] == len(earlier)


def test_hour_buckets_are_holidays_by_their_local_date():
    """New York, 3 a.m. on Christmas: the last six hours are 21:00 on the 24th to 02:00 on the 25th, local.
    Hours from 19:00 on the 24th are already the 25th in UTC; only local holiday hours are holiday buckets."""
    tz = ZoneInfo("America/New_York")
    shape = [0.4] * 6 + [1.0] * 12 + [0.7] * 6  # nights are quieter
    params = dict(bucket="hour", timezone="America/New_York", training_period="90d", detection_period="6h")
    now = dt.datetime(2026, 12, 25, 3, 30, tzinfo=tz)
    win = window(now, Params(timestamp_column="t", **params))
    counts = flights(win.buckets, level=400.0, hourly=shape)
    flagged, _, _ = run(counts, now, **params)
    assert [dt.datetime.fromisoformat(f["bucket"]).hour for f in flagged] == [0, 1, 2]  # Christmas, local
    flagged, checked, p = run(counts, now, holidays="US", **params)
    assert flagged == []
    assert ["holiday" in c for c in checked] == [False] * 3 + [True] * 3
    assert checked[-1]["baseline"]["holidays"] == 3  # Columbus Day, Veterans Day, Thanksgiving: 72 hours
    assert checked[-1]["baseline"]["points"] == 72
    assert holiday_notes(checked, p) == ["2026-12-25 Christmas Day: judged against 3 earlier holidays (3 hour buckets)"]


def test_week_buckets_hold_their_holidays():
    p = Params(timestamp_column="t", bucket="week", holidays="US")
    win = window(dt.datetime(2026, 12, 30, tzinfo=UTC), p)  # detection: the week of Monday 21 December
    flagged, checked = judge({b: 7000 for b in win.buckets}, win, p, set(), None)
    assert flagged == [] and checked[0]["holiday"] == {"2026-12-25": ["Christmas Day"]}
    assert holiday_notes(checked, p)[0].startswith("week of 2026-12-21 (2026-12-25 Christmas Day): judged against")


# --- configuration ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,parsed",
    [
        ("US", ("US", None, [])),
        ("us-CA", ("US", "CA", [])),
        ({"country": "GB", "subdivision": "SCT"}, ("GB", "SCT", [])),
        ({"dates": ["2026-11-27"]}, (None, None, [dt.date(2026, 11, 27)])),
        ({"country": "DE", "dates": [dt.date(2026, 12, 24)]}, ("DE", None, [dt.date(2026, 12, 24)])),
    ],
)
def test_holidays_yaml_forms(value, parsed):
    h = Params(timestamp_column="t", holidays=value).holidays
    assert (h.country, h.subdivision, h.dates) == parsed


@pytest.mark.parametrize(
    "value,message",
    [
        ("XX", "unknown country 'XX' for holidays"),
        ("USS", "did you mean US"),
        ("US-ZZ", "US has no subdivision 'ZZ' for holidays (known: AK, AL,"),
        ({"subdivision": "CA"}, "a subdivision needs its country"),
        ({}, "name a country"),
        ({"country": "US", "dates": ["not a date"]}, "dates.0"),
        ({"country": "US", "cities": ["NYC"]}, "cities"),
    ],
)
def test_bad_holidays_are_rejected_with_a_reason(value, message):
    with pytest.raises(ValidationError) as exc:
        Params(timestamp_column="t", holidays=value)
    assert message in str(exc.value)


def test_an_unknown_country_is_a_located_config_error(project):
    project.write("config.yaml", 'sources:\n  wh: {type: sql, url: "duckdb:///wh.duckdb"}\n')
    project.write(
        "checks/flights.yaml",
        """
        datasets:
          - name: flights
            source: wh
            table: flights
            checks:
              - volume:
                  timestamp_column: departed_at
                  holidays: XX
              - volume: {timestamp_column: departed_at, name: state, holidays: {country: US, subdivision: QQ}}
        """,
    )
    with pytest.raises(ConfigError) as exc:
        load_config(project.root / "config.yaml")
    first, second = (str(i) for i in exc.value.issues)
    assert "checks/flights.yaml:8: datasets[0].checks[0].volume.holidays: unknown country 'XX'" in first
    assert "checks/flights.yaml:9: datasets[0].checks[1].volume.holidays: US has no subdivision 'QQ'" in second


# --- through the backends, at a fixed clock -----------------------------------------------------------------


def load_flights(wh, counts: dict[dt.datetime, int], offset=dt.timedelta(hours=12)) -> None:
    """One row per flight, all of a bucket's at `offset` into it: a bucket table expanded in the database (a
    year of flights is tens of thousands of rows, too slow to insert one by one). DuckDB's naive timestamps
    are local to the bucket's time zone, as the check reads them."""
    ts_type = {"sqlite": "TEXT", "postgresql": "TIMESTAMPTZ", "duckdb": "TIMESTAMP"}[wh.name]
    for t in ("flights", "vol_days", "vol_seq"):
        wh.execute(f"DROP TABLE IF EXISTS {t}")
    wh.execute(f"CREATE TABLE vol_days (day_at {ts_type}, n INTEGER)")
    wh.execute("CREATE TABLE vol_seq (i INTEGER)")
    wh.execute(f"CREATE TABLE flights (id INTEGER, departed_at {ts_type})")

    def value(b: dt.datetime):
        t = b + offset
        return t.isoformat() if wh.name == "sqlite" else (t if wh.name == "postgresql" else t.replace(tzinfo=None))

    wh.execute("INSERT INTO vol_days VALUES (:day_at, :n)", [{"day_at": value(b), "n": n} for b, n in counts.items()])
    wh.execute("INSERT INTO vol_seq VALUES (:i)", [{"i": i} for i in range(max(counts.values()))])
    wh.execute("INSERT INTO flights SELECT 0, d.day_at FROM vol_days d JOIN vol_seq s ON s.i < d.n")


def volume_result(project, wh, checks: str, now: dt.datetime):
    project.dataset(wh, checks, table="flights")
    cfg = load_config(project.root / "config.yaml")
    (res,) = measure(cfg, cfg.dataset("flights"), now, None)
    return res


@pytest.mark.parametrize("holidays", ["", ", holidays: US"])
def test_backends_thanksgiving(project, wh, holidays):
    days = window(dt.datetime(2026, 11, 28, tzinfo=UTC), Params(timestamp_column="t", training_period="400d")).buckets
    counts = flights(days, level=300.0)
    load_flights(wh, counts)
    now = dt.datetime(2026, 11, 27, 6, tzinfo=UTC)
    check = f"- volume: {{timestamp_column: departed_at, training_period: 365d{holidays}}}"
    res = volume_result(project, wh, check, now)
    if not holidays:  # the problem, on every backend
        assert res.status == "fail" and res.cause == "volume_drop", res.diagnosis
        assert res.diagnosis["message"].startswith("2026-11-26 (Thu): ")
        return
    assert res.status == "pass" and res.cause is None, res.diagnosis
    assert res.diagnosis == {
        "level": "info",
        "cause": "holiday",
        "message": "2026-11-26 Thanksgiving Day: judged against 12 earlier holidays",
    }
    assert res.observed["holidays"] == [res.diagnosis["message"]] and res.expected["holidays"] == "US"
    assert res.observed["buckets"][1]["count"] == counts[dt.datetime(2026, 11, 26, tzinfo=ZoneInfo("UTC"))]


def test_backends_outage_on_a_holiday_fails(project, wh):
    days = window(dt.datetime(2026, 12, 26, tzinfo=UTC), Params(timestamp_column="t", training_period="400d")).buckets
    counts = flights(days, level=300.0)
    counts[dt.datetime(2026, 12, 25, tzinfo=ZoneInfo("UTC"))] = 0
    load_flights(wh, {b: n for b, n in counts.items() if n})
    res = volume_result(
        project,
        wh,
        "- volume: {timestamp_column: departed_at, training_period: 365d, holidays: US}",
        dt.datetime(2026, 12, 26, 1, tzinfo=UTC),
    )
    assert res.status == "fail" and res.cause == "empty_bucket"
    assert res.diagnosis["message"].startswith("2026-12-25 (Fri) Christmas Day: 0 rows, expected ")
    assert res.evidence["buckets"][0]["baseline"]["holidays"] == 12


@pytest.mark.parametrize("wh", ["duckdb", "postgresql"], indirect=True)
def test_backends_hour_buckets_in_new_york(project, wh):
    """Christmas, 3 a.m. in New York: of the last six hours, those from midnight local are holiday buckets."""
    tz = ZoneInfo("America/New_York")
    params = dict(bucket="hour", timezone="America/New_York", training_period="90d", detection_period="6h")
    now = dt.datetime(2026, 12, 25, 3, 30, tzinfo=tz)
    win = window(now, Params(timestamp_column="t", **params))
    load_flights(wh, flights(win.buckets, level=100.0, hourly=[0.4] * 6 + [1.0] * 18), dt.timedelta(minutes=30))
    check = (
        "- volume: {timestamp_column: departed_at, bucket: hour, timezone: America/New_York, training_period: 90d,"
        " detection_period: 6h, holidays: US}"
    )
    res = volume_result(project, wh, check, now)
    assert res.status == "pass", res.diagnosis
    hours = [(b["bucket"][:13], "holiday" in b) for b in res.observed["buckets"]]
    assert hours == [(f"2026-12-24T{h}", False) for h in (21, 22, 23)] + [(f"2026-12-25T0{h}", True) for h in (0, 1, 2)]
    assert res.diagnosis["message"] == "2026-12-25 Christmas Day: judged against 3 earlier holidays (3 hour buckets)"
