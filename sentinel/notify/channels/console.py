"""`console://`: one line on stderr, every value escaped for the terminal (at least once: a crash between
printing and recording may print again). A command that shows the run's incident changes itself (`sentinel
run`, `sentinel demo`) holds the console channel (`hold_console`), so each change is shown once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sentinel.terminal import visible

_HELD: list[list[dict[str, Any]]] = []  # console messages kept for the command that shows them itself


def console_line(payload: dict[str, Any]) -> str:
    """The console channel's message: one line, whatever the key or summary hold: the change, the (lead)
    incident's key, and a request message's own summary line when the row carries one."""
    msg = payload.get("message")
    summary = payload.get("summary")
    if isinstance(msg, dict) and (msg.get("summary") or msg.get("subject")):
        summary = msg.get("summary") or msg.get("subject")
    change, key, summary = (visible(v) for v in (payload.get("change"), payload.get("key"), summary))
    return f"[sentinel] {change}: {key} — {summary}"


def deliver(url: str, key: str, payload: dict[str, Any], root: Path) -> None:
    if _HELD:
        _HELD[-1].append(payload)
        return
    sys.stderr.write(console_line(payload) + "\n")
    sys.stderr.flush()


@contextmanager
def hold_console() -> Iterator[list[dict[str, Any]]]:
    """Console messages delivered inside the block are collected (and count as delivered) instead of printed:
    the caller shows them, e.g. in its run report."""
    held: list[dict[str, Any]] = []
    _HELD.append(held)
    try:
        yield held
    finally:
        _HELD.remove(held)
