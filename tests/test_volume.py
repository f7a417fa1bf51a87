"""`volume`: the bucket statistics on in-memory series (including property-based clean data), then the
whole check through DuckDB, SQLite (timestamps stored as text) and PostgreSQL (timestamptz)."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from conftest import by_check
from hypothesis import given, settings
from hypothesis import strategies as st

from sentinel.checks.volume import Params, bucket_start, judge, window

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 26, 15, 30, tzinfo=UTC)  # a Thursday afternoon


def series(win, level=1000.0, weekend=1.0, noise=0.03, seed=0, override=None):
    rng = random.Random(seed)
    counts = {}
    for b in win.buckets:
        mean = level * (weekend if b.weekday() >= 5 else 1.0)
        counts[b] = max(0, round(mean * (1 + rng.gauss(0, noise))))
    counts.update(override or {})
    return counts


def run(counts, win, p, known=(), first=dt.datetime(2020, 1, 1, tzinfo=UTC)):
    return judge(counts, win, p, set(known), first)


def test_clean_weekly_series_raises_nothing():
    p = Params(timestamp_column="t")
    win = window(NOW, p)
    assert len(win.buckets) == 58 and win.n_detect == 2
    assert win.end == dt.datetime(2026, 11, 26, tzinfo=ZoneInfo("UTC"))  # today is incomplete
    flagged, checked = run(series(win, weekend=0.4), win, p)
    assert flagged == [] and len(checked) == 2
    assert checked[0]["baseline"]["seasonality"] == "day_of_week" and checked[0]["baseline"]["points"] == 8


def test_weekend_dip_needs_seasonality():
    now = dt.datetime(2026, 11, 23, 12, tzinfo=UTC)  # Monday: Saturday and Sunday are the detection period
    weekly = Params(timestamp_column="t")
    flat = Params(timestamp_column="t", seasonality="none")
    win = window(now, weekly)
    counts = series(win, weekend=0.4)
    assert run(counts, win, weekly)[0] == []
    flagged, _ = run(counts, win, flat)
    assert {f["reason"] for f in flagged} == {"drop"} and len(flagged) == 2


@pytest.mark.parametrize("factor,reason", [(0.0, "zero rows"), (0.4, "drop"), (3.0, "spike")])
def test_anomalies_are_named_with_count_range_and_score(factor, reason):
    p = Params(timestamp_column="t")
    win = window(NOW, p)
    day = win.buckets[-1]
    counts = series(win)
    counts[day] = round(1000 * factor)
    (f,) = run(counts, win, p)[0]
    assert f["bucket"] == day.isoformat() and f["reason"] == reason and f["count"] == round(1000 * factor)
    assert f["low"] < 1000 < f["high"] and 900 < f["expected"] < 1100
    assert (f["score"] < -3.5) if factor < 1 else (f["score"] > 3.5)


def test_direction_and_min_change():
    win = window(NOW, Params(timestamp_column="t"))
    counts = series(win, noise=0.002)  # a very steady series: the MAD alone would flag 3% moves
    counts[win.buckets[-1]] = round(counts[win.buckets[-1]] * 1.6)
    counts[win.buckets[-2]] = round(counts[win.buckets[-2]] * 0.97)
    assert [f["reason"] for f in run(counts, win, Params(timestamp_column="t"))[0]] == ["spike"]
    assert run(counts, win, Params(timestamp_column="t", direction="drop"))[0] == []
    assert run(counts, win, Params(timestamp_column="t", min_change=0.7))[0] == []


def test_known_incidents_stay_out_of_the_baseline():
    p = Params(timestamp_column="t")
    win = window(NOW, p)
    counts = series(win)
    outage = [b for b in win.buckets[:-2] if b.weekday() == win.buckets[-1].weekday()][-5:]
    for b in outage:  # five of the eight same weekdays were already an outage
        counts[b] = 0
    counts[win.buckets[-1]] = 0
    assert run(counts, win, p)[0] == []  # the outage poisoned the baseline
    flagged, _ = run(counts, win, p, known=[b.isoformat() for b in outage])
    assert [f["reason"] for f in flagged] == ["zero rows"]


def test_a_young_table_is_not_compared_with_days_before_it_existed():
    p = Params(timestamp_column="t")
    win = window(NOW, p)
    first = win.buckets[-3]  # two complete days of history before the detection period... none, really
    counts = {b: (1000 if b >= first else 0) for b in win.buckets}
    flagged, checked = run(counts, win, p, first=first)
    assert flagged == [] and "zero rows is the only test" in checked[0]["note"]
    counts[win.buckets[-1]] = 0
    assert [f["reason"] for f in run(counts, win, p, first=first)[0]] == ["zero rows"]


def test_daylight_saving_day_is_one_local_day():
    tz = ZoneInfo("America/Chicago")
    p = Params(timestamp_column="t", timezone="America/Chicago", seasonality="none")
    now = dt.datetime(2026, 11, 3, 12, tzinfo=tz)  # DST ended on Sunday 2026-11-01: that day had 25 hours
    win = window(now, p)
    assert [b.date().isoformat() for b in win.buckets[-2:]] == ["2026-11-01", "2026-11-02"]
    assert win.buckets[-2].utcoffset() == dt.timedelta(hours=-5) and win.buckets[-1].utcoffset() == dt.timedelta(
        hours=-6
    )
    # one row per hour, bucketed the way the check does it: 25 on the long day, 24 otherwise
    counts: dict = {}
    hour = win.buckets[0].astimezone(UTC)
    while hour < win.end:
        key = bucket_start(hour, "day", tz)
        counts[key] = counts.get(key, 0) + 1
        hour += dt.timedelta(hours=1)
    assert counts[win.buckets[-2]] == 25 and counts[win.buckets[-1]] == 24
    assert run(counts, win, p)[0] == []


@settings(max_examples=60, deadline=None)
@given(
    level=st.floats(30, 1e6),
    noise=st.floats(0, 0.08),
    weekend=st.floats(0.2, 1.0),
    seed=st.integers(0, 10**6),
    bucket=st.sampled_from(["day", "hour"]),
)
def test_clean_series_of_many_shapes_raise_nothing(level, noise, weekend, seed, bucket):
    p = Params(timestamp_column="t", bucket=bucket, seasonality="day_of_week" if bucket == "day" else "hour_of_day")
    win = window(NOW, p)
    assert (
        run(series(win, level=level, weekend=weekend if bucket == "day" else 1.0, noise=noise, seed=seed), win, p)[0]
        == []
    )


# --- through the backends ------------------------------------------------------------------------------------


def load_events(wh, days: int, missing_day: int | None = None, per_day: int = 48):
    """`per_day` events a day (every 30 min) for the last `days` days, one day optionally missing."""
    ts_type = {"sqlite": "TEXT", "postgresql": "TIMESTAMPTZ", "duckdb": "TIMESTAMP"}[wh.name]
    wh.execute("DROP TABLE IF EXISTS events")
    wh.execute(f"CREATE TABLE events (id INTEGER, created_at {ts_type})")
    today = dt.datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows, i = [], 0
    for d in range(days, -1, -1):
        if d == missing_day:
            continue
        for k in range(per_day):
            t = today - dt.timedelta(days=d) + dt.timedelta(minutes=30 * k)
            if t > dt.datetime.now(UTC):
                break
            value = t.isoformat() if wh.name == "sqlite" else (t if wh.name == "postgresql" else t.replace(tzinfo=None))
            rows.append({"id": i, "t": value})
            i += 1
    wh.execute("INSERT INTO events VALUES (:id, :t)", rows)


def configure(project, wh):
    project.dataset(
        wh,
        """
        - volume: {timestamp_column: created_at, bucket: day, seasonality: none}
        """,
        table="events",
    )


def test_backends_clean_then_missing_day(project, wh):
    load_events(wh, days=40)
    configure(project, wh)
    code, doc = project.run_json()
    vol = by_check(doc)["volume"]
    assert code == 0 and vol["status"] == "pass", vol
    assert [b["count"] for b in vol["observed"]["buckets"]] == [48, 48]

    load_events(wh, days=40, missing_day=1)  # yesterday never arrived
    code, doc = project.run_json()
    vol = by_check(doc)["volume"]
    assert code == 1 and vol["diagnosis"]["cause"] == "empty_bucket"
    (b,) = vol["evidence"]["buckets"]
    yesterday = (dt.datetime.now(UTC) - dt.timedelta(days=1)).date().isoformat()
    assert b["bucket"].startswith(yesterday) and b["count"] == 0 and b["expected"] == pytest.approx(48)
    assert "0 rows, expected 48" in vol["diagnosis"]["message"]
    # the flagged day is remembered: next runs keep it out of the baseline
    code, doc = project.run_json()
    assert by_check(doc)["volume"]["status"] == "fail"


def test_backends_empty_table(project, wh):
    load_events(wh, days=0)
    wh.execute("DELETE FROM events")
    configure(project, wh)
    code, doc = project.run_json()
    assert code == 1 and by_check(doc)["volume"]["diagnosis"]["cause"] == "empty"


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_the_hour_bucket_sends_its_unit_and_zone_as_literals(project, request, tmp_path, backend):
    """The bucket expression is selected and grouped by: its unit ('hour') and, on an aware column, its zone
    ('UTC') are SQL literals in the statement the driver gets, not parameters (two `?` under qmark are two
    parameters, which Trino's analyzer need not see as one expression). PostgreSQL's column is timestamptz.
    The golden files pin the same text for Trino, Snowflake and BigQuery."""
    import sqlalchemy as sa
    from backends import make

    wh = make(backend, tmp_path, request.getfixturevalue("pg_schema") if backend == "postgresql" else None)
    load_events(wh, days=10)
    configure(project, wh)
    sent: list[tuple[str, object]] = []

    def seen(_conn, _cursor, statement, parameters, *_args):
        if "date_trunc" in statement:
            sent.append((" ".join(statement.split()), parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", seen)
    try:
        code, doc = project.run_json()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", seen)
    assert code == 0 and by_check(doc)["volume"]["status"] == "pass", doc
    ((sql, params),) = sent
    bucket = "date_trunc('hour', timezone('UTC', " if backend == "postgresql" else "date_trunc('hour', CAST("
    assert sql.count(bucket) == 2 and " GROUP BY " + bucket in sql, sql  # selected and grouped by, as literals
    # DuckDB gets the statement as literal SQL (no parameters at all); PostgreSQL binds the window's bounds only
    values = list(params.values()) if isinstance(params, dict) else list(params or ())
    assert "hour" not in values and "UTC" not in values and len(values) == (2 if backend == "postgresql" else 0)
