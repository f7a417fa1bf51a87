"""The regexes that mean the same in Python's `re` and in the databases' engines, and their text for each.

Great Expectations matches a regex with Python's `re.search` on pandas (so on DuckDB, which Sentinel's GX path
reads into pandas), `~` on PostgreSQL and Python's `re` again on SQLite (SQLAlchemy's REGEXP). A native
`match_regex` must give GX's answer for every value. So the regex is parsed by Python's own parser and accepted
only when it is built from a portable subset: literal characters, `.`, bracket classes of literals and ranges,
`^ $ \\A \\Z`, greedy or lazy quantifiers up to 255, unnamed groups and alternation. It is then written out
again, element by element, in a spelling the engine reads with GX's meaning there. For DuckDB (RE2) and SQLite
that is Python's: `.` becomes `[^\\n]` and `$`, which in Python also matches before a final newline, `\\n?$`.
On PostgreSQL GX sends the text as it is, so `.` and `$` keep ARE's meaning (they differ from Python's only
around newlines). Everything else is refused with the reason, and the expectation stays with GX: shorthand
classes `\\d \\w \\s` and `\\b` (Unicode-aware in Python, not elsewhere), lookaround, backreferences,
conditionals, possessive and atomic forms, inline flags, control characters, and what PostgreSQL reads another
way in the raw text (named groups `(?P<..>`, POSIX classes `[[:alpha:]]`, bounds like `{,3}`).
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

try:  # Python 3.11+
    import re._constants as C
    import re._parser as sre
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as sre  # type: ignore[no-redef]

MAX_REPEAT_BOUND = 255  # PostgreSQL's RE_DUPMAX; RE2 allows 1000
_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
_PUNCT = set(string.punctuation)


class NotPortable(ValueError):
    """The regex is valid Python but may mean something else to a database's engine (or is not valid)."""


@lru_cache(maxsize=256)
def translate(regex: str, dialect: str = "duckdb") -> str:
    """The regex spelt for `dialect`'s engine with the meaning GX gives it there; NotPortable saying why not."""
    if not isinstance(regex, str):
        raise NotPortable(f"regex must be a string, got {regex!r}")
    # read one way by Python and another by PostgreSQL, where GX sends the text as it is
    if "(?P" in regex:
        raise NotPortable("named groups ((?P<name>...)) are not portable")
    if "{," in regex:
        raise NotPortable("bounds without a minimum ({,n}) are not portable")
    if _POSIX.search(regex):
        raise NotPortable("a '[' followed by ':', '.' or '=' inside a class is not portable (POSIX class syntax)")
    try:
        parsed = sre.parse(regex)
    except Exception as exc:  # re.error: GX reports it on its own path
        raise NotPortable(f"not a valid regex: {exc}") from exc
    if parsed.state.flags & ~C.SRE_FLAG_UNICODE:
        raise NotPortable("inline flags such as (?i) are not portable")
    return _seq(list(parsed), dialect == "postgresql")


def problem(regex: str) -> str | None:
    """Why `regex` cannot be matched natively, or None when it can."""
    try:
        translate(regex)
    except NotPortable as exc:
        return str(exc)
    return None


_POSIX = re.compile(r"\[[^\]]*\[[:.=]")  # [[:alpha:]], [[.a.]], [[=a=]] in a bracket expression


def _seq(items: list, are: bool) -> str:
    return "".join(_item(op, av, are) for op, av in items)


def _item(op, av, are: bool) -> str:
    if op is C.LITERAL:
        return _char(av, in_class=False)
    if op is C.NOT_LITERAL:
        return f"[^{_char(av, in_class=True)}]"
    if op is C.ANY:  # on PostgreSQL GX's `.` is ARE's, which matches a newline too
        return "." if are else "[^\\n]"
    if op is C.IN:
        return _class(av)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        lo, hi, body = av
        if any(o is C.AT for o, _ in body):
            raise NotPortable("a quantified anchor is not portable")
        if lo > MAX_REPEAT_BOUND or (hi is not C.MAXREPEAT and hi > MAX_REPEAT_BOUND):
            raise NotPortable(f"repetition counts above {MAX_REPEAT_BOUND} are not portable")
        if hi is C.MAXREPEAT:
            q = {0: "*", 1: "+"}.get(lo, f"{{{lo},}}")
        elif (lo, hi) == (0, 1):
            q = "?"
        else:
            q = f"{{{lo}}}" if lo == hi else f"{{{lo},{hi}}}"
        return f"(?:{_seq(list(body), are)}){q}" + ("?" if op is C.MIN_REPEAT else "")
    if op is C.SUBPATTERN:
        _group, add_flags, del_flags, body = av
        if add_flags or del_flags:
            raise NotPortable("inline flags such as (?i:...) are not portable")
        return f"(?:{_seq(list(body), are)})"
    if op is C.BRANCH:
        return "(?:" + "|".join(_seq(list(b), are) for b in av[1]) + ")"
    if op is C.AT:
        if av in (C.AT_BEGINNING, C.AT_BEGINNING_STRING):
            return "^"
        if av is C.AT_END:  # Python's $ also matches before a final newline; ARE's (GX on PostgreSQL) does not
            return "$" if are else "\\n?$"
        if av is C.AT_END_STRING:
            return "$"
        raise NotPortable("word boundaries (\\b, \\B) are not portable")
    names = {
        C.GROUPREF: "backreferences",
        C.GROUPREF_EXISTS: "conditional groups",
        C.ASSERT: "lookarounds",
        C.ASSERT_NOT: "lookarounds",
    }
    raise NotPortable(f"{names.get(op, str(op).lower().replace('_', ' ') + 's')} are not portable")


def _class(items: list) -> str:
    out, negate = [], False
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            out.append(_char(av, in_class=True))
        elif op is C.RANGE:
            out.append(f"{_char(av[0], in_class=True)}-{_char(av[1], in_class=True)}")
        elif op is C.CATEGORY:
            raise NotPortable("shorthand classes (\\d, \\w, \\s) are Unicode-aware in Python only: use [0-9] etc.")
        else:
            raise NotPortable(f"{str(op).lower()} in a class is not portable")
    return "[" + ("^" if negate else "") + "".join(out) + "]"


def _char(code: int, *, in_class: bool) -> str:
    c = chr(code)
    if c in _ESCAPES:
        return _ESCAPES[c]
    if c.isascii() and (c.isalnum() or c == " "):
        return c
    if c in _PUNCT:  # a backslash before punctuation is that character in Python, RE2 and ARE alike
        return "\\" + c
    if not c.isascii() and c.isprintable():
        return c
    raise NotPortable(f"the character {c!r} is not portable in a regex")
