"""`${VAR}` substitution, config-relative file-database URLs, and redaction of every expanded value.

Standard library only: the speculative scan (`prefetch.py`) uses it before anything heavy is imported.

Secrets: every value this process took from the environment is remembered (`register`), and `redact` replaces
it with ``***`` wherever a message is born (source errors, check errors, log records, tracebacks), so a
password never reaches a result, the store, a notification or a log line. Values shorter than
`MIN_SECRET` characters are not remembered: they cannot be secret, and masking every ``5`` or ``db`` in every
message would make the messages unreadable.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from pathlib import Path
from urllib.parse import quote

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MASK = "***"
MIN_SECRET = 4


class MissingEnv(Exception):
    """A `${VAR}` is not set, or what the expansion gives cannot be used (a malformed URL)."""


# --- the registry of expanded values --------------------------------------------------------------------

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # longest first, replaced whole (copy-on-write: readers never lock)


def register(value: str) -> None:
    """Remember a value that came from the environment (and the percent-encoded form URLs carry)."""
    global _secrets
    forms = {value, quote(value, safe=""), quote(value, safe="/")}
    new = {f for f in forms if len(f) >= MIN_SECRET} - set(_secrets)
    if not new:
        return
    with _lock:
        _secrets = tuple(sorted(set(_secrets) | new, key=len, reverse=True))


def redact(text: str) -> str:
    """`text` with every value taken from the environment replaced by ``***``."""
    secrets = _secrets
    if not secrets or not isinstance(text, str):
        return text
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text


class RedactFilter(logging.Filter):
    """Put on a handler: the record's message, string extras and traceback leave with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        record.msg = redact(record.getMessage())
        record.args = None
        for k, v in list(record.__dict__.items()):
            if isinstance(v, str) and k not in ("msg", "name", "levelname", "pathname", "filename", "module"):
                record.__dict__[k] = redact(v)
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, redact(text)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def redact_handlers(logger: logging.Logger | None = None) -> None:
    """Add a RedactFilter to every handler of `logger` (the root logger by default), once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(RedactFilter())


def redact_tracebacks() -> None:
    """Uncaught exceptions (main thread and threads) print their traceback with secrets masked."""
    import traceback

    if getattr(sys.excepthook, "_sentinel_redacts", False):
        return

    def hook(exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        sys.stderr.write(redact("".join(traceback.format_exception(exc_type, exc, tb))))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "thread"
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        sys.stderr.write(redact(f"Exception in thread {name}:\n{text}"))

    hook._sentinel_redacts = True  # type: ignore[attr-defined]
    sys.excepthook = hook
    threading.excepthook = thread_hook


# --- substitution ----------------------------------------------------------------------------------------


def references(value: str) -> list[str]:
    """The variable names `value` refers to, in order."""
    return _ENV.findall(value)


def expand_env(value: str, where: str = "", encode=None) -> str:  # type: ignore[no-untyped-def]
    """Substitute ${VAR} from the environment, at use time only; `encode(value, start)` may rewrite each value
    by where its reference starts (URLs percent-encode the parts they carry)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise MissingEnv(f"{where + ': ' if where else ''}environment variable {name} is not set")
        raw = os.environ[name]
        register(raw)
        return encode(raw, m.start()) if encode else raw

    return _ENV.sub(sub, value)


def url_encoder(template: str):  # type: ignore[no-untyped-def]
    """How to encode a value substituted at each position of a URL template.

    In the user or password part a value is percent-encoded whole (a password ``Xy@h:pw`` stays a password);
    in the database path every character but ``/`` is; in the query every character. The host and port, the
    scheme, and a template that is one variable (``${DATABASE_URL}``) take the value as it is.
    """
    scheme_end = template.find("://")
    if scheme_end < 0 or template.startswith("${"):
        return None
    rest = scheme_end + 3
    slash = [i for i in (template.find("/", rest), template.find("?", rest)) if i >= 0]
    netloc_end = min(slash) if slash else len(template)
    at = template.rfind("@", rest, netloc_end)
    query = template.find("?", rest)

    def encode(value: str, start: int) -> str:
        if start < rest:
            return value
        if start < netloc_end:
            return quote(value, safe="") if at >= 0 and start < at else value
        if query >= 0 and start > query:
            return quote(value, safe="")
        return quote(value, safe="/")

    return encode


def expand_url(url: str, where: str = "") -> str:
    """Expand ${ENV} in a URL, percent-encoding each value for the part of the URL it lands in."""
    return expand_env(url, where, url_encoder(url))


def resolve_url(url: str, root: Path, where: str = "") -> str:
    """Expand ${ENV} and make file-database paths (sqlite, duckdb) relative to the config folder."""
    url = expand_url(url, where)
    m = re.match(r"^(sqlite|duckdb)(\+\w+)?:///(.*)$", url)
    if m and m.group(3) and not m.group(3).startswith((":memory:", "/")):
        path, sep, query = m.group(3).partition("?")
        url = f"{m.group(1)}{m.group(2) or ''}:///{(root / path).resolve()}{sep}{query}"
    return url


def placeholder_url(url: str) -> str:
    """The URL with every ${VAR} replaced by a neutral value (``1``), for parsing before any secret is read."""
    return _ENV.sub("1", url)
