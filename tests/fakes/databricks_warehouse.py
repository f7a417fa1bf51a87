"""A Databricks SQL warehouse on 127.0.0.1 for tests of the `databricks://` source: Thrift TCLIService over
HTTPS, spoken by the generated Thrift code databricks-sql-connector ships (its Processor and TBinaryProtocol),
so the real connector is driven end to end. Statements run on a real Spark SQL engine: the test session's
Spark Connect server, one Spark session per Thrift session, named parameters bound as Spark args (typed
from the connector's TSparkParameter type and string value, as a warehouse casts them). Results go back as
Arrow IPC batches (LZ4-framed when the client accepts it) through the asynchronous path: ExecuteStatement
returns a handle without direct results, so the client polls GetOperationStatus, asks GetResultSetMetadata
and pages with FetchResults, then CloseOperation.

TLS: a self-signed certificate for 127.0.0.1 made here (`ca_file`: trust it in the client). Every request must
carry `Authorization: Bearer <token>` (else 401, the reason in the `x-databricks-reason-phrase` header); the
tokens received are recorded (`tokens`), so a test can assert the connector sent the configured one. Requests
to any other path are 404 and recorded in `other_paths`."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import logging
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import lz4.frame
import pyarrow as pa
from databricks.sql.thrift_api.TCLIService import TCLIService
from databricks.sql.thrift_api.TCLIService import ttypes as T
from thrift.protocol.TBinaryProtocol import TBinaryProtocol
from thrift.transport.TTransport import TMemoryBuffer

from fakes.tls import self_signed

OK = T.TStatus(statusCode=T.TStatusCode.SUCCESS_STATUS)


@dataclass
class Operation:
    table: pa.Table | None  # None: the statement failed
    error: str = ""
    sql_state: str | None = None
    lz4: bool = False
    offset: int = 0  # rows already fetched


@dataclass
class Warehouse:
    port: int
    http_path: str
    ca_file: Path
    tokens: list[str] = field(default_factory=list)  # the bearer token of every request, in order
    calls: list[str] = field(default_factory=list)  # Thrift methods called, in order
    statements: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (SQL, bound args)
    other_paths: list[str] = field(default_factory=list)
    stop: Any = None  # stops serving (a connection refused afterwards)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


def spark_value(param: T.TSparkParameter, time_zone: str) -> Any:
    """The Python value Spark binds for a TSparkParameter (its string value cast to its type, as a warehouse
    does; a naive TIMESTAMP is read in the session's time zone)."""
    kind = (param.type or "STRING").upper()
    text = param.value.stringValue if param.value is not None else None
    if kind == "VOID" or text is None:
        return None
    if kind in ("INT", "BIGINT", "SMALLINT", "TINYINT"):
        return int(text)
    if kind in ("DOUBLE", "FLOAT"):
        return float(text)
    if kind.startswith("DECIMAL"):
        return decimal.Decimal(text)
    if kind == "BOOLEAN":
        return text.lower() == "true"
    if kind == "DATE":
        return dt.date.fromisoformat(text)
    if kind in ("TIMESTAMP", "TIMESTAMP_NTZ"):
        value = dt.datetime.fromisoformat(text)
        if kind == "TIMESTAMP" and value.tzinfo is None:
            from zoneinfo import ZoneInfo

            value = value.replace(tzinfo=ZoneInfo(time_zone))
        return value
    if kind == "STRING":
        return text
    raise ValueError(f"the fake warehouse does not bind parameters of type {kind}")


_TYPES = [
    (pa.types.is_boolean, T.TTypeId.BOOLEAN_TYPE),
    (pa.types.is_int8, T.TTypeId.TINYINT_TYPE),
    (pa.types.is_int16, T.TTypeId.SMALLINT_TYPE),
    (pa.types.is_int32, T.TTypeId.INT_TYPE),
    (pa.types.is_int64, T.TTypeId.BIGINT_TYPE),
    (pa.types.is_float32, T.TTypeId.FLOAT_TYPE),
    (pa.types.is_float64, T.TTypeId.DOUBLE_TYPE),
    (pa.types.is_decimal, T.TTypeId.DECIMAL_TYPE),
    (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), T.TTypeId.STRING_TYPE),
    (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t), T.TTypeId.BINARY_TYPE),
    (pa.types.is_timestamp, T.TTypeId.TIMESTAMP_TYPE),
    (pa.types.is_date, T.TTypeId.DATE_TYPE),
    (pa.types.is_null, T.TTypeId.NULL_TYPE),
    (lambda t: pa.types.is_list(t) or pa.types.is_large_list(t), T.TTypeId.ARRAY_TYPE),
    (pa.types.is_map, T.TTypeId.MAP_TYPE),
    (pa.types.is_struct, T.TTypeId.STRUCT_TYPE),
]


def hive_schema(schema: pa.Schema) -> T.TTableSchema:
    """The Hive-style column descriptions a warehouse sends next to the Arrow schema."""
    columns = []
    for i, f in enumerate(schema):
        type_id = next((tid for test, tid in _TYPES if test(f.type)), T.TTypeId.STRING_TYPE)
        qualifiers = None
        if type_id == T.TTypeId.DECIMAL_TYPE:
            qualifiers = T.TTypeQualifiers(
                qualifiers={
                    "precision": T.TTypeQualifierValue(i32Value=f.type.precision),
                    "scale": T.TTypeQualifierValue(i32Value=f.type.scale),
                }
            )
        entry = T.TTypeEntry(primitiveEntry=T.TPrimitiveTypeEntry(type=type_id, typeQualifiers=qualifiers))
        columns.append(T.TColumnDesc(columnName=f.name, typeDesc=T.TTypeDesc(types=[entry]), position=i + 1))
    return T.TTableSchema(columns=columns)


class Handler:
    """TCLIService's server side: what databricks-sql-connector's Thrift backend calls."""

    def __init__(self, warehouse: Warehouse, spark_url: str):
        self.warehouse = warehouse
        self.spark_url = spark_url
        self.sessions: dict[bytes, tuple[Any, str]] = {}  # session guid -> (Spark session, time zone)
        self.operations: dict[bytes, Operation] = {}
        self.lock = threading.Lock()

    def _handle(self) -> T.THandleIdentifier:
        return T.THandleIdentifier(guid=uuid.uuid4().bytes, secret=uuid.uuid4().bytes)

    def OpenSession(self, req: T.TOpenSessionReq) -> T.TOpenSessionResp:  # noqa: N802 - Thrift's names
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.remote(self.spark_url).create()
        conf = {k: v for k, v in (req.configuration or {}).items() if k.startswith("spark.sql.")}
        for key, value in conf.items():  # a warehouse takes a few spark.sql settings (the time zone among them)
            spark.conf.set(key, value)
        if req.initialNamespace and req.initialNamespace.schemaName:
            spark.catalog.setCurrentDatabase(req.initialNamespace.schemaName)
        handle = self._handle()
        with self.lock:
            self.sessions[handle.guid] = (spark, conf.get("spark.sql.session.timeZone", "UTC"))
        version = min(req.client_protocol_i64 or 0, T.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V8)
        return T.TOpenSessionResp(
            status=OK,
            serverProtocolVersion=version,
            sessionHandle=T.TSessionHandle(sessionId=handle, serverProtocolVersion=version),
            configuration={},
            canUseMultipleCatalogs=True,
        )

    def CloseSession(self, req: T.TCloseSessionReq) -> T.TCloseSessionResp:  # noqa: N802
        with self.lock:
            spark, _ = self.sessions.pop(req.sessionHandle.sessionId.guid, (None, None))
        if spark is not None:
            spark.stop()
        return T.TCloseSessionResp(status=OK)

    def ExecuteStatement(self, req: T.TExecuteStatementReq) -> T.TExecuteStatementResp:  # noqa: N802
        with self.lock:
            session = self.sessions.get(req.sessionHandle.sessionId.guid)
        if session is None:
            return T.TExecuteStatementResp(
                status=T.TStatus(
                    statusCode=T.TStatusCode.ERROR_STATUS,
                    errorMessage="Invalid SessionHandle: the session was closed or never opened",
                    sqlState="HY000",
                )
            )
        spark, time_zone = session
        args = {p.name: spark_value(p, time_zone) for p in req.parameters or []}
        self.warehouse.statements.append((req.statement, args))
        try:
            table = spark.sql(req.statement, args=args or None).toArrow()
            op = Operation(table, lz4=bool(req.canDecompressLZ4Result))
        except Exception as exc:  # Spark's error is the operation's error, as a warehouse reports it
            message = (exc.getMessage() if hasattr(exc, "getMessage") else str(exc)).split("\n\nJVM stacktrace:")[0]
            state = exc.getSqlState() if hasattr(exc, "getSqlState") else None
            op = Operation(None, error=message, sql_state=state)
        handle = self._handle()
        with self.lock:
            self.operations[handle.guid] = op
        return T.TExecuteStatementResp(
            status=OK,
            operationHandle=T.TOperationHandle(
                operationId=handle, operationType=T.TOperationType.EXECUTE_STATEMENT, hasResultSet=True
            ),
        )

    def _operation(self, handle: T.TOperationHandle) -> Operation | None:
        with self.lock:
            return self.operations.get(handle.operationId.guid)

    def GetOperationStatus(self, req: T.TGetOperationStatusReq) -> T.TGetOperationStatusResp:  # noqa: N802
        op = self._operation(req.operationHandle)
        if op is None:
            return T.TGetOperationStatusResp(status=OK, operationState=T.TOperationState.CLOSED_STATE)
        if op.table is None:
            return T.TGetOperationStatusResp(
                status=OK,
                operationState=T.TOperationState.ERROR_STATE,
                errorMessage=op.error,
                displayMessage=op.error,
                sqlState=op.sql_state,
            )
        return T.TGetOperationStatusResp(status=OK, operationState=T.TOperationState.FINISHED_STATE, hasResultSet=True)

    def _metadata(self, op: Operation) -> T.TGetResultSetMetadataResp:
        return T.TGetResultSetMetadataResp(
            status=OK,
            schema=hive_schema(op.table.schema),
            resultFormat=T.TSparkRowSetType.ARROW_BASED_SET,
            lz4Compressed=op.lz4,
            arrowSchema=op.table.schema.serialize().to_pybytes(),
            isStagingOperation=False,
        )

    def GetResultSetMetadata(self, req: T.TGetResultSetMetadataReq) -> T.TGetResultSetMetadataResp:  # noqa: N802
        op = self._operation(req.operationHandle)
        if op is None or op.table is None:
            return T.TGetResultSetMetadataResp(
                status=T.TStatus(statusCode=T.TStatusCode.ERROR_STATUS, errorMessage="no result set")
            )
        return self._metadata(op)

    def FetchResults(self, req: T.TFetchResultsReq) -> T.TFetchResultsResp:  # noqa: N802
        op = self._operation(req.operationHandle)
        if op is None or op.table is None:
            return T.TFetchResultsResp(
                status=T.TStatus(statusCode=T.TStatusCode.ERROR_STATUS, errorMessage="no result set")
            )
        start = op.offset
        part = op.table.slice(start, max(1, req.maxRows or 10_000))
        op.offset = start + part.num_rows
        batches = []
        for batch in part.to_batches():
            data = batch.serialize().to_pybytes()
            batches.append(
                T.TSparkArrowBatch(batch=lz4.frame.compress(data) if op.lz4 else data, rowCount=batch.num_rows)
            )
        return T.TFetchResultsResp(
            status=OK,
            hasMoreRows=op.offset < op.table.num_rows,
            results=T.TRowSet(startRowOffset=start, rows=[], arrowBatches=batches),
            resultSetMetadata=self._metadata(op) if req.includeResultSetMetadata else None,
        )

    def CloseOperation(self, req: T.TCloseOperationReq) -> T.TCloseOperationResp:  # noqa: N802
        with self.lock:
            self.operations.pop(req.operationHandle.operationId.guid, None)
        return T.TCloseOperationResp(status=OK)

    def CancelOperation(self, req: T.TCancelOperationReq) -> T.TCancelOperationResp:  # noqa: N802
        self.CloseOperation(T.TCloseOperationReq(operationHandle=req.operationHandle))  # statements ran already
        return T.TCancelOperationResp(status=OK)

    def close(self) -> None:
        with self.lock:
            sessions, self.sessions = list(self.sessions.values()), {}
        for spark, _ in sessions:
            spark.stop()


@contextmanager
def databricks_warehouse(
    spark_url: str, token: str, folder: Path, http_path: str = "/sql/1.0/warehouses/w1"
) -> Iterator[Warehouse]:
    """A warehouse serving `http_path` over HTTPS on 127.0.0.1 (a free port), running statements on the Spark
    Connect server `spark_url`; requests without `Bearer token` are 401."""
    for name in ("SQLQueryContextLogger", "pyspark"):  # pyspark logs each failed statement with a JVM trace
        logging.getLogger(name).setLevel(logging.CRITICAL)
    cert_file, key_file = self_signed(folder, "warehouse")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    lock = threading.Lock()
    connections: set[socket.socket] = set()  # open keep-alive connections: cut when the warehouse stops

    class Http(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the connector's pool expects

        def setup(self) -> None:
            super().setup()
            with lock:
                connections.add(self.connection)

        def finish(self) -> None:
            super().finish()
            with lock:
                connections.discard(self.connection)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            auth = self.headers.get("Authorization") or ""
            with lock:
                warehouse.tokens.append(auth.removeprefix("Bearer "))
            if self.path != http_path:
                with lock:
                    warehouse.other_paths.append(self.path)
                return self._answer(404, b"not found")
            if auth != f"Bearer {token}":  # the reason is a header, where the connector reads it
                return self._answer(401, b"", headers={"x-databricks-reason-phrase": "Invalid access token."})
            out = TMemoryBuffer()
            iprot = TBinaryProtocol(TMemoryBuffer(body))
            name = iprot.readMessageBegin()[0]
            with lock:
                warehouse.calls.append(name)
            processor.process(TBinaryProtocol(TMemoryBuffer(body)), TBinaryProtocol(out))
            self._answer(200, out.getvalue(), "application/x-thrift")

        def do_GET(self) -> None:  # noqa: N802
            with lock:
                warehouse.other_paths.append(self.path)
            self._answer(404, b"not found")

        def _answer(self, status: int, payload: bytes, kind: str = "text/plain", headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Http)
    server.daemon_threads = True
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    warehouse = Warehouse(server.server_address[1], http_path, cert_file)
    handler = Handler(warehouse, spark_url)
    processor = TCLIService.Processor(handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            server.shutdown()
            server.server_close()
            with lock:
                for conn in list(connections):
                    with contextlib.suppress(OSError):
                        conn.shutdown(socket.SHUT_RDWR)
            handler.close()

    warehouse.stop = stop
    try:
        yield warehouse
    finally:
        stop()
