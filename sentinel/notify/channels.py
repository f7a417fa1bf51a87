"""Delivery channels, by URL scheme. `deliver` returns normally when the message is out, raises otherwise.

- `console://`: one line on stderr (at least once: a crash between printing and recording may print again).
- `outbox://path.jsonl`: one JSON object per line, appended and fsynced; keys already in the file are not
  written again, so a crash between writing and recording never duplicates a message (exactly once).
Other schemes (mailto://, slack://, ...) arrive with the notification issue (through apprise); until then
their messages are kept in the outbox as `unsupported`, never silently dropped.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any


class Unsupported(Exception):
    """No channel for this URL scheme yet."""


_FILES_LOCK = threading.Lock()
_SEEN: dict[Path, set[str]] = {}  # keys already in each outbox file, read once per process


def deliver(url: str, key: str, payload: dict[str, Any], root: Path) -> None:
    scheme, _, rest = url.partition("://")
    if scheme == "console":
        sys.stderr.write(f"[sentinel] {payload['change']}: {payload['key']} — {payload['summary']}\n")
        sys.stderr.flush()
    elif scheme == "outbox":
        _append(root / rest, key, payload)
    else:
        raise Unsupported(f"{scheme}:// is not a notification channel yet")


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
