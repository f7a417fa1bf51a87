"""The notification outbox: rows written with the incident change, claimed by one dispatcher, delivered to a
JSONL file exactly once even when a dispatcher dies between delivering and recording."""

from __future__ import annotations

import datetime as dt
import json
import threading

import sqlalchemy as sa

from sentinel.incidents import Change
from sentinel.notify import channels
from sentinel.notify.outbox import dispatch, enqueue
from sentinel.store import Store, outbox


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
    channels._SEEN.clear()  # a new process knows only what the file says
    assert dispatch(store, "second", tmp_path) == 3
    lines = [json.loads(x) for x in (tmp_path / "notes.jsonl").read_text().splitlines()]
    assert sorted(x["incident_id"] if "incident_id" in x else x["id"] for x in lines) == [0, 1, 2]
    assert len({x["idempotency_key"] for x in lines}) == 3
    assert dispatch(store, "third", tmp_path) == 0  # nothing pending any more


def test_concurrent_dispatchers_send_each_row_once(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    now = dt.datetime.now(dt.UTC)
    store.transaction(lambda conn: enqueue(conn, changes(60), ["outbox://notes.jsonl"], "run-1", now))
    sent: list[int] = []
    threads = [
        threading.Thread(target=lambda i=i: sent.append(dispatch(store, f"d{i}", tmp_path, limit=7))) for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while dispatch(store, "rest", tmp_path):
        pass
    lines = (tmp_path / "notes.jsonl").read_text().splitlines()
    assert len(lines) == 60 and len({json.loads(x)["idempotency_key"] for x in lines}) == 60


def test_unknown_channels_are_kept_not_dropped(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.transaction(
        lambda conn: enqueue(conn, changes(1), ["mailto://pete@acme.example"], "r", dt.datetime.now(dt.UTC))
    )
    assert dispatch(store, "d", tmp_path) == 0
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(outbox)).one()
    assert row.state == "unsupported" and "mailto" in row.last_error
