"""Delivery channels, one module per kind, registered by URL scheme in `CHANNELS`. `deliver` returns normally
when the message is out and raises otherwise; the exception says what the outbox does with the row:

- `Transient`: retried later with a growing delay (connection refused, timeouts, SMTP 4xx, HTTP 5xx/408/429);
- `Permanent`: `failed` at once, with the reason (SMTP 5xx, authentication refused, HTTP 4xx, a bad URL);
- `Refused`: a target Sentinel will not deliver to (an outbox file outside the config folder);
- `Unsupported`: a scheme neither Sentinel nor apprise knows: the row is kept, never dropped.
Any other exception is treated as transient.

Channels: `console://` (console.py), `outbox://file.jsonl` (outbox_file.py), `mailto://` and `mailtos://`
(email.py: built here, sent with smtplib), and every other scheme apprise knows (apprise_channel.py: slack://,
json://, jsons://, ...). A channel's module is imported when a message goes out on it (or its URL is
validated): a run that sends nothing imports neither smtplib nor apprise. A module may define `url_problem(url)`.
A channel URL may hold `${ENV}` references: they are expanded only inside the channel at delivery, and nothing
built from the expanded URL leaves it unredacted.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from sentinel.envsubst import MissingEnv, expand_url, redact
from sentinel.notify.channels.console import console_line, hold_console
from sentinel.notify.channels.failures import Permanent, Refused, Transient, Unsupported
from sentinel.notify.channels.outbox_file import outbox_path

__all__ = [
    "CHANNELS",
    "Permanent",
    "Refused",
    "Transient",
    "Unsupported",
    "console_line",
    "deliver",
    "display_url",
    "hold_console",
    "outbox_path",
    "url_problem",
]

CHANNELS: dict[str, str] = {  # scheme -> the module whose `deliver(url, key, payload, root)` sends it
    "console": "sentinel.notify.channels.console",
    "outbox": "sentinel.notify.channels.outbox_file",
    "mailto": "sentinel.notify.channels.email",
    "mailtos": "sentinel.notify.channels.email",
}


def channel_for(url: str) -> ModuleType:
    """The channel module of `url`'s scheme: Sentinel's own, else apprise's if it knows the scheme."""
    scheme = url.partition("://")[0].lower()
    name = CHANNELS.get(scheme)
    if name is not None:
        return importlib.import_module(name)
    from sentinel.notify.channels import apprise_channel

    if apprise_channel.knows(scheme):
        return apprise_channel
    raise Unsupported(f"{scheme}:// is not a notification channel Sentinel or apprise knows")


def deliver(url: str, key: str, payload: dict[str, Any], root: Path) -> None:
    """Send one outbox row's message (`payload`, idempotency `key`) to the config's `url`."""
    channel_for(url).deliver(url, key, payload, root)


def url_problem(url: str) -> str | None:
    """Why `url` cannot be delivered to (unknown scheme, a URL apprise cannot parse), or None; for validation.
    `${ENV}` references are expanded (one may stand for several parts of the URL, a Slack token); an unset one
    is the problem. The answer is redacted."""
    try:
        channel = channel_for(url)
    except Unsupported as exc:
        return str(exc)
    try:
        candidate = expand_url(url)
    except MissingEnv as exc:
        return str(exc)
    check = getattr(channel, "url_problem", None)
    return None if check is None else check(candidate)


_SECRET_QUERY = re.compile(r"pass|secret|token|key|auth|sig", re.IGNORECASE)
_TOKEN = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-]{12,}$")  # letters and digits, 12+: a token, likely


def display_url(url: str) -> str:
    """A channel URL as status and logs show it: values from the environment masked (`redact`), and a
    literal password, secret-named query value or token-like path segment (Slack's webhook token) shown as
    ``***``. `${VAR}` references are names, not values, and stay."""
    url = redact(url)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme in ("console", "outbox"):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{scheme}://***"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, password = userinfo.partition(":")
        if colon and not password.startswith("${"):
            password = "***"
        netloc = f"{user}{colon}{password}@{hostport}"
    path = "/".join("***" if _TOKEN.match(seg) else seg for seg in parts.path.split("/"))
    query = "&".join(_masked_option(option) for option in parts.query.split("&")) if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""  # slack://T/B/token/#channel
    return f"{scheme}://{netloc}{path}{'?' + query if query else ''}{fragment}"


def _masked_option(option: str) -> str:
    name, eq, value = option.partition("=")
    return f"{name}=***" if eq and _SECRET_QUERY.search(name) and not value.startswith("${") else option
