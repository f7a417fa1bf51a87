"""What an owner request says: every kind of message rendered from a real store filled by real runs of the demo
warehouse (healthy, then broken), with request rows inserted by hand (the request life cycle writes them).

Expected numbers come from the warehouse itself (read with DuckDB) or from the store's rows, never from the
composer: the 39 forecast rows, the yen amounts / 150, the baseline run's time, the next half-hour tick.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import sqlalchemy as sa
from conftest import copy_demo

from sentinel import incidents as incident_log
from sentinel.config import load_config
from sentinel.demo import break_warehouse, build_warehouse
from sentinel.notify import problems
from sentinel.notify.compose import render
from sentinel.notify.message import request_key
from sentinel.results import CheckResult
from sentinel.runner import run_many
from sentinel.store import Store, incidents, outbox, owner_requests, request_incidents, runs
from sentinel.terminal import visible

CHICAGO = ZoneInfo("America/Chicago")
BERLIN = ZoneInfo("Europe/Berlin")
SHEET_ID = "1AbCsopSheet"


def _configure(root: Path) -> None:
    """The demo config (Pete's sheet is the origin of the forecast table), with a short sheet id and the
    backup in another zone."""
    cfg = (root / "config.yaml").read_text()
    assert "spreadsheet: 1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-sopUS\n" in cfg
    cfg = cfg.replace("spreadsheet: 1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-sopUS\n", f"spreadsheet: {SHEET_ID}\n")
    dana = '    name: Dana (Finance lead)\n    notify: ["outbox://.sentinel/outbox.jsonl"]\n'
    dana += "    timezone: America/Chicago\n"
    assert dana in cfg
    cfg = cfg.replace(dana, dana.replace("America/Chicago", "Europe/Berlin"))
    (root / "config.yaml").write_text(cfg)
    assert "origin: {source: sop_sheet, worksheet: Forecast_US" in (root / "checks" / "forecast.yaml").read_text()


class World:
    def __init__(self, root: Path):
        self.root = root
        self.cfg = load_config(root / "config.yaml")
        self.store = Store(self.cfg.state_url)
        self.warehouse = root / ".sentinel" / "warehouse.duckdb"

    def run(self, uid: str) -> None:
        run_many(self.cfg, self.store, [d.name for d in self.cfg.datasets], uid)

    def sql(self, query: str, *params):
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(query, list(params)).fetchall()
        finally:
            con.close()

    def incident(self, key: str, open_only: bool = True):
        with self.store.engine.connect() as conn:
            q = sa.select(incidents).where(incidents.c.key == key).order_by(incidents.c.id.desc())
            if open_only:
                q = q.where(incidents.c.open_fingerprint.is_not(None))
            return conn.execute(q).first()

    def request(self, dataset: str, owner: str, incident_ids: list[int], now: dt.datetime, **values) -> int:
        """A request row as the life cycle would write it (state notified at `now`)."""
        row = {
            "key": f"req-{dataset}",
            "dataset": dataset,
            "owner": owner,
            "state": "notified",
            "lead_incident_id": incident_ids[0],
            "opened_at": now,
            "updated_at": now,
            "notified_at": now,
            "reminders": 0,
            "reopened": 0,
            "version": 0,
            "recipients": [],
        }
        with self.store.engine.begin() as conn:
            # an incident belongs to one request: each test's request takes them over
            conn.execute(request_incidents.delete().where(request_incidents.c.incident_id.in_(incident_ids)))
            rid = conn.execute(
                owner_requests.insert().values(**{**row, **values}).returning(owner_requests.c.id)
            ).scalar_one()
            conn.execute(
                request_incidents.insert(),
                [{"request_id": rid, "incident_id": i, "added_at": now} for i in incident_ids],
            )
        return rid

    def render(self, rid: int, kind: str, now: dt.datetime, **kw):
        with self.store.engine.begin() as conn:
            return render(conn, self.cfg, rid, kind, now, **kw)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    """The demo, healthy then broken, with an earlier forecast outage resolved by hand three days ago."""
    root = tmp_path_factory.mktemp("compose")
    copy_demo(root)
    _configure(root)
    w = World(root)
    now = dt.datetime.now(dt.UTC)
    build_warehouse(w.warehouse, now)
    w.healthy_rows = w.sql("SELECT count(*) FROM us_forecast_dec_v1")[0][0]
    w.run("base")
    # an earlier outage of the same check, opened and resolved by hand (through the incident code, at its time)
    w.earlier_opened = now - dt.timedelta(days=3)
    w.earlier_resolved = w.earlier_opened + dt.timedelta(hours=1, minutes=40)
    with w.store.engine.begin() as conn:
        down = CheckResult("us_forecast_dec_v1", "not_empty", "not_empty", "fail", "error", observed=0, cause="empty")
        (change,) = incident_log.apply(conn, 0, [down], w.earlier_opened)
        incident_log.resolve_manually(conn, change.id, "re-uploaded from the master file", w.earlier_resolved)
    break_warehouse(w.warehouse, now)
    w.run("broken")
    with w.store.engine.connect() as conn:
        w.base_started = conn.execute(
            sa.select(runs.c.started_at).where(runs.c.run_uid == "base:us_forecast_dec_v1")
        ).scalar_one()
    return w


def _forecast_request(world: World, now: dt.datetime, **values) -> tuple[int, list]:
    found = [
        world.incident("us_forecast_dec_v1/not_empty/empty"),
        world.incident("us_forecast_dec_v1/freshness/no_data"),
    ]
    return world.request("us_forecast_dec_v1", "pete", [i.id for i in found], now, **values), found


def _yen_request(world: World, now: dt.datetime) -> tuple[int, list]:
    keys = [
        "opportunities/magnitude(amount)/magnitude",
        "opportunities/subschema(amount)/unit_shift",
        "opportunities/expect_column_values_to_be_between(amount)/violation",
    ]
    found = [world.incident(k) for k in keys]
    return world.request("opportunities", "sales_ops", [i.id for i in found], now), found


def _hhmm(at: dt.datetime, tz: ZoneInfo) -> str:
    return at.replace(tzinfo=at.tzinfo or dt.UTC).astimezone(tz).strftime("%H:%M")


def test_petes_empty_forecast_names_the_sheet_tab_rows_and_what_it_holds_now(world):
    now = dt.datetime(2026, 11, 30, 16, 10, tzinfo=dt.UTC)  # 10:10 in Chicago
    rid, found = _forecast_request(world, now)
    origin = {"rows": 0, "modified_at": "2026-11-30T15:12:00Z"}
    msg = world.render(rid, "request", now, origin=origin)

    assert msg.kind == "request" and msg.request_id == rid
    assert "us_forecast_dec_v1" in msg.subject and f"REQ-{rid}" in msg.subject and "\n" not in msg.subject
    text = msg.text
    assert f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit" in text
    assert "tab Forecast_US" in text and "range A1:F200" in text
    # header row 1 of A1:F200, then as many data rows as the healthy table had
    rows_span = f"rows 2-{1 + world.healthy_rows}"
    assert rows_span in text
    # what the sheet holds now, in Pete's zone: 15:12 UTC is 09:12 CST
    assert "the sheet tab Forecast_US has 0 data rows since 09:12 CST (the file's last change)" in text
    assert f"it had {world.healthy_rows} at the last good run" in text
    assert f"it had {world.healthy_rows} rows at the last good run, " in text
    assert _hhmm(world.base_started, CHICAGO) in text
    # the action follows the cause (empty: re-upload), and it names the rows
    assert f"Please re-upload the sheet tab Forecast_US ({rows_span}) from your master file." in text
    # the schedule is every 30 minutes: next check after 16:10 UTC is 16:30 UTC, 10:30 CST
    assert "I re-check at 10:30 CST your time and close this when it passes." in text
    for inc in found:
        assert inc.key in text
    assert f"REQ-{rid}" in text
    # memory: the context notes and how the last outage of this check ended
    assert "he sometimes overwrites it at month end" in text
    assert "resolved by hand: re-uploaded from the master file; fixed within 1 h 40 min" in text
    assert "  Last time:\n" in text
    # the HTML carries the same facts, the sheet as a link
    assert f'<a href="https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit">' in msg.html
    assert "0 data rows since 09:12 CST" in msg.html and rows_span in msg.html


def test_origin_read_failure_is_said_and_no_origin_means_no_now_sentence(world):
    now = dt.datetime(2026, 11, 30, 16, 10, tzinfo=dt.UTC)
    rid, _ = _forecast_request(world, now)
    failed = world.render(rid, "request", now, origin={"error": "Sheets API: 403 PERMISSION_DENIED"}).text
    assert "I could not read it just now: Sheets API: 403 PERMISSION_DENIED" in failed
    plain = world.render(rid, "request", now).text
    assert "Now:" not in plain and "data rows since" not in plain
    assert "tab Forecast_US" in plain  # the origin is named from the config alone


def test_the_yen_rows_are_one_request_led_by_the_currency(world):
    now = dt.datetime(2026, 11, 30, 16, 10, tzinfo=dt.UTC)
    rid, found = _yen_request(world, now)
    # the three incidents overlap on flagged keys: one problem
    for a in found:
        assert all(problems.belongs_with(a.last_result, b.last_result) for b in found)
    assert problems.lead(found).key == "opportunities/subschema(amount)/unit_shift"
    assert problems.explained_rows(found[1].last_result) > problems.explained_rows(found[0].last_result) >= 1

    msg = world.render(rid, "request", now)
    text = msg.text
    lines = text.splitlines()
    what = lines.index("What is wrong:")
    assert "subschema(amount)" in lines[what + 1]  # the lead comes first
    for name in ("subschema(amount)", "magnitude(amount)", "expect_column_values_to_be_between(amount)"):
        assert name in text
    # candidates: the yen amount / 150 (the demo's JPY factor), read back from the warehouse
    (yen,) = world.sql("SELECT amount FROM opportunities WHERE id = '0060000001'")[0]
    assert f"0060000001: {yen:,.0f}" in text and f"candidate {yen / 150:,.0f} (if JPY: / 150)" in text
    # the fat-fingered deal is listed too, with its x / 10 candidate
    (fat,) = world.sql("SELECT amount FROM opportunities WHERE id = '0060000777'")[0]
    assert f"0060000777: {fat:,.0f}" in text and f"candidate {fat / 10:,.0f} (/ 10^1)" in text
    # capped, with where the rest is
    distinct = set().union(*(problems.flagged_keys(i.last_result) for i in found))
    assert f"Rows ({len(distinct)}):" in text
    assert f"and {len(distinct) - 10} more: the full list is in `sentinel show " in text
    assert "Please re-enter each amount listed in the currency its row is labelled with" in text
    # Sales Ops are in New York; the dataset runs at minute 0 on weekdays (Mon 30 Nov 2026 17:00 UTC = 12:00 EST)
    assert "I re-check at 12:00 EST your time" in text
    assert "Times are in America/New_York." in text


def test_reminder_says_which_and_when_first_sent(world):
    first = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
    now = dt.datetime(2026, 11, 30, 19, 0, tzinfo=dt.UTC)
    rid, _ = _forecast_request(world, first, reminders=1, last_reminded_at=now)
    msg = world.render(rid, "reminder", now)
    assert msg.kind == "reminder" and msg.subject.startswith("[sentinel] Reminder: ")
    assert f"Reminder 1 of {world.cfg.main.notify.max_reminders}: I first asked on 09:00 CST" in msg.text
    # not yet counted on the row: this is the next one
    rid2, _ = _forecast_request(world, first, reminders=1, last_reminded_at=first)
    assert "Reminder 2 of " in world.render(rid2, "reminder", now).text
    assert "tab Forecast_US" in msg.text  # the same request follows


def test_escalation_goes_to_the_backup_in_their_zone_with_the_history(world):
    first = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
    now = dt.datetime(2026, 12, 1, 15, 5, tzinfo=dt.UTC)
    rid, _ = _forecast_request(world, first, reminders=2, state="reminded")
    url = "mailto://pete@acme.example"
    reminded = [first + dt.timedelta(hours=4), first + dt.timedelta(hours=6)]
    with world.store.engine.begin() as conn:
        for n, at in enumerate(reminded, 1):
            conn.execute(
                outbox.insert().values(
                    key=request_key(rid, f"reminder-{n}", url),
                    channel=url,
                    payload={},
                    created_at=at,
                    state="sent",
                    attempts=1,
                    request_id=rid,
                )
            )
    msg = world.render(rid, "escalation", now, to_backup=True)
    text = msg.text
    assert "Hello Dana (Finance lead)," in text
    assert "You are Pete (Finance)'s backup." in text
    # every time in Dana's zone (Berlin, CET): 15:00 UTC is 16:00 CET
    assert "asked Pete (Finance) at Mon 30 Nov 16:00 CET" in text
    for n, at in enumerate(reminded, 1):
        assert f"reminder {n} sent to Pete (Finance) at {at.astimezone(BERLIN):%a %d %b %H:%M} CET" in text
    assert "  - no answer" in text
    assert "I re-check at 16:30 CET your time" in text
    assert "Times are in Europe/Berlin." in text
    assert "tab Forecast_US" in text and "Please re-upload" in text


def test_reopened_says_when_it_broke_again(world):
    now = dt.datetime(2026, 11, 30, 16, 10, tzinfo=dt.UTC)
    rid, found = _forecast_request(world, now)
    latest = max(i.updated_at for i in found)
    msg = world.render(rid, "reopened", now)
    assert msg.subject.startswith("[sentinel] Broke again: ")
    (line,) = [ln for ln in msg.text.splitlines() if ln.startswith("It broke again at ")]
    assert f"{_hhmm(latest, CHICAGO)} CST." in line
    assert f"This is the same request as before (REQ-{rid})." in msg.text


def test_closing_names_the_numbers_of_the_passing_recheck(tmp_path):
    copy_demo(tmp_path)
    _configure(tmp_path)
    w = World(tmp_path)
    now = dt.datetime.now(dt.UTC)
    build_warehouse(w.warehouse, now)
    w.run("base")
    break_warehouse(w.warehouse, now)
    w.run("broken")
    found = [w.incident("us_forecast_dec_v1/not_empty/empty"), w.incident("us_forecast_dec_v1/freshness/no_data")]
    rid = w.request("us_forecast_dec_v1", "pete", [i.id for i in found], now)
    con = duckdb.connect(str(w.warehouse))  # the owner re-uploads: 12 rows this time
    con.execute("INSERT INTO us_forecast_dec_v1 VALUES (2, 'West', 'SKU-1', 10, 100.5, now())")
    con.execute("INSERT INTO us_forecast_dec_v1 SELECT i, 'East', 'SKU-2', 5, 10.25, now() FROM range(3, 14) t(i)")
    con.close()
    w.run("fixed")
    back = w.sql("SELECT count(*) FROM us_forecast_dec_v1")[0][0]
    fixed_at = now + dt.timedelta(minutes=3)
    with w.store.engine.begin() as conn:
        conn.execute(
            owner_requests.update().where(owner_requests.c.id == rid).values(state="resolved", resolved_at=fixed_at)
        )
    msg = w.render(rid, "closing", fixed_at)
    assert msg.subject.startswith("[sentinel] Fixed: us_forecast_dec_v1 is fixed")
    assert f"Confirmed fixed at {_hhmm(fixed_at, CHICAGO)} " in msg.text
    assert f": {back} rows back; " in msg.text and "thank you" in msg.text
    assert "What I ask" not in msg.text and "What was wrong:" in msg.text


@pytest.fixture
def hostile(tmp_path) -> World:
    """A dataset whose keys and labels are hostile: markup, a forged line, Jinja syntax, a terminal escape."""
    wh = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE deals (id VARCHAR, currency VARCHAR)")
    con.executemany(
        "INSERT INTO deals VALUES (?, ?)",
        [
            ("<script>alert(1)</script>", "EUR"),
            ("k2\nincident #9 resolved", "{{ 7*7 }}"),
            ("k3", "\x1b]0;pwned\x07"),
            ("k4", "https://evil.example/phish"),
            ("ok", "USD"),
        ],
    )
    con.close()
    (tmp_path / "config.yaml").write_text(
        textwrap.dedent(
            f"""
            state: sqlite:///{tmp_path / "state.db"}
            sources:
              wh: {{type: sql, url: "duckdb:///{wh}"}}
              crm: {{type: salesforce, production: {{instance_url: "https://acme.my.salesforce.com"}}}}
            owners:
              ann: {{name: "Ann <b>Ops</b>", notify: ["console://"], timezone: Europe/Berlin}}
            """
        )
    )
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "deals.yaml").write_text(
        textwrap.dedent(
            """
            datasets:
              - name: deals
                source: wh
                table: deals
                key: id
                owner: ann
                origin: {source: crm, object: Opportunity, key: id}
                context: "Typed by hand. <i>Careful</i> {{ config }}"
                checks:
                  - expect: {type: expect_column_values_to_be_in_set, kwargs: {column: currency, value_set: [USD]}}
            """
        )
    )
    w = World(tmp_path)
    w.warehouse = wh
    w.run("h")
    return w


def test_hostile_values_are_escaped_in_html_one_line_in_text_and_never_templates(hostile):
    inc = hostile.incident("deals/expect_column_values_to_be_in_set(currency)/violation")
    # the source annotates each row with its origin; one link is Google's, one is not
    last = dict(inc.last_result)
    items = last["evidence"]["rows"]["items"]
    by_key = {i["key"]: i for i in items}
    by_key["k3"]["origin"] = {"cells": "Deals!A4:B4", "url": "https://evil.example/steal"}
    by_key["k4"]["origin"] = {"cells": "Deals!A5:B5", "url": "https://docs.google.com/spreadsheets/d/x/edit#gid=0"}
    record = "https://acme.my.salesforce.com/lightning/r/Opportunity/006A/view"
    by_key["k2\nincident #9 resolved"]["origin"] = {"record": "006A", "url": record}
    lookalike = "https://acme.my.salesforce.com.evil.example/lightning/r/Opportunity/006B/view"
    by_key["<script>alert(1)</script>"]["origin"] = {"record": "006B", "url": lookalike}
    with hostile.store.engine.begin() as conn:
        conn.execute(incidents.update().where(incidents.c.id == inc.id).values(last_result=last))
    now = dt.datetime(2026, 11, 30, 16, 10, tzinfo=dt.UTC)
    rid = hostile.request("deals", "ann", [inc.id], now)
    msg = hostile.render(rid, "request", now)

    # HTML: markup from the data is text, the only links are Google's and none from a value
    assert "<script>" not in msg.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in msg.html
    assert "Ann &lt;b&gt;Ops&lt;/b&gt;" in msg.html and "&lt;i&gt;Careful&lt;/i&gt;" in msg.html
    hrefs = re.findall(r'href="([^"]*)"', msg.html)
    assert sorted(hrefs) == sorted(["https://docs.google.com/spreadsheets/d/x/edit#gid=0", record])
    assert "https://evil.example/phish" in msg.html and "Deals!A4:B4" in msg.html and "006B" in msg.html
    assert "Salesforce (source crm), object <strong>Opportunity</strong>" in msg.html
    # text: a value is one line, control characters visible
    assert "\x1b" not in msg.text and "\x07" not in msg.text and "\\x1b]0;pwned\\x07" in msg.text
    assert "k2\\nincident #9 resolved" in msg.text
    assert not any(line.startswith("incident #9") for line in msg.text.splitlines())
    # Jinja syntax in a value or the context is shown, not evaluated
    for body in (msg.text, msg.html):
        assert "{{ 7*7 }}" in body and "{{ config }}" in body
        assert "49" not in re.sub(r"\b\d\d:\d\d\b", "hh:mm", body)  # a clock time may hold 49 (06:49)
    assert "\n" not in msg.subject and "\n" not in msg.summary


def test_values_are_shown_exactly_as_the_evidence_holds_them(hostile):
    """Exact evidence (decimals as strings) is shown to the last digit; text that looks numeric stays text."""
    inc = hostile.incident("deals/expect_column_values_to_be_in_set(currency)/violation")
    last = dict(inc.last_result)
    items = last["evidence"]["rows"]["items"]
    items[0]["value"], items[0]["candidate"] = "12345678.9", "1234567.89"
    items[1]["value"] = "00123"
    with hostile.store.engine.begin() as conn:
        conn.execute(incidents.update().where(incidents.c.id == inc.id).values(last_result=last))
    now = dt.datetime(2026, 11, 30, 16, 10, tzinfo=dt.UTC)
    text = hostile.render(hostile.request("deals", "ann", [inc.id], now), "request", now).text
    assert f"{visible(items[0]['key'])}: 12,345,678.9, candidate 1,234,567.89" in text
    assert f"{visible(items[1]['key'])}: 00123" in text


def test_salesforce_origin_count_now(hostile):
    inc = hostile.incident("deals/expect_column_values_to_be_in_set(currency)/violation")
    now = dt.datetime(2026, 11, 30, 16, 10, tzinfo=dt.UTC)
    rid = hostile.request("deals", "ann", [inc.id], now)
    text = hostile.render(rid, "request", now, origin={"rows": 1234567}).text
    assert "Comes from: Salesforce (source crm), object Opportunity" in text
    assert "Now: Opportunity has 1,234,567 records now" in text
    assert "Please correct the rows listed in the Opportunity records." in text


def test_on_equal_explained_rows_a_currency_leads_over_a_digit_count():
    """One row explained by a currency, one by x / 10^k (which also flags a second row): the currency leads."""

    class Inc:
        def __init__(self, id_: int, last_result: dict):
            self.id, self.last_result = id_, last_result

    digits = Inc(
        1,
        {
            "evidence": {
                "rows": {
                    "count": 2,
                    "items": [
                        {"key": "a", "value": 1000, "diagnosis": {"k": 1, "candidate": 100}},
                        {"key": "b", "value": 5},
                    ],
                }
            }
        },
    )
    currency = Inc(
        2,
        {
            "evidence": {
                "modes": [
                    {
                        "label": "USD",
                        "factor": {"factor": 150.0, "label": "JPY", "kind": "currency"},
                        "rows": {"count": 1, "items": [{"key": "a", "value": 1000, "candidate": 6.67}]},
                    }
                ]
            }
        },
    )
    assert problems.explained_rows(digits.last_result) == problems.explained_rows(currency.last_result) == 1
    assert problems.belongs_with(digits.last_result, currency.last_result)
    assert problems.lead([digits, currency]) is currency
    assert problems.lead([currency, digits]) is currency
