"""Exact values: how evidence carries a stored value, and how a candidate value is computed from it.

The correction agent writes candidate values back to the source, so neither may pass through a float
rounded for reading. One rule for every check kind that lists row values (magnitude, its `history_by`,
subschema, expect's row evidence):

- a DECIMAL/NUMERIC value (the driver gives a `Decimal`) is carried as its decimal string, with the scale
  it is stored at: "12345678.90", "123456789012345678.123456";
- a DOUBLE/REAL value stays the float itself: a JSON number holds a double exactly (Python writes the
  shortest digits that read back as the same double), and its decimal meaning is those digits;
- integers stay integers; anything else (NULL, text keys) is left as it is.

Candidates are decimal strings, computed in `decimal.Decimal` from that exact value (a float by its
shortest round-trip digits, never its binary expansion): x / 10^k is always exact; a currency conversion
divides by the rate taken from its decimal string and is exact when the quotient terminates, else rounded
half-even to `PRECISION` significant digits (at least, and more for longer values), which the provenance
then says. Trailing zeros after the point are dropped ("1234567.890" -> "1234567.89"), so a candidate
reads the same whatever the column's scale; the writer fits it to the target column.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

PRECISION = 34  # significant digits of a non-terminating quotient at least (IEEE decimal128)


def exact(v: Any) -> Any:
    """A stored value as evidence carries it (see the module docstring)."""
    if isinstance(v, Decimal):
        return format(v, "f") if v.is_finite() else str(v)
    if hasattr(v, "item") and not isinstance(v, bool | int | float | str):  # numpy scalar from a frame
        return exact(v.item())
    return v


def to_decimal(v: Any) -> Decimal:
    """The decimal a stored or evidence value means: a float by its shortest round-trip digits (12345678.9,
    not 12345678.9000000003725...), a string or Decimal as written. ValueError if it is not a number."""
    if isinstance(v, Decimal):
        return v
    if isinstance(v, bool):
        raise ValueError(f"not a number: {v!r}")
    if isinstance(v, float):
        return Decimal(repr(v))
    if isinstance(v, int):
        return Decimal(v)
    if hasattr(v, "item") and not isinstance(v, str):
        return to_decimal(v.item())
    try:
        return Decimal(str(v).strip())
    except decimal.InvalidOperation:
        raise ValueError(f"not a number: {v!r}") from None


def plain(d: Decimal) -> str:
    """A decimal as a plain string: no exponent, no trailing zeros after the point ("1E+6" -> "1000000")."""
    if not d.is_finite():
        return str(d)
    if d == 0:
        return "0"
    with decimal.localcontext(decimal.Context(prec=max(PRECISION, len(d.as_tuple().digits)))):
        return format(d.normalize(), "f")


def _context(*operands: Decimal) -> decimal.Context:
    return decimal.Context(prec=max(PRECISION, sum(len(d.as_tuple().digits) for d in operands) + 6))


def shifted(value: Any, k: int) -> str:
    """value / 10^k, exactly."""
    x = to_decimal(value)
    return plain(x.scaleb(-k, _context(x)))


def converted(value: Any, rate: Any, *, divide: bool = True) -> tuple[str, bool]:
    """value / rate (or value * rate), and whether that is exact (False: rounded to the context's digits)."""
    x, r = to_decimal(value), to_decimal(rate)
    ctx = _context(x, r)
    out = ctx.divide(x, r) if divide else ctx.multiply(x, r)
    return plain(out), not ctx.flags[decimal.Inexact]


def rate_text(rate: float | str | Decimal) -> str:
    """A configured rate as its decimal string: "150.0" for the YAML `150.0` (which reaches us as a float)."""
    return repr(rate) if isinstance(rate, float) else str(rate)


def grouped(v: Any) -> str | None:
    """An exact number with grouping separators ("1,234,567.89"; a decimal keeps its stored scale,
    "12,345,678.90"); None if `v` is not a finite number."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int):
        return f"{v:,}"
    try:
        d = to_decimal(v)
    except ValueError:
        return None
    if not d.is_finite():
        return None
    if isinstance(v, float):  # a double has no stored scale: 10000000.0 reads as 10,000,000
        d = Decimal(plain(d))
    return format(d, ",f")
