"""The outbox: one row per incident change and recipient, inserted in the same transaction as the change, so
a crash can neither report a change that did not commit nor lose one that did. A dispatcher claims rows
(so two daemons never send the same one), delivers them, and records the outcome; each row's idempotency
key goes with the message: the JSONL file never writes a key twice, and a resend after a crash between a
server's acceptance and the record carries the same Message-ID (email) or Idempotency-Key (json webhooks).

Who hears: the dataset owner's `notify` URLs, else `notify.default`. What: opened, reopened and resolved
incidents (reminders and escalation come with the owner-request work); repeats of an open incident are not
news. A transient delivery failure (server unreachable or busy) is retried by a later dispatch after a growing
delay (`backoff`, the row's `next_attempt_at`), up to MAX_ATTEMPTS, then the row is `failed`; a permanent one
(refused recipient, credentials, request) is `failed` at once. `last_error` says why, in one redacted line.

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

from sentinel.envsubst import redact
from sentinel.notify.channels import Permanent, Refused, Transient, Unsupported, deliver, display_url
from sentinel.results import jsonable
from sentinel.store import Store, outbox

log = logging.getLogger(__name__)
NOTIFY_ON = {"opened", "reopened", "resolved"}
CLAIM_FOR = dt.timedelta(minutes=5)  # a claim older than this is a dead dispatcher's: taken over
MAX_ATTEMPTS = 10  # deliveries tried per row before it is `failed` (transient failures; permanent ones: one)
FIRST_RETRY = dt.timedelta(seconds=30)
MAX_DELAY = dt.timedelta(minutes=30)  # 30 s doubling to 30 min: ten attempts span about two hours


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


def backoff(attempts: int) -> dt.timedelta:
    """How long a row waits after its `attempts`-th transient failure: FIRST_RETRY doubling, at most MAX_DELAY."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_DELAY)


def dispatch(store: Store, me: str, root: Path, configured: Collection[str], limit: int = 200) -> int:
    """Deliver pending rows that are due to the channels in `configured` (see `configured_channels`), files
    under `root`; returns how many were sent. Safe to call from several threads and daemons.

    One attempt per row and call, no waiting in between: a row that failed transiently gets `next_attempt_at`
    (see `backoff`) and a later dispatch tries again; and once a channel failed transiently in this call, its
    other rows are left for a later one, so a dead server costs one timeout per dispatch, not one per row."""
    targets = {url: url for url in configured}  # the URL delivered to is the config's, never the row's
    now = dt.datetime.now(dt.UTC)
    free = sa.and_(
        outbox.c.state == "pending",
        sa.or_(outbox.c.claimed_at.is_(None), outbox.c.claimed_at < now - CLAIM_FOR),
        sa.or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
    )

    def claim(conn: sa.Connection) -> list[sa.Row]:
        ids = conn.execute(sa.select(outbox.c.id).where(free).order_by(outbox.c.id).limit(limit)).scalars().all()
        if not ids:
            return []
        conn.execute(outbox.update().where(outbox.c.id.in_(ids), free).values(claimed_by=me, claimed_at=now))
        stmt = sa.select(outbox).where(outbox.c.id.in_(ids), outbox.c.claimed_by == me, outbox.c.claimed_at == now)
        return conn.execute(stmt.order_by(outbox.c.id)).all()

    sent = 0
    down: set[str] = set()  # channels that failed transiently in this call
    for row in store.transaction(claim):
        url = targets.get(row.channel)
        if url is not None and url in down:
            values: dict[str, Any] = {"claimed_by": None, "claimed_at": None}  # untried: free for a later call
        else:
            values = _attempt(row, url, root)
            if values["state"] == "sent":
                sent += 1
            elif values.get("next_attempt_at") is not None and url is not None:
                down.add(url)
        store.transaction(
            lambda conn, v=values, i=row.id: conn.execute(outbox.update().where(outbox.c.id == i).values(**v))
        )
    return sent


def _attempt(row: sa.Row, url: str | None, root: Path) -> dict[str, Any]:
    """Deliver one claimed row; the column values that record the outcome."""
    if url is None:
        log.warning("notification %s not delivered: its channel is not in the current config", row.key)
        return {"state": "unconfigured", "last_error": "channel not in the current config; not delivered"}
    attempts = (row.attempts or 0) + 1
    try:
        deliver(url, row.key, row.payload, root)
    except Unsupported as exc:
        return {"state": "unsupported", "last_error": _line(exc)}
    except Refused as exc:
        log.warning("notification %s not delivered: %s", row.key, _line(exc))
        return {"state": "refused", "last_error": _line(exc)}
    except Permanent as exc:
        reason = _line(exc)
        log.warning("notification %s to %s failed for good: %s", row.key, display_url(row.channel), reason)
        return {"state": "failed", "attempts": attempts, "last_error": reason, **_released()}
    except Exception as exc:  # Transient, or a channel's bug: retried after a while, up to MAX_ATTEMPTS
        reason = _line(exc) if isinstance(exc, Transient) else f"{type(exc).__name__}: {_line(exc)}"
        out_of_attempts = attempts >= MAX_ATTEMPTS
        log.warning(
            "notification %s to %s failed (attempt %d of %d%s): %s",
            row.key,
            display_url(row.channel),
            attempts,
            MAX_ATTEMPTS,
            ", giving up" if out_of_attempts else "",
            reason,
        )
        return {
            "state": "failed" if out_of_attempts else "pending",
            "attempts": attempts,
            "last_error": reason,
            "next_attempt_at": None if out_of_attempts else dt.datetime.now(dt.UTC) + backoff(attempts),
            **_released(),
        }
    return {"state": "sent", "sent_at": dt.datetime.now(dt.UTC), "attempts": attempts, "next_attempt_at": None}


def _released() -> dict[str, Any]:
    return {"claimed_by": None, "claimed_at": None}


def _line(exc: BaseException) -> str:
    """An error as one redacted line: what `last_error` and the log keep."""
    return redact(" ".join(str(exc).split()))
