"""The append-only, hash-chained audit log of every gateway decision (allowed or refused) and every write.

Each row's `hash` is sha256 over the previous row's hash and this row's canonical JSON (its seq, time,
actor, action, decision, change-set, incident and detail), so changing, inserting or deleting a row breaks
the chain at that row: `verify` names the first one. `seq` is the primary key and every append takes
`max(seq) + 1` inside the caller's transaction: two writers racing collide on the key and the loser's
transaction is retried (Store.transaction), so the chain never forks. The log is never pruned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sentinel.results import jsonable
from sentinel.store import audit, utc

GENESIS = "0" * 64


def _canonical(
    seq: int, at: dt.datetime, actor: str, action: str, decision: str, cs: Any, inc: Any, detail: Any
) -> str:
    doc = {
        "seq": seq,
        "at": utc(at).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "decision": decision,
        "changeset": cs,
        "incident": inc,
        "detail": detail,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def digest(prev: str, *fields: Any) -> str:
    return hashlib.sha256((prev + _canonical(*fields)).encode()).hexdigest()


def append(
    conn: sa.Connection,
    actor: str,
    action: str,
    decision: str,
    detail: dict[str, Any] | None = None,
    changeset_id: int | None = None,
    incident_id: int | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Append one record in the caller's transaction; its seq."""
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    at = at.replace(microsecond=at.microsecond)  # stored and hashed at microsecond precision on every backend
    last = conn.execute(sa.select(audit.c.seq, audit.c.hash).order_by(audit.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq + 1, last.hash) if last is not None else (1, GENESIS)
    body = jsonable(detail or {})
    h = digest(prev, seq, at, actor, action, decision, changeset_id, incident_id, body)
    conn.execute(
        audit.insert().values(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            decision=decision,
            changeset_id=changeset_id,
            incident_id=incident_id,
            detail=body,
            prev_hash=prev,
            hash=h,
        )
    )
    return seq


@dataclass
class Verdict:
    rows: int
    broken_at: int | None  # seq of the first row whose chain does not hold; None: intact
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(conn: sa.Connection) -> Verdict:
    """Walk the chain from the start; the first row whose seq, prev_hash or hash does not follow."""
    prev, expected, n = GENESIS, 1, 0
    for r in conn.execute(sa.select(audit).order_by(audit.c.seq)):
        n += 1
        if r.seq != expected:
            return Verdict(n, r.seq, f"row {expected} is missing (found {r.seq} next)")
        if r.prev_hash != prev:
            return Verdict(n, r.seq, "prev_hash does not match the previous row's hash")
        h = digest(prev, r.seq, r.at, r.actor, r.action, r.decision, r.changeset_id, r.incident_id, r.detail)
        if h != r.hash:
            return Verdict(n, r.seq, "its contents do not match its hash (the row was changed)")
        prev, expected = r.hash, expected + 1
    return Verdict(n, None)


def records(conn: sa.Connection, changeset_id: int | None = None) -> list[dict[str, Any]]:
    stmt = sa.select(audit).order_by(audit.c.seq)
    if changeset_id is not None:
        stmt = stmt.where(audit.c.changeset_id == changeset_id)
    return [dict(r._mapping) for r in conn.execute(stmt)]
