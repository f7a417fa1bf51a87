"""Delivery channels, one per URL scheme in `CHANNELS`. `deliver` returns normally when the message is out,
raises otherwise.

- `console://`: one line on stderr (at least once: a crash between printing and recording may print again),
  every value escaped for the terminal. A command that shows the run's incident changes itself (`sentinel
  run`, `sentinel demo`) holds the console channel (`hold_console`), so each change is shown once.
- `outbox://path.jsonl`: one JSON object per line, appended and fsynced; keys already in the file are not
  written again, so a crash between writing and recording never duplicates a message (exactly once). The
  path is relative to the config folder and must stay inside it (`Refused` otherwise, whatever wrote the URL).
Other schemes (mailto://, slack://, ...) arrive with the notification issue (through apprise); until then
their messages are kept in the outbox as `unsupported`, never silently dropped.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sentinel.terminal import visible


class Unsupported(Exception):
    """No channel for this URL scheme yet."""


class Refused(Exception):
    """The URL names a target Sentinel will not deliver to (an outbox file outside the config folder)."""


_FILES_LOCK = threading.Lock()
_SEEN: dict[Path, set[str]] = {}  # keys already in each outbox file, read once per process
_HELD: list[list[dict[str, Any]]] = []  # console messages kept for the command that shows them itself


def console_line(payload: dict[str, Any]) -> str:
    """The console channel's message: one line, whatever the key or summary hold."""
    change, key, summary = (visible(payload.get(k)) for k in ("change", "key", "summary"))
    return f"[sentinel] {change}: {key} — {summary}"


def _console(rest: str, key: str, payload: dict[str, Any], root: Path) -> None:
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


def outbox_path(rest: str, root: Path) -> Path:
    """The outbox file of `outbox://rest`: under the config folder, or Refused."""
    base = root.resolve()
    path = (base / rest).resolve()
    if not rest or not path.is_relative_to(base) or path == base:
        raise Refused(f"outbox://{rest} is outside the config folder {base}; not written")
    return path


def _outbox(rest: str, key: str, payload: dict[str, Any], root: Path) -> None:
    _append(outbox_path(rest, root), key, payload)


CHANNELS: dict[str, Callable[[str, str, dict[str, Any], Path], None]] = {"console": _console, "outbox": _outbox}


def deliver(url: str, key: str, payload: dict[str, Any], root: Path) -> None:
    scheme, _, rest = url.partition("://")
    send = CHANNELS.get(scheme)
    if send is None:
        raise Unsupported(f"{scheme}:// is not a notification channel yet")
    send(rest, key, payload, root)


def _append(path: Path, key: str, payload: dict[str, Any]) -> None:
    with _FILES_LOCK:
        seen = _SEEN.get(path)
        if seen is None:
            seen = set()
            if path.exists():
                for line in path.read_text().splitlines():
                    try:
                        seen.add(json.loads(line)["idempotency_key"])
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn last line from a crash: its message is sent again, whole
            _SEEN[path] = seen
        if key in seen:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"idempotency_key": key, **payload}, default=str)
        with open(path, "a", encoding="utf-8") as f:
            if f.tell() and not _ends_with_newline(path):
                f.write("\n")
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
        seen.add(key)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"
