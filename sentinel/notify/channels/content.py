"""What a channel sends for one outbox row: the row's message (`payload["message"]`, see notify/message.py) or,
for rows written before messages existed (incident changes), the one-line summary they always carried."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from sentinel.notify.message import message_id

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


@dataclass(frozen=True)
class Content:
    subject: str  # one line: control characters (a newline would start a new mail header) become spaces
    text: str
    html: str
    summary: str  # one line for the console
    message_id: str  # the same for every delivery of this row: receivers collapse a resend
    in_reply_to: str | None  # the Message-ID of the thread's first message, on later steps of a request
    kind: str


def one_line(value: Any) -> str:
    return _CONTROL.sub(" ", "" if value is None else str(value)).strip()


def content(key: str, payload: dict[str, Any]) -> Content:
    msg = payload.get("message")
    if isinstance(msg, dict) and msg.get("subject"):
        thread = msg.get("thread_key")
        return Content(
            subject=one_line(msg["subject"]),
            text=str(msg.get("text") or msg["subject"]),
            html=str(msg.get("html") or f"<p>{html.escape(str(msg['subject']))}</p>"),
            summary=one_line(msg.get("summary") or msg["subject"]),
            message_id=message_id(key),
            in_reply_to=message_id(thread) if thread and thread != key else None,
            kind=str(msg.get("kind") or "change"),
        )
    change, incident, summary = (one_line(payload.get(k)) for k in ("change", "key", "summary"))
    line = f"{change}: {incident} — {summary}"
    return Content(
        subject=f"[sentinel] {change}: {incident}",
        text=line,
        html=f"<p>{html.escape(line)}</p>",
        summary=line,
        message_id=message_id(key),
        in_reply_to=None,
        kind="change",
    )
