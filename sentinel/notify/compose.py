"""The text of an owner request (STUB: replaced by the templated composer; the signature stays)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from sentinel.notify.message import Message
from sentinel.store import incidents, owner_requests, request_incidents


def render(
    conn: sa.Connection,
    cfg: Any,
    request_id: int,
    kind: str,
    now: dt.datetime,
    to_backup: bool = False,
    origin: dict | None = None,
) -> Message:
    """The message of step `kind` (request | reminder | escalation | closing | reopened) of a request, from
    the store as it is inside the caller's transaction. `to_backup`: addressed to the owner's backup."""
    req = conn.execute(sa.select(owner_requests).where(owner_requests.c.id == request_id)).one()
    rows = conn.execute(
        sa.select(incidents.c.key, incidents.c.summary)
        .select_from(incidents.join(request_incidents, request_incidents.c.incident_id == incidents.c.id))
        .where(request_incidents.c.request_id == request_id)
        .order_by(incidents.c.id)
    ).all()
    lines = [f"- {r.key}: {r.summary}" for r in rows]
    subject = f"[sentinel] {req.dataset}: {kind} (REQ-{request_id})"
    text = "\n".join([subject, *lines])
    return Message(
        kind, subject, text, "<pre>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</pre>", subject, request_id
    )
