"""apprise's log, kept out of the process's: apprise says *why* a delivery failed only at DEBUG (and logs the
URLs it posts to, tokens included), so its logger is set to DEBUG for the per-call capture, stops propagating
to the process's handlers, and a channel reads the records of its own call to write the reason down."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def quiet_apprise() -> logging.Logger:
    log = logging.getLogger("apprise")
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
    log.propagate = False
    log.setLevel(logging.DEBUG)
    return log


class _ThisThread(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append(record)


@contextmanager
def captured() -> Iterator[list[logging.LogRecord]]:
    """apprise's records logged by this thread inside the block (URL parsing, which `notify()`'s own capture
    does not cover)."""
    log = quiet_apprise()
    handler = _ThisThread()
    log.addHandler(handler)
    try:
        yield handler.records
    finally:
        log.removeHandler(handler)


def warnings(records: list[logging.LogRecord]) -> str:
    """apprise's warnings as one line, without its "Could not load <URL>" (the URL apprise shows keeps the first
    and last character of a password)."""
    said = (" ".join(r.getMessage().split()) for r in records if r.levelno >= logging.WARNING)
    return "; ".join(m for m in said if not m.startswith("Could not load"))
