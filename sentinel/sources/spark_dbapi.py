"""A DB-API 2 driver over Spark Connect, so a Spark cluster is one more SQLAlchemy engine (spark_dialect.py).

`execute(sql, params)` is `spark.sql(sql, args=params)` (Spark's own named markers, `:name`) and the result
comes back as one Arrow table (`toArrow()`): the server sends Arrow batches and nothing is collected row by
row through Spark's Row objects. Sentinel's statements are aggregates, so results are small.

Each connection is its own Spark session (`create()`, never the process-wide `getOrCreate()` one, which
would outlive a server restart) with the session time zone set to UTC: a TIMESTAMP (with local time zone)
then casts to TIMESTAMP_NTZ as UTC wall time, the convention the checks use for naive timestamps. Its CTEs
are computed once per statement, not inlined at each reference (`keep_ctes`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket
import warnings
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

apilevel = "2.0"
threadsafety = 1  # connections may not be shared between threads
paramstyle = "named"

CONNECT_RETRIES = 2  # the client's default retries a lost server for 10+ minutes; a check run gives up sooner
EXCLUDED_RULES = "spark.sql.optimizer.excludedRules"
INLINE_CTE = "org.apache.spark.sql.catalyst.optimizer.InlineCTE"


class Error(Exception):
    pass


class Warning(Exception):  # noqa: A001 - the DB-API name
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class OperationalError(DatabaseError):
    """The server is unreachable, or went away during a statement."""


class ProgrammingError(DatabaseError):
    """Spark refused the statement: a missing table or column, a type it cannot apply (AnalysisException)."""


class DataError(DatabaseError):
    """A value failed at run time (ANSI mode: overflow, a cast that cannot be made)."""


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


def _quiet_pyspark() -> None:
    """pyspark logs every failed statement with its JVM stack trace (~10 kB) on stderr, which a `--json` run
    and the daemon's log do not want: the error itself is raised and reported once, by Sentinel. Two of its
    warnings say nothing the error does not: "PySpark does not yet fully support pandas >= 3.0.0" (the
    Connect client's Arrow path, the only one used here, does not go through pandas; the tests run on pandas
    3) and RETRIES_EXCEEDED (the statement's own error follows). Filters, not catch_warnings(), which is not
    thread-safe: the daemon's workers run in threads."""
    for name in ("SQLQueryContextLogger", "pyspark", "py4j"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    warnings.filterwarnings("ignore", r"\[RETRIES_EXCEEDED\]", UserWarning)


def _import_session():
    _quiet_pyspark()
    from pyspark.sql import SparkSession  # the public builder: it also puts pyspark in Connect mode, which
    from pyspark.sql.connect.client.retries import DefaultPolicy  # pyspark.sql.functions (GX) depends on

    return SparkSession, DefaultPolicy


def connect(url: str, timeout: float = 10.0) -> Connection:
    """A session on the Spark Connect server at `url` (`sc://host:port[/;param=value...]`). The port is probed
    first (within `timeout`), so an unreachable server fails at once instead of inside the client's retries."""
    parts = urlsplit(url)
    if parts.scheme != "sc" or not parts.hostname:
        raise InterfaceError("a Spark Connect URL looks like sc://host:15002")
    try:
        socket.create_connection((parts.hostname, parts.port or 15002), timeout=timeout).close()
    except OSError as exc:
        raise OperationalError(
            f"could not connect to Spark Connect at {parts.hostname}:{parts.port or 15002}: {exc.strerror or exc}"
        ) from None
    SparkSession, DefaultPolicy = _import_session()
    try:
        session = SparkSession.builder.remote(url).create()
        session.client.set_retry_policies(
            [DefaultPolicy(max_retries=CONNECT_RETRIES, initial_backoff=200, max_backoff=1000)]
        )
        session.conf.set("spark.sql.session.timeZone", "UTC")
        inline_rules = keep_ctes(session)
    except Exception as exc:
        raise _wrap(exc) from exc
    return Connection(session, inline_rules)


def keep_ctes(session: Any) -> str:
    """Compute each CTE once per statement; returns the session's excluded rules as they were. Spark inlines
    every deterministic CTE into each place that names it (its InlineCTE rule), so the detectors' statements,
    whose sample CTE feeds five to seven aggregates, scanned and hashed the table once per reference (24
    Parquet scans in magnitude's reference statement). Without the rule Spark plans a CTE once, as a shuffle
    every reference reuses, and still pushes the references' filters and columns into it
    (PushdownPredicatesAndPruneColumnsForCTEDef). The result is the same: a deterministic CTE gives the same
    rows however often it is read. Rules the server already excludes stay excluded."""
    before = session.conf.get(EXCLUDED_RULES, "") or ""
    rules = [r for r in before.split(",") if r.strip()]
    if INLINE_CTE not in rules:
        session.conf.set(EXCLUDED_RULES, ",".join([*rules, INLINE_CTE]))
    return before


def _planner_bug(exc: BaseException) -> bool:
    """Spark 4.x's planner fails some CTE chains it did not inline (GROUPING SETS under several CTE layers:
    `[INTERNAL_ERROR] Invalid call to exprId on unresolved object`, SQLSTATE XX000).
    Such a statement is run again with the CTEs inlined, as Spark does by default."""
    return "INTERNAL_ERROR" in str(exc) or getattr(exc, "getSqlState", lambda: None)() == "XX000"


class Connection:
    def __init__(self, session: Any, inline_rules: str | None = None):
        self.session = session
        self.inline_rules = inline_rules  # the excluded rules that let Spark inline CTEs; None: never changed

    def inlined(self, run):
        """`run()` with Spark inlining CTEs again (its default), for a statement its planner fails otherwise."""
        kept = self.session.conf.get(EXCLUDED_RULES, "") or ""
        self.session.conf.set(EXCLUDED_RULES, self.inline_rules)
        try:
            return run()
        finally:
            self.session.conf.set(EXCLUDED_RULES, kept)

    def cursor(self) -> Cursor:
        return Cursor(self)

    def commit(self) -> None:  # Spark SQL reads have no transaction
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        try:
            self.session.stop()
        except Exception:  # the server may be gone already: nothing is left to release
            pass


class Cursor:
    arraysize = 1000

    def __init__(self, conn: Connection):
        self.connection = conn
        self.description: list[tuple] | None = None
        self.arrow = None  # the last statement's result as a pyarrow Table
        self.rowcount = -1
        self._rows: list[tuple] | None = []  # None: not yet turned into tuples (`fetchall_arrow` never does)
        self._pos = 0

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> Cursor:
        try:
            try:
                table = self._arrow(sql, params)
            except Exception as exc:
                if self.connection.inline_rules is None or not _planner_bug(exc):
                    raise
                table = self.connection.inlined(lambda: self._arrow(sql, params))
        except Exception as exc:
            raise _wrap(exc) from exc
        self.arrow = table
        self.description = [(f.name, str(f.type), None, None, None, None, f.nullable) for f in table.schema]
        self._rows, self._pos, self.rowcount = None, 0, table.num_rows
        return self

    def _tuples(self) -> list[tuple]:
        if self._rows is None:
            columns = [col.to_pylist() for col in self.arrow.columns]
            self._rows = list(zip(*columns, strict=True)) if columns else []
        return self._rows

    def fetchall_arrow(self):
        """The rows not yet fetched as a pyarrow Table, as databricks-sql-connector's cursor names it: a
        detector's sample is read by column, never as 400,000 tuples."""
        if self.arrow is None:
            raise Error("no statement has been executed on this cursor")
        out = self.arrow.slice(self._pos)
        self._pos = self.rowcount
        return out

    def _arrow(self, sql: str, params: Mapping[str, Any] | None):
        return self.connection.session.sql(sql, args=bound(params) if params else None).toArrow()

    def executemany(self, sql: str, seq: Sequence[Mapping[str, Any]]) -> None:
        for params in seq:
            self.execute(sql, params)

    def fetchone(self) -> tuple | None:
        rows = self._tuples()
        if self._pos >= len(rows):
            return None
        self._pos += 1
        return rows[self._pos - 1]

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        n = size or self.arraysize
        out = self._tuples()[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def fetchall(self) -> list[tuple]:
        rows = self._tuples()
        out = rows[self._pos :]
        self._pos = len(rows)
        return out

    def close(self) -> None:
        self.arrow, self._rows, self._pos = None, [], 0

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass


def bound(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as Spark literals. A naive datetime would be read in this process's local time zone (pyspark
    makes it an instant with time.mktime): it is UTC wall time, as the session's zone and Sentinel take it."""
    return {
        k: v.replace(tzinfo=dt.UTC) if isinstance(v, dt.datetime) and v.tzinfo is None else v for k, v in params.items()
    }


def message_of(exc: BaseException) -> str:
    """Spark's message without the JVM stack trace the server appends."""
    text = str(exc).split("\n\nJVM stacktrace:")[0].strip()
    return text or type(exc).__name__


# the server restarted or dropped the session; after a restart pyspark also marks the client closed ("incorrect
# server side session identifier"), and every later statement on it says NO_ACTIVE_SESSION
_SESSION_GONE = re.compile(
    r"INVALID_HANDLE\.SESSION_|SESSION_CHANGED|SESSION_CLOSED|SESSION_NOT_FOUND|NO_ACTIVE_SESSION"
    r"|incorrect server side session identifier"
)


def _wrap(exc: BaseException) -> Error:
    """The DB-API class for a pyspark exception: SQLAlchemy wraps these, and sources/base.py classifies them."""
    from pyspark.errors import AnalysisException, ArithmeticException, NumberFormatException
    from pyspark.errors.exceptions.connect import SparkConnectGrpcException

    msg = message_of(exc)
    if _SESSION_GONE.search(msg):  # the server restarted or dropped the session: a new connection is needed
        return OperationalError(f"Spark Connect session lost: {msg.splitlines()[0]}")
    if isinstance(exc, AnalysisException):
        return ProgrammingError(msg)
    if isinstance(exc, ArithmeticException | NumberFormatException):
        return DataError(msg)
    grpc_status = getattr(exc, "getGrpcStatusCode", lambda: None)()
    if isinstance(exc, SparkConnectGrpcException) and grpc_status is None and "UNAVAILABLE" in msg:
        return OperationalError(msg)
    if type(exc).__name__ in ("_MultiThreadedRendezvous", "_InactiveRpcError", "RetriesExceeded"):
        return OperationalError(f"Spark Connect server went away: {msg.splitlines()[0]}")
    if isinstance(exc, ConnectionError | OSError):
        return OperationalError(msg)
    return DatabaseError(msg)


# DB-API type objects and constructors (SQLAlchemy reads a few of them)
STRING, BINARY, NUMBER, DATETIME, ROWID = "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID"
Date, Time, Timestamp = dt.date, dt.time, dt.datetime
Binary = bytes
