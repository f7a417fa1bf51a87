"""What a channel delivers: one message of an owner request, as text and HTML, with the ids that let a
receiver collapse a resend and thread the request's messages together.

The outbox row's `payload` carries `Message.payload()` next to the incident change fields it always had
(`key`, `change`, `summary`, ...). Channels read `subject`, `text` and `html` when present and fall back to
the one-line summary otherwise. A message's id is derived from its outbox row's idempotency key, so a resend
after a crash (between a server accepting it and the outbox recording it) carries the same Message-ID /
Idempotency-Key and the receiver can drop the copy.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("request", "reminder", "escalation", "closing", "reopened", "change")


@dataclass(frozen=True)
class Message:
    kind: str  # one of KINDS
    subject: str  # one line, names the request's key: "[sentinel] us_forecast_dec_v1 is empty (REQ-3)"
    text: str  # the whole request as plain text
    html: str  # the same as HTML (every value escaped)
    summary: str  # one line for the console and logs
    request_id: int | None = None
    thread_key: str | None = None  # idempotency key of the thread's first message to this channel

    def payload(self) -> dict[str, Any]:
        return {"message": asdict(self)}


def message_id(idempotency_key: str, domain: str = "sentinel.invalid") -> str:
    """The RFC 5322 Message-ID of the outbox row with this key: the same for every delivery attempt."""
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@{domain}>"


def channel_digest(url: str) -> str:
    """A short stable name for a channel URL inside keys (the URL itself may hold a ${SECRET} reference)."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def request_key(request_id: int, step: str, url: str) -> str:
    """The outbox idempotency key of one step of a request to one channel: `step` is `notified`,
    `reminder-N`, `escalated`, `reopened-N` or `closing`; a step is sent at most once per channel."""
    return f"request-{request_id}:{step}:{channel_digest(url)}"
