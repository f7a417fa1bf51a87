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
from sqlalchemy.pool import StaticPool

from sentinel.sources.base import duckdb_engine

ROWS_PER_BATCH = 2_000  # a Salesforce page
# Batches are short-lived: allocated from the C library's heap, their memory is reused by the next one and by
# DuckDB, where Arrow's default pool (mimalloc) keeps it reserved (one 1M-row load: 205 against 239 MiB peak).
POOL = pa.system_memory_pool()
# DuckDB's share of an API source's memory. Past it, tables spill to disk and queries to temporary files.
# bench/salesforce.py, 1M records: peak RSS 293 MiB with 96 MB and 2 threads, 276 with 48 MB, 264 with 48 MB
# and one thread (the process's floor, Python and its libraries with pandas that DuckDB imports, is ~220).
MEMORY_LIMIT = "48MB"


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
        return pa.array(
            [v if v is None or isinstance(v, str) else _text(v) for v in values], pa.string(), memory_pool=POOL
        )
    if pa.types.is_date(type_) or pa.types.is_timestamp(type_) or pa.types.is_time(type_):
        return pa.array(values, pa.string(), memory_pool=POOL).cast(type_, memory_pool=POOL)
    if pa.types.is_floating(type_):
        return pa.array([None if v is None else float(v) for v in values], type_, memory_pool=POOL)
    if pa.types.is_decimal(type_):
        try:
            return pa.array(values, type_, memory_pool=POOL)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # more digits than the declared scale, or a float
            quantum = Decimal(1).scaleb(-type_.scale)
            exact = [None if v is None else Decimal(str(v)).quantize(quantum) for v in values]
            return pa.array(exact, type_, memory_pool=POOL)
    return pa.array(values, type_, memory_pool=POOL)


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def memory_engine(spill_to: str, memory_limit: str = MEMORY_LIMIT) -> sa.Engine:
    """An in-process DuckDB for streamed tables, whose memory stays under `memory_limit` whatever the size:
    past it, DuckDB moves table blocks to files in `spill_to` (the caller's temporary folder, removed with
    the source). The in-memory catalog is compressed: about half the memory of the default for API records."""
    engine = duckdb_engine("duckdb:///:memory:", poolclass=StaticPool)

    @sa.event.listens_for(engine, "connect")
    def _bounded(dbapi_conn, _record):
        for setting, value in (("memory_limit", memory_limit), ("temp_directory", spill_to)):
            dbapi_conn.execute(f"SET {setting} = '{value.replace(chr(39), chr(39) * 2)}'")
        dbapi_conn.execute("SET threads = 1")  # tables of API records are small to scan; each thread costs memory
        dbapi_conn.execute("ATTACH ':memory:' AS streamed (COMPRESS)")
        dbapi_conn.execute("USE streamed")

    return engine


def load(engine: sa.Engine, table: str, schema: pa.Schema, source: Iterable[pa.RecordBatch]) -> int:
    """Create `table` (replacing it) with `schema` and append every batch of `source`; the row count.

    On any error the table is dropped: a half-read source must never look like a smaller table."""
    quoted = '"' + table.replace('"', '""') + '"'
    raw = engine.raw_connection()
    try:
        db = raw.driver_connection
        _append(db, f"CREATE OR REPLACE TABLE {quoted} AS SELECT * FROM _sentinel_batch", schema.empty_table())
        n = 0
        try:
            for batch in source:
                _append(db, f"INSERT INTO {quoted} SELECT * FROM _sentinel_batch", batch)
                n += batch.num_rows
        except BaseException:
            db.execute(f"DROP TABLE IF EXISTS {quoted}")
            raise
        return n
    finally:
        raw.close()


def _append(db: Any, sql: str, data: pa.RecordBatch | pa.Table) -> None:
    """Run `sql` reading `data` as `_sentinel_batch`. Unregistered at once: a registration replaced by the
    next one is not released, and every batch would stay in memory to the end of the load."""
    db.register("_sentinel_batch", data)
    try:
        db.execute(sql)
    finally:
        db.unregister("_sentinel_batch")
