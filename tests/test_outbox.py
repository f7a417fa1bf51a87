"""The notification outbox: rows written with the incident change, claimed by one dispatcher, delivered to a
JSONL file exactly once even when a dispatcher dies between delivering and recording; delivered only to channels
the config names, and outbox files only under the config folder."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import sqlalchemy as sa

from sentinel.incidents import Change
from sentinel.notify import channels
from sentinel.notify.channels import outbox_file
from sentinel.notify.outbox import dispatch, enqueue
from sentinel.store import Store, outbox

NOTES = ["outbox://notes.jsonl"]


def changes(n: int) -> list[Change]:
    return [
        Change(i, f"deals/check{i}/violation", "deals", f"check{i}", "open", "opened", "error", "x") for i in range(n)
    ]


def test_enqueue_only_news_and_each_change_once_per_recipient(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    now = dt.datetime.now(dt.UTC)
    updated = Change(9, "deals/c/violation", "deals", "c", "open", "updated", "error", "again")
    store.transaction(
        lambda conn: enqueue(conn, [*changes(2), updated], ["outbox://a.jsonl", "console://"], "run-1", now)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.key, outbox.c.channel)).all()
    assert len(rows) == 4 and len({r.key for r in rows}) == 4  # two changes x two channels; "updated" is not news


def test_a_dispatcher_dying_after_delivery_does_not_duplicate(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    now = dt.datetime.now(dt.UTC)
    store.transaction(lambda conn: enqueue(conn, changes(3), ["outbox://notes.jsonl"], "run-1", now))
    with store.engine.connect() as conn:
        first = conn.execute(sa.select(outbox).order_by(outbox.c.id).limit(1)).one()
    # a dispatcher delivered the first row and died before recording it (and its claim went stale)
    channels.deliver(first.channel, first.key, first.payload, tmp_path)
    outbox_file._SEEN.clear()  # a new process knows only what the file says
    assert dispatch(store, "second", tmp_path, NOTES) == 3
    lines = [json.loads(x) for x in (tmp_path / "notes.jsonl").read_text().splitlines()]
    assert sorted(x["incident_id"] if "incident_id" in x else x["id"] for x in lines) == [0, 1, 2]
    assert len({x["idempotency_key"] for x in lines}) == 3
    assert dispatch(store, "third", tmp_path, NOTES) == 0  # nothing pending any more


def test_concurrent_dispatchers_send_each_row_once(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    now = dt.datetime.now(dt.UTC)
    store.transaction(lambda conn: enqueue(conn, changes(60), ["outbox://notes.jsonl"], "run-1", now))
    sent: list[int] = []
    threads = [
        threading.Thread(target=lambda i=i: sent.append(dispatch(store, f"d{i}", tmp_path, NOTES, limit=7)))
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while dispatch(store, "rest", tmp_path, NOTES):
        pass
    lines = (tmp_path / "notes.jsonl").read_text().splitlines()
    assert len(lines) == 60 and len({json.loads(x)["idempotency_key"] for x in lines}) == 60


def test_unknown_channels_are_kept_not_dropped(tmp_path):
    """A scheme neither Sentinel nor apprise knows: the row stays, as `unsupported`, with the reason."""
    unknown = ["carrier-pigeon://loft/7"]
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.transaction(lambda conn: enqueue(conn, changes(1), unknown, "r", dt.datetime.now(dt.UTC)))
    assert dispatch(store, "d", tmp_path, unknown) == 0
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(outbox)).one()
    assert row.state == "unsupported" and "carrier-pigeon://" in row.last_error
    assert dispatch(store, "again", tmp_path, unknown) == 0  # kept, not retried


def test_the_target_comes_from_the_config_not_from_the_state_store(tmp_path):
    """A state store row edited to name another file (or a channel the config no longer has) is not delivered."""
    root = tmp_path / "project"
    root.mkdir()
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.transaction(lambda conn: enqueue(conn, changes(3), NOTES, "run-1", dt.datetime.now(dt.UTC)))
    with store.engine.begin() as conn:
        ids = conn.execute(sa.select(outbox.c.id).order_by(outbox.c.id)).scalars().all()
        conn.execute(outbox.update().where(outbox.c.id == ids[0]).values(channel="outbox://../stolen.jsonl"))
        conn.execute(outbox.update().where(outbox.c.id == ids[1]).values(channel="outbox://other.jsonl"))
    assert dispatch(store, "d", root, NOTES) == 1
    assert not (tmp_path / "stolen.jsonl").exists() and not (root / "other.jsonl").exists()
    assert len((root / "notes.jsonl").read_text().splitlines()) == 1
    with store.engine.connect() as conn:
        states = conn.execute(sa.select(outbox.c.state, outbox.c.last_error).order_by(outbox.c.id)).all()
    assert [s.state for s in states] == ["unconfigured", "unconfigured", "sent"]
    assert "not in the current config" in states[0].last_error
    assert dispatch(store, "again", root, NOTES) == 0  # marked, not retried


def test_an_outbox_file_outside_the_config_folder_is_refused(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "link").symlink_to(tmp_path, target_is_directory=True)
    escaping = ["outbox://../x.jsonl", f"outbox://{tmp_path / 'abs.jsonl'}", "outbox://link/y.jsonl", "outbox://"]
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.transaction(lambda conn: enqueue(conn, changes(1), escaping, "run-1", dt.datetime.now(dt.UTC)))
    assert dispatch(store, "d", root, escaping) == 0
    assert sorted(p.name for p in tmp_path.rglob("*.jsonl")) == []
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.state, outbox.c.last_error)).all()
    assert [r.state for r in rows] == ["refused"] * 4
    assert all("outside the config folder" in r.last_error for r in rows)


def test_console_messages_are_one_escaped_line(capsys):
    hostile = {"change": "opened", "key": "deals/x/\x1b]0;pwned\x07", "summary": "a\nincident #9 resolved\x1b[2J\u202e"}
    channels.deliver("console://", "k", hostile, Path("."))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert "\\x1b]0;pwned\\x07" in err and "a\\nincident #9 resolved\\x1b[2J\\u202e" in err
