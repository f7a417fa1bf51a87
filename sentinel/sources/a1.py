"""A1 notation, the way Google Sheets writes it: ranges inside a tab, quoted tab names, cell links.

Standard library only, so config validation can check a `range:` without importing gspread."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RANGE = re.compile(r"^(?P<c1>[A-Z]{0,3})(?P<r1>[0-9]*)(?::(?P<c2>[A-Z]{0,3})(?P<r2>[0-9]*))?$", re.IGNORECASE)
_PLAIN_TAB = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOKS_LIKE_CELL = re.compile(r"^[A-Za-z]{1,3}[0-9]+$|^R[0-9]*C[0-9]*$", re.IGNORECASE)


@dataclass(frozen=True)
class Start:
    """The top-left cell a range starts at (1-based)."""

    row: int
    col: int


def column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - ord("A") + 1
    return n


def column_letters(n: int) -> str:
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


def range_problem(text: str) -> str | None:
    """Why `text` is not an A1 range inside one tab (`A1:F200`, `A3:F`, `B:F`, `2:40`), or None."""
    m = _RANGE.match(text.strip())
    if m is None or not (m["c1"] or m["r1"]) or ":" not in text and not (m["c1"] and m["r1"]):
        return f"{text!r} is not an A1 range inside the tab (e.g. A1:F200); the tab itself is the dataset's `table:`"
    if m["r1"] and int(m["r1"]) < 1 or m["r2"] and int(m["r2"]) < 1:
        return f"{text!r}: rows are numbered from 1"
    if m["r1"] and m["r2"] and int(m["r2"]) < int(m["r1"]):
        return f"{text!r}: the range ends above its first row (write the header row first)"
    return None


def range_start(text: str) -> Start:
    """Where an A1 range (optionally prefixed by `Tab!`) starts; an open side starts at row 1 / column A."""
    cells = text.rpartition("!")[2] if "!" in text else text
    m = _RANGE.match(cells.strip())
    if m is None:
        return Start(1, 1)
    return Start(int(m["r1"]) if m["r1"] else 1, column_number(m["c1"]) if m["c1"] else 1)


def quote_tab(title: str) -> str:
    """A tab name as A1 notation writes it: bare when it is a plain word, else in single quotes with each
    quote doubled (`'Q4 plan'`, `'Bob''s'`); a name that reads like a cell (`A1`) is quoted too."""
    if _PLAIN_TAB.match(title) and not _LOOKS_LIKE_CELL.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def row_cells(row: int, first_col: int, last_col: int) -> str:
    """`A7:F7`: one sheet row across the given columns."""
    return f"{column_letters(first_col)}{row}:{column_letters(last_col)}{row}"
