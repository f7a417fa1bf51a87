"""The shape of one check's outcome (DESIGN §5) and how it is serialised."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "warn", "fail", "error"]


@dataclass
class SnapshotUpdate:
    """What a `history_by` reference keeps from this run: whole hash buckets of (key, value), replaced in the
    run's own transaction. A digest of None means "fetch this bucket again next run"; "" means "now empty"."""

    buckets: int  # how many buckets keys are hashed into
    digests: dict[int, str | None]  # the buckets replaced, with their new digests
    values: list[tuple[str, int, float]]  # (key, bucket, value) of the replaced buckets
    reset: bool = False  # the bucket count changed: the whole old snapshot goes first


@dataclass
class CheckResult:
    dataset: str
    check: str
    kind: str
    status: Status
    severity: str
    observed: Any = None
    expected: Any = None
    evidence: dict[str, Any] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    cause: str | None = None  # cause class for incident fingerprints: empty, stale, drift, violation, ...
    metrics: dict[str, float] = field(default_factory=dict)  # numbers kept in metric history
    accept_schema: dict[str, str] | None = None  # a schema snapshot to store as accepted (first run)
    snapshot: SnapshotUpdate | None = None  # per-key values `history_by` keeps, written with the run
    _doc: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)
    _evidence_text: tuple[dict[str, Any], JsonText] | None = field(default=None, init=False, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The result document, converted once: a run's results row, its incident snapshot and the `--json`
        output all use it, and its evidence can list every flagged row. Treat it (and a finished result) as
        read-only."""
        if self._doc is None:
            self._doc = jsonable(
                {
                    "dataset": self.dataset,
                    "check": self.check,
                    "kind": self.kind,
                    "status": self.status,
                    "severity": self.severity,
                    "observed": self.observed,
                    "expected": self.expected,
                    "evidence": self.evidence,
                    "diagnosis": self.diagnosis,
                }
            )
        return self._doc

    def evidence_json(self) -> JsonText:
        """The document's evidence as JSON text, encoded once: the run's results row and its incident's
        `last_result` both store it, and it can list every flagged row."""
        doc = self.to_json()
        if self._evidence_text is None or self._evidence_text[0] is not doc:  # a rebuilt document: encode it
            self._evidence_text = (doc, JsonText(encode(doc["evidence"])))
        return self._evidence_text[1]


def encode(doc: Any) -> str:
    """JSON text of a document made of plain JSON types (`jsonable`'s output: no NaN, text keys): orjson's,
    compact and UTF-8 as it is, about 12x faster than json.dumps on evidence listing 12,000 rows (1.1 ms
    against 13 ms here); json.dumps's for what orjson refuses (an integer beyond 64 bits, a lone surrogate).
    Both decode to the same document."""
    import orjson

    try:
        return orjson.dumps(doc).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(doc)


class JsonText(str):
    """A value already encoded as JSON (`encode`): the store writes it as it is, alone or as a value of a
    top-level document (store.dumps)."""


class JsonList(list):
    """A list whose items `jsonable` would return unchanged (dicts of `width` text keys whose values are text,
    integers, booleans, None or finite floats): it is kept as it is instead of copied item by item. Evidence
    uses it for flagged rows, which can number tens of thousands (`json_items`). An item that gained a key
    since (an origin's link, sources/origins.py) makes `jsonable` copy and convert the list again."""

    width: int = 0


def json_items(items: list[dict[str, Any]], *columns: list[Any]) -> list[dict[str, Any]]:
    """`items` as a JsonList when `columns`, the lists of every value the items hold, are plain JSON leaves
    (checked by type, in C loops: a few microseconds per thousand rows); else `items` unchanged."""
    for values in columns:
        types = set(map(type, values))
        if types <= _PLAIN:
            continue
        if types != {float} or not all(map(math.isfinite, values)):
            return items
    out = JsonList(items)
    out.width = len(items[0]) if items else 0
    return out


class CannotMeasure(Exception):
    """The check could not be measured (source down, table or column missing, wrong type): status `error`.

    `cause` is a short class (unreachable, missing_table, permission, timeout, missing_column, wrong_type, ...)
    kept in the result's diagnosis; sources raise the `SourceError` subclass."""

    def __init__(self, cause: str, message: str):
        super().__init__(message)
        self.cause, self.message = cause, message


_PLAIN = frozenset({str, int, bool, type(None)})  # exact types that are already JSON


def jsonable(value: Any) -> Any:
    """Plain JSON types only: numpy scalars, Decimals, datetimes and NaN never leak into documents.

    Evidence lists can hold every flagged row (tens of thousands of small dicts), so the common exact types
    are dispatched first, plain leaves are copied without a call, and flagged rows known to be plain JSON
    (a JsonList) are kept as they are."""
    t = type(value)
    if t in _PLAIN:
        return value
    if t is dict:
        return {(k if type(k) is str else str(k)): (v if type(v) in _PLAIN else jsonable(v)) for k, v in value.items()}
    if t is list or t is tuple:
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
    if t is JsonList:
        if set(map(len, value)) <= {value.width}:
            return value
        return [v if type(v) in _PLAIN else jsonable(v) for v in value]
    return _other(value)


def _other(value: Any) -> Any:
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**63 else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID | bytes):
        return str(value)
    if hasattr(value, "item"):  # numpy scalar
        return jsonable(value.item())
    return str(value)
