"""Spark SQL for SQLAlchemy Core: databricks-sqlalchemy's dialect, fixed where Sentinel's statements meet
open-source Spark 4 (ANSI mode), over the Spark Connect driver in spark_dbapi.py.

databricks-sqlalchemy compiles Core without a connection (backtick identifiers, `:name` markers, LIMIT ALL).
What it leaves to Databricks, and this dialect does for any Spark:
- types by name: its `@compiles` hooks are keyed on the dialect name "databricks", so this type compiler
  spells them itself (STRING for VARCHAR, DOUBLE for Float: Sentinel's Float is PostgreSQL's double).
- ANSI mode raises on `x / 0`: division is `try_divide` (NULL), as DuckDB and SQLite answer.
- no `~` operator: `regexp_match` is `RLIKE` (Java regex, a search, like Python's re.search).
- `date_trunc` returns a TIMESTAMP (local time zone): it is cast back to TIMESTAMP_NTZ, so truncating a
  naive timestamp keeps it naive. `timezone('UTC', ts)` (PostgreSQL's UTC wall time of an instant) is a cast
  to TIMESTAMP_NTZ, exact because spark_dbapi sets every session's time zone to UTC.
- `isfinite(x)`: Spark has no infinite timestamps and no isfinite(); `x = x` is NULL for NULL, else TRUE
  (Spark's NaN equals itself), as Sentinel only asks it of a timestamp minimum.
- reflection by `DESCRIBE TABLE` and `SHOW TABLES`, with Spark's own type names (databricks-sqlalchemy asks
  Unity Catalog's metadata API, which open-source Spark does not have).
`percentile_cont(q) WITHIN GROUP (ORDER BY x)` is exact on Spark and stays as it is.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from databricks.sqlalchemy import DatabricksDialect
from databricks.sqlalchemy._ddl import DatabricksStatementCompiler
from sqlalchemy.sql import compiler


class SparkTypeCompiler(compiler.GenericTypeCompiler):
    def visit_string(self, type_, **kw):
        return "STRING"

    visit_VARCHAR = visit_NVARCHAR = visit_CHAR = visit_NCHAR = visit_TEXT = visit_unicode = visit_string
    visit_unicode_text = visit_text = visit_enum = visit_uuid = visit_UUID = visit_string

    def visit_float(self, type_, **kw):
        return "DOUBLE"

    visit_FLOAT = visit_REAL = visit_DOUBLE = visit_double = visit_DOUBLE_PRECISION = visit_float

    def visit_datetime(self, type_, **kw):
        return "TIMESTAMP" if getattr(type_, "timezone", False) else "TIMESTAMP_NTZ"

    visit_DATETIME = visit_TIMESTAMP = visit_datetime

    def visit_boolean(self, type_, **kw):
        return "BOOLEAN"

    def visit_large_binary(self, type_, **kw):
        return "BINARY"

    def visit_numeric(self, type_, **kw):
        return self.visit_DECIMAL(type_, **kw)

    def visit_user_defined(self, type_, **kw):
        return type_.get_col_spec(**kw)


class SparkCompiler(DatabricksStatementCompiler):
    def visit_regexp_match_op_binary(self, binary, operator, **kw):
        return f"{self.process(binary.left, **kw)} RLIKE {self.process(binary.right, **kw)}"

    def visit_not_regexp_match_op_binary(self, binary, operator, **kw):
        return f"NOT ({self.visit_regexp_match_op_binary(binary, operator, **kw)})"

    def visit_truediv_binary(self, binary, operator, **kw):
        return f"try_divide({self.process(binary.left, **kw)}, {self.process(binary.right, **kw)})"

    def visit_date_trunc_func(self, fn, **kw):
        return f"CAST(date_trunc({self.function_argspec(fn, **kw)[1:-1]}) AS TIMESTAMP_NTZ)"

    def visit_timezone_func(self, fn, **kw):
        zone, value = fn.clauses.clauses
        if not (isinstance(zone, sa.BindParameter) and zone.value == "UTC"):
            raise sa.exc.CompileError("timezone() on Spark: only 'UTC' (the session time zone) is supported")
        return f"CAST({self.process(value, **kw)} AS TIMESTAMP_NTZ)"

    def visit_isfinite_func(self, fn, **kw):
        (value,) = fn.clauses.clauses
        arg = self.process(value, **kw)
        return f"({arg} = {arg})"


class SparkString(sa.types.TypeDecorator):
    """Strings rendered as Spark literals: Spark reads `\\` inside quotes as an escape, so a value's own
    backslashes and quotes are escaped (the default doubles quotes only, and `\\'` would end the literal)."""

    impl = sa.String
    cache_ok = True

    def literal_processor(self, dialect):
        def process(value: str) -> str:
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

        return process


class SparkColumnType(sa.types.UserDefinedType):
    """A column type as Spark names it (`BIGINT`, `DECIMAL(10,2)`, `TIMESTAMP WITH LOCAL TIME ZONE`): what
    the schema check records, and what sources/base.py reads numeric/temporal/text from."""

    cache_ok = True

    def __init__(self, spec: str):
        self.spec = spec

    def get_col_spec(self, **kw: Any) -> str:
        return self.spec


def spark_type(text: str) -> SparkColumnType:
    """Spark's `DESCRIBE` type text in the form this dialect reports: upper case; `timestamp` (an instant,
    shown in the session zone) spelt as the standard's TIMESTAMP WITH LOCAL TIME ZONE so Sentinel treats it
    as time-zone aware."""
    spec = text.strip().upper()
    if spec in ("TIMESTAMP", "TIMESTAMP_LTZ"):
        spec = "TIMESTAMP WITH LOCAL TIME ZONE"
    return SparkColumnType(spec)


class SparkDialect(DatabricksDialect):
    name = "spark"
    driver = "connect"
    statement_compiler = SparkCompiler
    type_compiler_cls = SparkTypeCompiler
    supports_statement_cache = True
    default_schema_name = "default"
    colspecs: dict = {sa.String: SparkString}  # values come back as Arrow gives them: no result processors

    @classmethod
    def import_dbapi(cls):
        from sentinel.sources import spark_dbapi

        return spark_dbapi

    def create_connect_args(self, url: sa.URL):
        """`spark+connect://host:port?token=...` -> `sc://host:port/;token=...` (Spark Connect's own URL form).
        The `type: spark` opener passes the sc:// URL itself in connect_args, which overrides this."""
        self.schema, self.catalog = url.query.get("schema"), url.query.get("catalog")
        params = "".join(f";{k}={v}" for k, v in url.query.items() if k not in ("schema", "catalog"))
        return [], {"url": f"sc://{url.host or '127.0.0.1'}:{url.port or 15002}" + (f"/{params}" if params else "")}

    def initialize(self, connection: Any) -> None:
        sa.engine.default.DefaultDialect.initialize(self, connection)
        self.paramstyle = self.default_paramstyle

    def _get_server_version_info(self, connection: Any) -> Any:
        return None

    def _get_default_schema_name(self, connection: Any) -> str:
        return "default"

    def get_isolation_level(self, dbapi_connection: Any) -> str:
        return "AUTOCOMMIT"

    def get_default_isolation_level(self, dbapi_conn: Any) -> str:
        return "AUTOCOMMIT"

    def is_disconnect(self, e: Any, connection: Any, cursor: Any) -> bool:
        return isinstance(e, self.loaded_dbapi.OperationalError)

    def _target(self, table_name: str, schema: str | None) -> str:
        prep = self.identifier_preparer
        return (prep.quote_identifier(schema) + "." if schema else "") + prep.quote_identifier(table_name)

    def get_columns(self, connection, table_name, schema=None, **kw) -> list[dict]:
        """Columns in table order from `DESCRIBE TABLE` (its partition section repeats them: stop at the
        first blank or `#` line). A missing table raises NoSuchTableError."""
        try:
            rows = connection.exec_driver_sql(f"DESCRIBE TABLE {self._target(table_name, schema)}").fetchall()
        except sa.exc.ProgrammingError as exc:
            if re.search(r"TABLE_OR_VIEW_NOT_FOUND|SCHEMA_NOT_FOUND", str(exc)):
                raise sa.exc.NoSuchTableError(f"{schema + '.' if schema else ''}{table_name}") from exc
            raise
        out = []
        for name, type_text, *_ in rows:
            if not name or name.startswith("#"):
                break
            out.append({"name": name, "type": spark_type(type_text), "nullable": True, "default": None})
        return out

    def has_table(self, connection, table_name, schema=None, **kw) -> bool:
        try:
            self.get_columns(connection, table_name, schema)
        except sa.exc.NoSuchTableError:
            return False
        return True

    def get_table_names(self, connection, schema=None, **kw) -> list[str]:
        target = f" IN {self.identifier_preparer.quote_identifier(schema)}" if schema else ""
        rows = connection.exec_driver_sql(f"SHOW TABLES{target}").fetchall()
        return [r[1] for r in rows if not r[2]]  # (namespace, tableName, isTemporary)

    def get_view_names(self, connection, schema=None, **kw) -> list[str]:
        target = f" IN {self.identifier_preparer.quote_identifier(schema)}" if schema else ""
        return [r[1] for r in connection.exec_driver_sql(f"SHOW VIEWS{target}").fetchall()]

    def get_schema_names(self, connection, **kw) -> list[str]:
        return [r[0] for r in connection.exec_driver_sql("SHOW SCHEMAS").fetchall()]

    def get_pk_constraint(self, connection, table_name, schema=None, **kw) -> dict:
        return {"constrained_columns": [], "name": None}

    def get_foreign_keys(self, connection, table_name, schema=None, **kw) -> list:
        return []

    def get_indexes(self, connection, table_name, schema=None, **kw) -> list:
        return []


class DatabricksSqlDialect(SparkDialect):
    """The same Spark SQL on a Databricks SQL warehouse, through databricks-sql-connector (Thrift over HTTPS,
    `:name` parameters bound by the warehouse, Arrow results): `spark+databricks://token:TOKEN@HOST?http_path=`.
    Compiled and connected as databricks-sqlalchemy does, plus the URL's port; run here only against a fake
    warehouse (tests/fakes/databricks_warehouse.py), never a real one (no network)."""

    driver = "databricks"
    supports_statement_cache = True  # SQLAlchemy reads it from each class's own namespace, not inherited

    @classmethod
    def import_dbapi(cls):
        from databricks import sql

        return sql

    def create_connect_args(self, url: sa.URL):
        args, kwargs = DatabricksDialect.create_connect_args(self, url)
        if url.port:  # databricks-sqlalchemy drops the URL's port: the connector would dial 443
            kwargs["_port"] = url.port
        kwargs["session_configuration"] = {"spark.sql.session.timeZone": "UTC"}  # as spark_dbapi sets it
        return args, kwargs


def register() -> None:
    """Make `spark://`, `spark+connect://` and `spark+databricks://` URLs create these dialects (without
    scanning every installed distribution's entry points)."""
    from sqlalchemy.dialects import registry

    registry.register("spark", "sentinel.sources.spark_dialect", "SparkDialect")
    registry.register("spark.connect", "sentinel.sources.spark_dialect", "SparkDialect")
    registry.register("spark.databricks", "sentinel.sources.spark_dialect", "DatabricksSqlDialect")
