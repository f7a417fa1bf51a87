"""Text from the data, made safe to print: nothing a value holds may move the cursor, retitle the window,
ring the bell, forge a line or reorder what follows it.

Category labels, keys, messages built from them and the names in the config reach people's terminals (the
run report, `incidents`, `show`, the `console://` channel). Control characters (C0 but for none, DEL, C1,
the line and paragraph separators) and the bidirectional overrides are shown as visible escapes
(`\\x1b`, `\\n`, `\\u202e`) instead of being written. Rich markup is not escaped here: the report renders
values as `rich.text.Text`, which never parses markup, so `[/]evil` stays text.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _show(match: re.Match[str]) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def visible(value: object) -> str:
    """`value` as text with every control character replaced by a visible escape."""
    text = value if isinstance(value, str) else str(value)
    return _UNSAFE.sub(_show, text)
