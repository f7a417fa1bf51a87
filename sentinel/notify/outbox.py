"""The outbox: one row per incident change and recipient, inserted in the same transaction as the change, so
a crash can neither report a change that did not commit nor lose one that did. A dispatcher claims rows
(so two daemons never send the same one), delivers them, and records the outcome; each row's idempotency
key goes with the message, and channels that can dedupe on it (the JSONL file) deliver exactly once.

Who hears: the dataset owner's `notify` URLs, else `notify.default`. What: opened, reopened and resolved
incidents (reminders and escalation come with the owner-request work); repeats of an open incident are not
news. Failed deliveries are retried on later dispatches, up to MAX_ATTEMPTS.

A row's `channel` says which configured channel it is for; it is matched against the current config's
channels at dispatch and delivered to the URL from the config. A row naming a channel the config no longer
has (or never had: the state store is not trusted to name targets) is not delivered and is left as
`unconfigured`; a URL a channel refuses (an outbox file outside the config folder) is left as `refused`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Collection
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sentinel.notify.channels import Refused, Unsupported, deliver
from sentinel.results import jsonable
from sentinel.store import Store, outbox

log = logging.getLogger(__name__)
NOTIFY_ON = {"opened", "reopened", "resolved"}
CLAIM_FOR = dt.timedelta(minutes=5)  # a claim older than this is a dead dispatcher's: taken over
MAX_ATTEMPTS = 10


def recipients(cfg: Any, dataset: str) -> list[str]:
    """The dataset owner's notify URLs, or notify.default."""
    ds = next((d for d in cfg.datasets if d.name == dataset), None)
    owner = cfg.main.owners.get(ds.owner) if ds is not None and ds.owner else None
    return list(owner.notify) if owner is not None and owner.notify else list(cfg.main.notify.default)


def configured_channels(cfg: Any) -> set[str]:
    """Every notify URL the config names: notify.default and each owner's."""
    urls = set(cfg.main.notify.default)
    for owner in cfg.main.owners.values():
        urls.update(owner.notify)
    return urls


def enqueue(conn: sa.Connection, changes: list[Any], to: list[str], origin: str, now: dt.datetime) -> int:
    """Outbox rows for the changes worth telling, inside the caller's transaction. `origin` (the run's uid, or
    the manual action) makes the idempotency key unique per change and recipient."""
    rows = []
    for c in changes:
        if c.change not in NOTIFY_ON:
            continue
        for url in to:
            digest = hashlib.sha256(f"{origin}|{url}".encode()).hexdigest()[:20]
            payload = {**c.to_json(), "severity": c.severity, "summary": c.summary, "at": now, "origin": origin}
            rows.append(
                {
                    "key": f"incident-{c.id}:{c.change}:{digest}",
                    "incident_id": c.id,
                    "channel": url,
                    "payload": jsonable(payload),
                    "created_at": now,
                    "state": "pending",
                    "attempts": 0,
                }
            )
    if rows:
        conn.execute(outbox.insert(), rows)
    return len(rows)


def dispatch(store: Store, me: str, root: Path, configured: Collection[str], limit: int = 200) -> int:
    """Deliver pending rows to the channels in `configured` (see `configured_channels`), files under `root`;
    returns how many were sent. Safe to call from several threads and daemons."""
    targets = {url: url for url in configured}  # the URL delivered to is the config's, never the row's
    now = dt.datetime.now(dt.UTC)
    free = sa.and_(
        outbox.c.state == "pending",
        sa.or_(outbox.c.claimed_at.is_(None), outbox.c.claimed_at < now - CLAIM_FOR),
    )

    def claim(conn: sa.Connection) -> list[sa.Row]:
        ids = conn.execute(sa.select(outbox.c.id).where(free).order_by(outbox.c.id).limit(limit)).scalars().all()
        if not ids:
            return []
        conn.execute(outbox.update().where(outbox.c.id.in_(ids), free).values(claimed_by=me, claimed_at=now))
        stmt = sa.select(outbox).where(outbox.c.id.in_(ids), outbox.c.claimed_by == me, outbox.c.claimed_at == now)
        return conn.execute(stmt.order_by(outbox.c.id)).all()

    sent = 0
    for row in store.transaction(claim):
        values: dict[str, Any]
        url = targets.get(row.channel)
        try:
            if url is None:
                values = {"state": "unconfigured", "last_error": "channel not in the current config; not delivered"}
                log.warning("notification %s not delivered: its channel is not in the current config", row.key)
            else:
                deliver(url, row.key, row.payload, root)
                values = {"state": "sent", "sent_at": dt.datetime.now(dt.UTC), "attempts": row.attempts + 1}
                sent += 1
        except Unsupported as exc:
            values = {"state": "unsupported", "last_error": str(exc)}
        except Refused as exc:
            values = {"state": "refused", "last_error": str(exc)}
            log.warning("notification %s not delivered: %s", row.key, exc)
        except Exception as exc:  # a channel that failed: retried by a later dispatch
            attempts = row.attempts + 1
            values = {
                "state": "failed" if attempts >= MAX_ATTEMPTS else "pending",
                "attempts": attempts,
                "last_error": f"{type(exc).__name__}: {exc}",
                "claimed_by": None,
                "claimed_at": None,
            }
            log.warning("notification %s to %s failed: %s", row.key, row.channel, values["last_error"])
        store.transaction(
            lambda conn, v=values, i=row.id: conn.execute(outbox.update().where(outbox.c.id == i).values(**v))
        )
    return sent
