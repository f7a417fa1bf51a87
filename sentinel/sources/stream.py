"""Stream records from a paged API into a DuckDB table as Arrow record batches.

API sources (Salesforce, sheets) hand over records page by page. Holding them all in a Python list costs
hundreds of bytes per value and grows with the table; inserting them row by row is slow. Here they are
cut into fixed-size chunks, each converted column by column into one Arrow RecordBatch of declared types,
and appended with one `INSERT ... SELECT` from the registered batch: memory stays bounded by the chunk size,
whatever the number of records, and the checks then run the same SQL they run anywhere else.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

ROWS_PER_BATCH = 10_000


@dataclass(frozen=True)
class Column:
    """One column of the table: its name, Arrow type, and how to read it from a record (a dict)."""

    name: str
    type: pa.DataType
    get: Callable[[dict], Any] | None = None  # default: record.get(name)

    def values(self, records: list[dict]) -> list[Any]:
        get = self.get
        return [get(r) for r in records] if get else [r.get(self.name) for r in records]


def batches(records: Iterable[dict], columns: list[Column], rows: int = ROWS_PER_BATCH) -> Iterator[pa.RecordBatch]:
    """Record batches of at most `rows` records each; only one chunk of records is alive at a time."""
    schema = pa.schema([pa.field(c.name, c.type) for c in columns])
    it = iter(records)
    while chunk := list(itertools.islice(it, rows)):
        yield pa.RecordBatch.from_arrays([to_array(c.values(chunk), c.type) for c in columns], schema=schema)


def to_array(values: list[Any], type_: pa.DataType) -> pa.Array:
    """`values` as an Arrow array of `type_`. Text from the API (dates, timestamps with offsets such as
    `+0000`) is parsed by Arrow's own casts; numbers keep their exact decimal value when the type is decimal;
    anything a string column receives that is not text (a nested object) is kept as its JSON."""
    if pa.types.is_string(type_):
        return pa.array([v if v is None or isinstance(v, str) else _text(v) for v in values], pa.string())
    if pa.types.is_date(type_) or pa.types.is_timestamp(type_) or pa.types.is_time(type_):
        return pa.array(values, pa.string()).cast(type_)
    if pa.types.is_floating(type_):
        return pa.array([None if v is None else float(v) for v in values], type_)
    if pa.types.is_decimal(type_):
        try:
            return pa.array(values, type_)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # more digits than the declared scale, or a float
            quantum = Decimal(1).scaleb(-type_.scale)
            return pa.array([None if v is None else Decimal(str(v)).quantize(quantum) for v in values], type_)
    return pa.array(values, type_)


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def load(engine: sa.Engine, table: str, schema: pa.Schema, source: Iterable[pa.RecordBatch]) -> int:
    """Create `table` (replacing it) with `schema` and append every batch of `source`; the row count.

    On any error the table is dropped: a half-read source must never look like a smaller table."""
    quoted = '"' + table.replace('"', '""') + '"'
    raw = engine.raw_connection()
    try:
        db = raw.driver_connection
        db.register("_sentinel_batch", pa.Table.from_batches([], schema))
        db.execute(f"CREATE OR REPLACE TABLE {quoted} AS SELECT * FROM _sentinel_batch")
        n = 0
        try:
            for batch in source:
                db.register("_sentinel_batch", batch)
                db.execute(f"INSERT INTO {quoted} SELECT * FROM _sentinel_batch")
                n += batch.num_rows
        except BaseException:
            db.execute(f"DROP TABLE IF EXISTS {quoted}")
            raise
        finally:
            db.unregister("_sentinel_batch")
        return n
    finally:
        raw.close()
