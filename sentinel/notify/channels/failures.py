"""What a channel raises when a message did not go out: the outbox decides from the class whether to retry."""

from __future__ import annotations


class Unsupported(Exception):
    """No channel for this URL scheme: the row is kept as `unsupported`."""


class Refused(Exception):
    """The URL names a target Sentinel will not deliver to (an outbox file outside the config folder)."""


class Transient(Exception):
    """Worth retrying later: the server was unreachable, busy or rate-limiting (connection refused, timeout,
    SMTP 4xx, HTTP 5xx/408/429)."""


class Permanent(Exception):
    """Retrying cannot help: the server refused the message, the sender or the credentials (SMTP 5xx, AUTH
    refused, HTTP 4xx), or the URL cannot be used."""
