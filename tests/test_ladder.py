"""A request's life (sentinel/notify/ladder.py, issue 11 items 3 and 7): one request per problem, reminders in
the owner's working hours across DST changes, escalation to the backup with the reminder history, the closing
message to everyone asked, relapses, ack and snooze. Time is passed explicitly (`now=`); messages are read
where the real `outbox://` channel delivered them."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from sentinel.config import ConfigError, load_config
from sentinel.notify import ladder
from sentinel.notify.channels import display_url
from sentinel.notify.outbox import configured_channels, dispatch
from sentinel.runner import resolve_incident, run_dataset
from sentinel.store import Store, incident_events, outbox, owner_requests

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


class Life:
    """A project with one dataset `forecast` (not_empty) owned by pete, whose backup is dana; each owner's
    messages land in their own outbox file."""

    def __init__(
        self, root: Path, pete: str = "", dana: str = "", notify: str = "", owner: str = "pete", escalate: str = "30d"
    ):
        self.root = root
        (root / "checks").mkdir(exist_ok=True)
        (root / "config.yaml").write_text(
            textwrap.dedent(f"""
            state: sqlite:///state.db
            sources:
              wh: {{type: sql, url: "sqlite:///wh.db"}}
            owners:
              pete: {{notify: ["outbox://pete.jsonl"], backup: dana{pete}}}
              dana: {{notify: ["outbox://dana.jsonl"]{dana}}}
            notify: {{default: ["outbox://default.jsonl"], remind_after: 4h, escalate_after: {escalate}{notify}}}
            """)
        )
        owned = f"\n    owner: {owner}" if owner else ""
        (root / "checks" / "f.yaml").write_text(
            f"datasets:\n  - name: forecast\n    source: wh\n    table: forecast\n    key: id{owned}\n"
            "    checks:\n      - not_empty: {}\n"
        )
        self.fill(0)
        self.cfg = load_config(root / "config.yaml")
        self.store = Store(self.cfg.state_url)

    def fill(self, rows: int) -> None:
        con = sqlite3.connect(self.root / "wh.db")
        con.execute("CREATE TABLE IF NOT EXISTS forecast (id INTEGER PRIMARY KEY, units INTEGER)")
        con.execute("DELETE FROM forecast")
        con.executemany("INSERT INTO forecast VALUES (?, ?)", [(i, 10) for i in range(rows)])
        con.commit()
        con.close()

    def run(self, now: dt.datetime, rows: int = 0):
        self.fill(rows)
        report = run_dataset(self.cfg, self.store, self.cfg.dataset("forecast"), now=now)
        self.dispatch()
        return report

    def step(self, now: dt.datetime) -> list[str]:
        taken = ladder.step(self.store, self.cfg, now)
        self.dispatch()
        return taken

    def dispatch(self) -> None:
        dispatch(self.store, "test", self.root, configured_channels(self.cfg))

    def got(self, who: str) -> list[dict]:
        path = self.root / f"{who}.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def steps(self, who: str) -> list[str]:
        return [m["step"] for m in self.got(who)]

    def request(self, request_id: int = 1) -> sa.Row:
        with self.store.engine.connect() as conn:
            return conn.execute(sa.select(owner_requests).where(owner_requests.c.id == request_id)).one()


def test_reminders_wait_for_working_hours_across_the_chicago_dst_change(tmp_path):
    """Opened Friday 2026-10-30 16:00 CDT; due 4h later (20:00, after hours); the clocks fall back on Sunday,
    so Monday 08:00 CST is 14:00 UTC (it would be 13:00 under Friday's offset). Three reminders at most."""
    life = Life(tmp_path, pete=", timezone: America/Chicago", notify=", max_reminders: 3")
    life.run(at(2026, 10, 30, 21, 0))
    assert life.steps("pete") == ["notified"]
    assert life.step(at(2026, 10, 31, 15, 0)) == []  # Saturday: due, but outside hours
    assert life.step(at(2026, 11, 2, 13, 59)) == []  # 07:59 CST (08:59 by Friday's offset)
    assert life.step(at(2026, 11, 2, 14, 0)) == ["REQ-1:reminder-1"]
    assert life.step(at(2026, 11, 2, 17, 59)) == []  # the next is 4h later
    assert life.step(at(2026, 11, 2, 18, 0)) == ["REQ-1:reminder-2"]
    assert life.step(at(2026, 11, 3, 9, 0)) == []  # 03:00 CST: due since 16:00 CST yesterday, waits
    assert life.step(at(2026, 11, 3, 14, 0)) == ["REQ-1:reminder-3"]
    assert life.step(at(2026, 11, 9, 15, 0)) == []  # max_reminders reached
    assert life.steps("pete") == ["notified", "reminder-1", "reminder-2", "reminder-3"]
    req = life.request()
    assert (req.state, req.reminders, ladder.next_reminder(life.cfg, req)) == ("reminded", 3, None)
    assert [m["message"]["kind"] for m in life.got("pete")] == ["request", "reminder", "reminder", "reminder"]
    assert all(m["request"] == "REQ-1" and m["message"]["request_id"] == 1 for m in life.got("pete"))


def test_reminders_in_berlin_across_the_spring_forward(tmp_path):
    """Europe/Berlin 2026-03-29 02:00 CET -> 03:00 CEST: Monday 08:00 is 06:00 UTC, no longer 07:00."""
    life = Life(tmp_path, pete=", timezone: Europe/Berlin")
    life.run(at(2026, 3, 27, 16, 0))  # Friday 17:00 CET; due at 21:00, after hours
    assert life.request().next_reminder_at is not None
    assert life.step(at(2026, 3, 30, 5, 59)) == []  # 07:59 CEST
    assert life.step(at(2026, 3, 30, 6, 0)) == ["REQ-1:reminder-1"]


def test_escalation_to_the_backup_with_the_reminders_so_far_then_closing_to_everyone(tmp_path):
    always = ', working_hours: "always"'
    life = Life(tmp_path, pete=always, dana=always, notify=", max_reminders: 2", escalate="1d")
    t0 = at(2026, 12, 1, 9, 0)
    life.run(t0)
    assert life.step(t0 + dt.timedelta(hours=4)) == ["REQ-1:reminder-1"]
    assert life.step(t0 + dt.timedelta(hours=8)) == ["REQ-1:reminder-2"]
    assert life.step(t0 + dt.timedelta(hours=23, minutes=59)) == []
    assert life.got("dana") == []
    assert life.step(t0 + dt.timedelta(days=1)) == ["REQ-1:escalated"]
    assert life.step(t0 + dt.timedelta(days=1, hours=1)) == []  # escalated once
    [escalation] = life.got("dana")
    assert escalation["message"]["kind"] == "escalation" and escalation["step"] == "escalated"
    assert [h["step"] for h in escalation["history"]] == ["notified", "reminder-1", "reminder-2"]
    assert escalation["history"][1]["at"] == (t0 + dt.timedelta(hours=4)).isoformat()
    req = life.request()
    assert (req.state, req.escalated_to) == ("escalated", "dana")
    assert sorted(req.recipients) == ["outbox://dana.jsonl", "outbox://pete.jsonl"]

    report = life.run(t0 + dt.timedelta(days=1, hours=2), rows=39)  # the re-check passes
    assert [c.change for c in report.changes] == ["resolved"] and report.steps == ["closing"]
    assert life.steps("pete") == ["notified", "reminder-1", "reminder-2", "closing"]
    assert life.steps("dana") == ["escalated", "closing"]
    assert life.request().state == "resolved"
    assert life.step(t0 + dt.timedelta(days=3)) == []


def test_a_relapse_in_the_reopen_window_reopens_the_same_request_a_later_one_opens_a_new_one(tmp_path):
    life = Life(tmp_path, pete=', working_hours: "always"')
    t0 = at(2026, 12, 1, 9, 0)
    life.run(t0)
    life.run(t0 + dt.timedelta(hours=1), rows=5)
    life.run(t0 + dt.timedelta(hours=2))  # empty again within 24h: the same incident and request
    assert life.request().state == "notified" and life.request().reopened == 1
    assert life.step(t0 + dt.timedelta(hours=6)) == ["REQ-1:reopened-1.reminder-1"]  # a fresh ladder
    life.run(t0 + dt.timedelta(hours=7), rows=5)
    assert life.steps("pete") == ["notified", "closing", "reopened-1", "reopened-1.reminder-1", "reopened-1.closing"]
    assert life.got("pete")[2]["message"]["kind"] == "reopened"
    life.run(t0 + dt.timedelta(days=2))  # long after: a new incident and a new request
    assert life.steps("pete")[-1] == "notified" and life.got("pete")[-1]["request"] == "REQ-2"
    with life.store.engine.connect() as conn:
        keys = conn.execute(sa.select(outbox.c.key)).scalars().all()
    assert len(keys) == len(set(keys)) == 6


def test_ack_stops_reminders_and_escalation_but_a_pass_still_closes_and_tells(tmp_path):
    life = Life(tmp_path, pete=', working_hours: "always"', dana=', working_hours: "always"', escalate="6h")
    t0 = at(2026, 12, 1, 9, 0)
    report = life.run(t0)
    incident_id = report.changes[0].id
    answer = ladder.ack(
        life.store, str(incident_id), "re-uploading from the master file", now=t0 + dt.timedelta(hours=1)
    )
    assert answer.request_id == 1 and answer.incident_ids == [incident_id]
    assert life.step(t0 + dt.timedelta(days=2)) == []
    assert life.got("dana") == [] and life.steps("pete") == ["notified"]
    events = life.store.get_incident(incident_id)["events"]
    assert events[-1]["event"] == "acknowledged"
    assert events[-1]["detail"] == {"request": "REQ-1", "note": "re-uploading from the master file"}
    life.run(t0 + dt.timedelta(days=2, hours=1), rows=3)
    assert life.steps("pete") == ["notified", "closing"] and life.request().state == "resolved"
    with pytest.raises(ladder.RequestNotFound, match="REQ-1 is resolved"):
        ladder.ack(life.store, "REQ-1", "late")


def test_snooze_holds_reminders_until_then(tmp_path):
    life = Life(tmp_path, pete=', working_hours: "always"')
    t0 = at(2026, 12, 1, 9, 0)
    life.run(t0)
    assert [c.change for c in life.run(t0 + dt.timedelta(minutes=30)).changes] == ["updated"]
    assert life.steps("pete") == ["notified"]  # a repeat of an open problem is not news
    until = t0 + dt.timedelta(hours=10)
    ladder.snooze(life.store, "REQ-1", until, now=t0 + dt.timedelta(hours=1))
    assert life.step(t0 + dt.timedelta(hours=4)) == []
    assert life.step(t0 + dt.timedelta(hours=9, minutes=59)) == []
    assert life.step(until) == ["REQ-1:reminder-1"]
    with life.store.engine.connect() as conn:
        detail = conn.execute(sa.select(incident_events.c.detail).where(incident_events.c.event == "snoozed")).scalar()
    assert detail == {"request": "REQ-1", "until": until.isoformat()}


def test_request_references_are_unambiguous(tmp_path):
    life = Life(tmp_path, pete=', working_hours: "always"')
    life.run(at(2026, 12, 1, 9, 0))
    life.run(at(2026, 12, 1, 10, 0), rows=1)
    life.run(at(2026, 12, 3, 10, 0))  # incident 2, request 2
    with life.store.engine.connect() as conn:
        assert ladder.find(conn, "REQ-2").id == 2 and ladder.find(conn, "req-1").id == 1
        assert ladder.find(conn, "2").id == 2  # incident 2's request
        for bad, words in (("REQ-9", "no request REQ-9"), ("7", "incident 7 has no"), ("x1", "names no request")):
            with pytest.raises(ladder.RequestNotFound, match=words):
                ladder.find(conn, bad)


def test_a_dataset_without_owner_asks_notify_default_and_never_escalates(tmp_path):
    life = Life(tmp_path, owner="")
    life.run(at(2026, 12, 1, 15, 0))  # a Tuesday, inside the default hours (UTC without an owner zone)
    assert life.steps("default") == ["notified"] and life.got("pete") == []
    assert life.step(at(2026, 12, 1, 19, 0)) == []  # due, but after 18:00
    assert life.step(at(2026, 12, 2, 8, 0)) == ["REQ-1:reminder-1"]
    assert life.request().owner is None


def test_an_owner_without_a_channel_is_a_located_config_error(tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "config.yaml").write_text(
        'sources:\n  wh: {type: sql, url: "sqlite:///wh.db"}\nowners:\n  pete: {name: Pete}\n'
    )
    (tmp_path / "checks" / "f.yaml").write_text(
        "datasets:\n  - name: us_forecast_dec_v1\n    source: wh\n    table: t\n    owner: pete\n"
        "    checks:\n      - not_empty: {}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "config.yaml")
    assert [str(i) for i in err.value.issues] == [
        f"{tmp_path / 'checks' / 'f.yaml'}:5: datasets[0].owner: owner 'pete' has no notify channel: "
        "requests for us_forecast_dec_v1 would reach no one"
    ]


def test_bad_working_hours_are_a_located_config_error(tmp_path):
    (tmp_path / "checks").mkdir()
    (tmp_path / "config.yaml").write_text(
        'sources:\n  wh: {type: sql, url: "sqlite:///wh.db"}\nowners:\n  pete:\n    notify: ["console://"]\n'
        '    working_hours: "18:00-08:00 Mon-Fri"\n'
    )
    (tmp_path / "checks" / "f.yaml").write_text(
        "datasets:\n  - name: f\n    source: wh\n    table: t\n    checks:\n      - not_empty: {}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "config.yaml")
    [issue] = err.value.issues
    assert issue.line == 6 and issue.path == "owners.pete.working_hours" and "end after it starts" in issue.message


def test_overlapping_incidents_of_the_demo_are_one_request_closed_when_all_pass(tmp_path):
    """The demo's 25 yen rows are flagged by magnitude, subschema and a range expectation: one request that
    names them all (the subschema's currency diagnosis leads); a hand-resolved one leaves it open; it closes
    when the re-check passes, telling the owner once."""
    from conftest import copy_demo

    from sentinel.demo import break_warehouse, build_warehouse
    from sentinel.runner import run_many

    copy_demo(tmp_path)
    cfg_text = (tmp_path / "config.yaml").read_text()
    sales_ops = '    name: Sales Ops\n    notify: ["outbox://.sentinel/outbox.jsonl"]\n'
    assert sales_ops in cfg_text
    cfg_text = cfg_text.replace(sales_ops, sales_ops.replace(".sentinel/outbox.jsonl", "salesops.jsonl"))
    (tmp_path / "config.yaml").write_text(cfg_text)
    cfg = load_config(tmp_path / "config.yaml")
    warehouse = tmp_path / ".sentinel" / "warehouse.duckdb"
    now = dt.datetime.now(UTC)
    build_warehouse(warehouse, now)
    store = Store(cfg.state_url)
    run_many(cfg, store, ["opportunities"], "healthy")
    break_warehouse(warehouse, now)
    _, [report] = run_many(cfg, store, ["opportunities"], "broken")
    opened = {c.check: c.id for c in report.changes if c.change == "opened"}
    with store.engine.connect() as conn:
        reqs = conn.execute(sa.select(owner_requests)).all()
    by_id = ladder.requests_of(store, cfg, list(opened.values()))
    assert set(by_id) == set(opened.values())  # every opened incident is part of a request
    yen = by_id[opened["magnitude(amount)"]]
    assert by_id[opened["subschema(amount)"]]["id"] == yen["id"]
    assert set(yen["incidents"]) >= {opened["magnitude(amount)"], opened["subschema(amount)"]}
    assert yen["lead_incident_id"] == opened["subschema(amount)"]
    sent = [json.loads(x) for x in (tmp_path / "salesops.jsonl").read_text().splitlines()]
    mine = [m for m in sent if m["request_id"] == yen["id"] and m["message"]["kind"] != "change"]
    assert len(mine) == 1 and mine[0]["step"] == "notified"  # (plus the staged correction's yes/no question)
    assert "magnitude(amount)" in mine[0]["message"]["text"] and "subschema(amount)" in mine[0]["message"]["text"]
    assert len(reqs) == len({r["id"] for r in by_id.values()}) < len(opened)  # fewer requests than incidents

    resolve_incident(store, opened["magnitude(amount)"], "accepted", cfg)
    assert ladder.requests_of(store, cfg, [opened["subschema(amount)"]])[opened["subschema(amount)"]]["state"] == (
        "notified"
    )
    build_warehouse(warehouse, now)
    run_many(cfg, store, ["opportunities"], "fixed")
    after = ladder.requests_of(store, cfg, [opened["subschema(amount)"]])[opened["subschema(amount)"]]
    assert after["state"] == "resolved"
    sent = [json.loads(x) for x in (tmp_path / "salesops.jsonl").read_text().splitlines()]
    asked = [m["step"] for m in sent if m["request_id"] == yen["id"] and m["message"]["kind"] != "change"]
    assert asked == ["notified", "closing"]
    store.close()


def test_cli_ack_snooze_incidents_and_show_carry_the_request(tmp_path):
    from typer.testing import CliRunner

    from sentinel.cli import app

    life = Life(tmp_path, pete=', working_hours: "always", timezone: America/Chicago')
    now = dt.datetime.now(UTC)
    incident_id = life.run(now).changes[0].id

    def cli(*args: str):
        return CliRunner().invoke(app, [*args, "--config", str(tmp_path / "config.yaml")])

    listed = json.loads(cli("incidents", "--json").stdout)
    [item] = listed
    req = item["request"]
    assert (req["ref"], req["state"], req["owner"], req["incidents"]) == ("REQ-1", "notified", "pete", [incident_id])
    assert req["next_reminder_at"] == (now + dt.timedelta(hours=4)).isoformat()
    assert [(m["step"], m["channel"], m["state"], m["attempts"]) for m in req["messages"]] == [
        ("notified", "outbox://pete.jsonl", "sent", 1)
    ]
    shown = cli("incidents")
    assert "REQ-1 notified: asked pete" in shown.stdout and "next reminder" in shown.stdout

    res = cli("snooze", "REQ-1", "--until", "2099-01-05T09:00")  # no offset: the owner's timezone (CST, -6)
    assert res.exit_code == 0, res.output
    assert "snoozed until 2099-01-05 15:00 UTC" in res.stdout
    doc = json.loads(cli("show", str(incident_id), "--json").stdout)
    assert doc["request"]["snoozed_until"] == "2099-01-05T15:00:00+00:00"
    assert doc["request"]["next_reminder_at"] == "2099-01-05T15:00:00+00:00"
    assert cli("snooze", "REQ-1", "--until", "soon").exit_code == 2

    res = cli("ack", str(incident_id), "--note", "re-uploading [bold]now[/]")
    assert res.exit_code == 0 and "REQ-1 acknowledged" in res.stdout
    doc = json.loads(cli("show", str(incident_id), "--json").stdout)
    assert doc["request"]["ack_note"] == "re-uploading [bold]now[/]" and doc["request"]["next_reminder_at"] is None
    assert [e["event"] for e in doc["events"]][-2:] == ["snoozed", "acknowledged"]
    shown = cli("show", str(incident_id)).stdout
    assert "Request" in shown and "re-uploading [bold]now[/]" in shown and "outbox://pete.jsonl" in shown

    missing = cli("ack", "REQ-9", "--note", "x")
    assert missing.exit_code == 2 and "no request REQ-9" in missing.stderr


def test_show_masks_a_password_in_a_channel_url():
    """`show` lists a request's messages with the channel as `display_url` shows it (ladder.describe)."""
    assert display_url("mailtos://pete:hunter2@smtp.example/?to=p@x") == "mailtos://pete:***@smtp.example/?to=p@x"
    assert display_url("outbox://notes.jsonl") == "outbox://notes.jsonl"
