"""`outbox://path.jsonl`: one JSON object per line, appended and fsynced; keys already in the file are not
written again, so a crash between writing and recording never duplicates a message (exactly once). The path is
relative to the config folder and must stay inside it (`Refused` otherwise, whatever wrote the URL).

A line holds the whole message: `idempotency_key`, `message_id` (what an email of the same row carries),
`subject`, `text`, `html`, next to the row's payload as it was written."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from sentinel.notify.channels.content import content
from sentinel.notify.channels.failures import Refused

_FILES_LOCK = threading.Lock()
_SEEN: dict[Path, set[str]] = {}  # keys already in each outbox file, read once per process


def outbox_path(rest: str, root: Path) -> Path:
    """The outbox file of `outbox://rest`: under the config folder, or Refused."""
    base = root.resolve()
    path = (base / rest).resolve()
    if not rest or not path.is_relative_to(base) or path == base:
        raise Refused(f"outbox://{rest} is outside the config folder {base}; not written")
    return path


def deliver(url: str, key: str, payload: dict[str, Any], root: Path) -> None:
    path = outbox_path(url.partition("://")[2], root)
    c = content(key, payload)
    record = {"idempotency_key": key, **payload}
    record.update(idempotency_key=key, message_id=c.message_id, subject=c.subject, text=c.text, html=c.html)
    if c.in_reply_to:
        record["in_reply_to"] = c.in_reply_to
    _append(path, key, record)


def _append(path: Path, key: str, record: dict[str, Any]) -> None:
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
        line = json.dumps(record, default=str)
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
