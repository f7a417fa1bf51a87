"""The one interface checks use: aggregate SQL where the data lives, rows by key, column descriptions."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData

from sentinel.envsubst import redact
from sentinel.results import CannotMeasure

if TYPE_CHECKING:
    import pyarrow as pa  # imported where a result is turned into columns: a fresh run may need none


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool
    numeric: bool
    temporal: bool
    text: bool

    @property
    def tz_aware(self) -> bool:
        """TIMESTAMP WITH TIME ZONE / TIMESTAMPTZ: values carry their offset; naive ones need a zone."""
        return "TIME ZONE" in self.type.upper() or "TIMESTAMPTZ" in self.type.upper()


class SourceError(CannotMeasure):
    """The source could not answer: unreachable, missing_table, permission, timeout, unsupported, other."""


MAX_PARAMS = 20_000  # bound values beyond which a statement is sent as literal SQL (each value of an IN list counts)

_PATTERNS = [
    (
        "missing_table",
        r"no such table|does not exist|Table with name .* does not exist|NoSuchTable|not found: table"
        r"|Catalog Error|No files found|NoSuchTableError|Table does not exist"
        r"|TABLE_OR_VIEW_NOT_FOUND|SCHEMA_NOT_FOUND",  # Spark's error classes
    ),
    (
        "permission",
        r"permission denied|access denied|not authorized|insufficient privilege|readonly database"
        r"|INSUFFICIENT_PERMISSIONS|PERMISSION_DENIED",
    ),
    ("timeout", r"timeout expired|timed out|canceling statement due to statement timeout"),
    (
        "unreachable",
        r"could not connect|connection refused|Connection refused|could not translate host|"
        r"unable to open database|server closed the connection|Could not set lock|No such file or directory|"
        r"connection is bad|Name or service not known|IO Error"
        r"|Spark Connect server went away|Spark Connect session lost|StatusCode\.UNAVAILABLE",
    ),
]


def classify(exc: BaseException) -> SourceError:
    """Turn a driver exception into a SourceError with a cause class and a one-line message."""
    if isinstance(exc, SourceError):
        return exc
    raw = redact(str(getattr(exc, "orig", None) or exc))  # a driver may quote the host or user it was given
    first = raw.strip().splitlines()[0] if raw.strip() else type(exc).__name__
    if isinstance(exc, sa_exc.NoSuchTableError):
        return SourceError("missing_table", f"table {first} does not exist")
    context = getattr(getattr(exc, "orig", None) or exc, "context", None)
    status = context.get("http-code") if isinstance(context, dict) else None
    if status in (401, 403):  # databricks-sql-connector: a refused token is an HTTP status, its reason a header
        return SourceError("permission", f"HTTP {status} from the server: {first}")
    for cause, pattern in _PATTERNS:
        if re.search(pattern, raw, re.IGNORECASE):
            return SourceError(cause, first)
    if isinstance(exc, sa_exc.InterfaceError | ConnectionError | OSError):
        return SourceError("unreachable", first)
    return SourceError("other", f"{type(exc).__name__}: {first}")


def _flags(t: Any) -> tuple[bool, bool, bool]:
    numeric = isinstance(t, sa.Numeric | sa.Integer | sa.Float)
    temporal = isinstance(t, sa.Date | sa.DateTime | sa.Time)
    text = isinstance(t, sa.String | sa.Text | sa.Enum)
    if not (numeric or temporal or text) and not isinstance(t, sa.types.NullType):  # unknown reflected types
        return _flags_by_name(str(t))
    return numeric, temporal, text


def _flags_by_name(type_text: str) -> tuple[bool, bool, bool]:
    name = type_text.upper()
    if name.endswith("[]") or name.startswith(("STRUCT", "MAP", "LIST", "UNION", "ARRAY")):
        return False, False, False
    numeric = bool(re.search(r"INT|NUM|DEC|REAL|DOUBLE|FLOAT", name)) and "INTERVAL" not in name
    temporal = bool(re.search(r"DATE|TIME", name))
    text = bool(re.search(r"CHAR|TEXT|STRING|CLOB", name))
    return numeric, temporal, text


class SqlSource:
    """A SQLAlchemy engine plus how a dataset's `table:` maps onto a selectable in it."""

    def __init__(
        self,
        name: str,
        engine: sa.Engine,
        resolve: Callable[[str], tuple[str | None, str]] | None = None,
        speculation_key: str | None = None,
        shared: bool = False,
    ):
        self.name = name
        self.engine = engine
        self.shared = shared  # the engine outlives this source (a daemon's pool): close() keeps it
        self._resolve = resolve or _split_schema
        self._conn: sa.Connection | None = None
        # Set for sources the speculative scan can reproduce (prefetch.py): the unexpanded URL, and the
        # literal SQL of every statement this run executed, recorded for the next process.
        self.speculation_key = speculation_key
        self.executed_sql: list[str] = []
        self.db_seconds = 0.0  # time its statements took in the database, this run

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def connection(self) -> sa.Connection:
        if self._conn is None:
            try:
                self._conn = self.engine.connect()
            except Exception as exc:
                raise classify(exc) from exc
        return self._conn

    def table(self, table: str) -> sa.TableClause:
        schema, name = self._resolve(table)
        return sa.table(name, schema=schema)

    def describe(self, table: str) -> dict[str, ColumnInfo]:
        """Columns in table order. Raises SourceError(missing_table) when it does not exist."""
        schema, name = self._resolve(table)
        if self.dialect == "duckdb":
            return self._describe_duckdb(schema, name)
        conn = self.connection()
        try:
            cols = sa.inspect(conn).get_columns(name, schema=schema)
        except Exception as exc:
            self._reset()
            raise classify(exc) from exc
        if not cols:
            raise SourceError("missing_table", f"table {table} does not exist or has no columns")
        out: dict[str, ColumnInfo] = {}
        for c in cols:
            t = c["type"]
            try:
                type_text = t.compile(dialect=self.engine.dialect)
            except Exception:
                type_text = str(t) if not isinstance(t, sa.types.NullType) else "UNKNOWN"
            out[c["name"]] = ColumnInfo(c["name"], type_text, bool(c.get("nullable", True)), *_flags(t))
        return out

    def _describe_duckdb(self, schema: str | None, name: str) -> dict[str, ColumnInfo]:
        # duckdb_engine's inspector queries pg_catalog tables DuckDB 2 no longer has; DESCRIBE covers
        # tables, views and registered Arrow data alike.
        prep = self.engine.dialect.identifier_preparer
        target = (prep.quote(schema) + "." if schema else "") + prep.quote(name)
        rows = self._run(f"DESCRIBE {target}")
        return {r[0]: ColumnInfo(r[0], r[1], r[2] != "NO", *_flags_by_name(r[1])) for r in rows}

    def execute_arrow(self, stmt: sa.Executable) -> pa.Table:
        """`execute`'s result as one pyarrow Table, for results of many rows that are read column by column
        (a detector's fetched sample: 400,000 rows as Row objects and tuples cost Python 0.4 s on Spark). A
        driver with an Arrow result (`fetchall_arrow`: Spark Connect's, Databricks') hands it over as it is;
        others' rows are turned into columns."""
        return self._execute(stmt, arrow=True)

    def execute(self, stmt: sa.Executable) -> list[sa.Row]:
        """Rows of `stmt`. DuckDB gets it as literal SQL: with bound parameters it plans a generic statement
        and the detectors' queries run about 4x slower (measured on 10M rows: 2.3 s against 0.6 s). So does any
        statement with more bound values than drivers accept (PostgreSQL's protocol stops at 65,535): the
        detectors pass one row of literals per group, `history_by` a list of changed buckets, `expect` a
        value_set. Literal SQL goes to the driver as it is (`_run`), never through `sa.text()`, which would
        take `:name` inside a category label for a parameter and `\\:` for an escaped colon."""
        return self._execute(stmt)

    def _execute(self, stmt: sa.Executable, arrow: bool = False) -> Any:
        many = self.dialect != "duckdb" and bound_values(stmt.compile(dialect=self.engine.dialect)) > MAX_PARAMS
        sql = None
        if self.speculation_key is not None or self.dialect == "duckdb" or many:
            sql = literal_sql(stmt, self.engine.dialect)
        if sql is not None and (self.dialect == "duckdb" or many):
            return self._run(sql, arrow=arrow)
        return self._run(sql, stmt, arrow)

    def _run(self, sql: str | None, stmt: sa.Executable | None = None, arrow: bool = False) -> Any:
        """Rows of `stmt`, or with no `stmt` of `sql` sent to the driver byte for byte (no parameters, so
        psycopg leaves `%` alone too). `sql` is also the text the speculative scan records and matches."""
        if sql is not None and self.speculation_key is not None:
            self.executed_sql.append(sql)
            from sentinel import prefetch

            hit = prefetch.take(self.speculation_key, sql) if prefetch.active() else None
            if hit is not None:
                names, rows, seconds = hit
                self.db_seconds += seconds
                if arrow:
                    return columns_of(names, rows)
                return list(IteratorResult(SimpleResultMetaData(names), iter(rows)).all())
            if self._conn is None:
                prefetch.release(self.speculation_key)
        began = time.perf_counter()
        try:
            conn = self.connection()
            if stmt is None:
                result = conn.exec_driver_sql(sql, execution_options={"no_parameters": True})
            else:
                result = conn.execute(stmt)
            if not arrow:
                return list(result.fetchall())
            with result:
                fetch = getattr(result.cursor, "fetchall_arrow", None)
                return fetch() if fetch is not None else columns_of(list(result.keys()), result.fetchall())
        except Exception as exc:
            self._reset()
            raise classify(exc) from exc
        finally:
            self.db_seconds += time.perf_counter() - began

    def origin_of(self, table: str, key_column: str, keys: list[str]) -> dict[str, dict]:
        """Where each keyed row of `table` lives at its origin, for evidence: {key: {"record": ..., "url": ...}}
        from an API source. A database row has nothing further to name: empty."""
        return {}

    @property
    def names_origins(self) -> bool:
        """Whether `origin_of` can name anything: only a source that overrides it (an API's records, a sheet's
        cells). A run skips the lookup otherwise, which would walk every listed evidence row for nothing."""
        return type(self).origin_of is not SqlSource.origin_of

    def _reset(self) -> None:
        if self._conn is not None:
            try:
                self._conn.rollback()
            except Exception:
                self.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None
        if not self.shared:
            self.engine.dispose()


def columns_of(names: list[str], rows: Any) -> pa.Table:
    """Rows as a pyarrow Table of `names` (a column of no rows, or of NULLs only, is typed null)."""
    import pyarrow as pa

    rows = list(rows)
    return pa.Table.from_arrays([pa.array([r[i] for r in rows]) for i in range(len(names))], names=names)


def bound_values(compiled: sa.engine.Compiled) -> int:
    """How many values a compiled statement binds: an expanding IN list binds one per element (a tuple IN,
    one per member), not one for the list, which is how PostgreSQL's 65,535 limit counts them."""
    binds = getattr(compiled, "binds", {})
    n = 0
    for name, value in compiled.params.items():
        bind = binds.get(name)
        if bind is not None and bind.expanding and isinstance(value, list | tuple):
            n += sum(len(v) if isinstance(v, tuple) else 1 for v in value)
        else:
            n += 1
    return n


def literal_sql(stmt: sa.Executable, dialect: sa.Dialect) -> str | None:
    """`stmt` with its values rendered as literals, as the database must receive it byte for byte; None when
    a value has no literal form (the caller binds it instead).

    Dialects whose drivers use `%s` placeholders (psycopg) double every `%` in rendered literals, operators
    and identifiers, for the driver to undo when it substitutes parameters. Literal SQL is sent with none,
    so it is rendered by a copy of the dialect that does not double them: `p%q` stays `p%q`, `x % 7` a
    modulo, and the text the speculative scan records is the one that runs."""
    if dialect.identifier_preparer._double_percents:
        dialect = _single_percents(dialect)
    try:
        return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except Exception:  # not renderable as literal SQL
        return None


def _single_percents(dialect: sa.Dialect) -> sa.Dialect:
    """A copy of `dialect` whose rendered SQL keeps `%` single. Made per statement (a few microseconds), so it
    carries what connecting taught the dialect, such as how PostgreSQL's settings want backslashes rendered."""
    lit = copy.copy(dialect)
    lit.__dict__.pop("_type_memos", None)  # cached literal processors close over the original dialect
    prep = copy.copy(dialect.identifier_preparer)
    prep.dialect, prep._strings, prep._double_percents = lit, {}, False
    lit.identifier_preparer = prep
    return lit


def duckdb_engine(url: str | sa.URL, **kwargs: Any) -> sa.Engine:
    """A DuckDB engine: the dialect registered directly (SQLAlchemy would otherwise scan every installed
    distribution's entry points; duckdb_dialect.py says why it is a subclass of duckdb_engine's), and no
    progress bar (DuckDB draws one on the terminal during long queries, which would corrupt `--json`)."""
    from sqlalchemy.dialects import registry

    registry.register("duckdb", "sentinel.sources.duckdb_dialect", "Dialect")
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _no_progress_bar(dbapi_conn, _record):
        dbapi_conn.execute("SET enable_progress_bar = false")

    return engine


def _split_schema(table: str) -> tuple[str | None, str]:
    schema, _, name = table.rpartition(".")
    return (schema or None), name
