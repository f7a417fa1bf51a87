"""The SQL target (DuckDB, PostgreSQL): a change-set staged as a zero-copy overlay view, promoted in one
transaction of conditional UPDATEs.

Staging writes nothing to the production table. In the source's `staging_schema` it creates a small cells
table holding only the change-set's new values (one row per key, one value column and one "set" flag per
changed field, typed as the production columns because it is created `AS SELECT ... WHERE false` from the
production table), and a view `<staging_schema>.<table>_cs<id>`: every production column, each changed one as
`CASE WHEN the cell is set THEN its new value ELSE the production value END`, through a LEFT JOIN on the key.
The dataset's checks then run on that view, whatever the table's size, without a copy.

Promotion is one transaction: read the cells' current values (PostgreSQL: `FOR UPDATE`, so nobody changes
them before the write), `classify` them (a cell holding neither old nor new raises `Conflict` and nothing is
written), then one `UPDATE t SET f = v.new FROM (VALUES ...) v(k, old, new) WHERE t.key = v.k AND f IS NOT
DISTINCT FROM v.old` per changed field, every value bound and cast to the column's type. The updated row count
must equal the cells to write, else everything rolls back (a row changed between the read and the write).

A DuckDB file is opened read-write only for the length of one call: the runner opens the same file read-only
in the same process to measure the staged view, and DuckDB refuses two configurations on one file.
"""

from __future__ import annotations

import decimal
import hashlib
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import schema as ddl

from sentinel.checks.exact import PRECISION, to_decimal
from sentinel.correctors.base import Cell, Conflict, ReadBack, TargetError, classify, staged_config
from sentinel.envsubst import redact
from sentinel.sources.base import MAX_PARAMS, ColumnInfo, SourceError, SqlSource, _split_schema, duckdb_engine
from sentinel.sources.base import classify as source_error

if TYPE_CHECKING:
    from sentinel.config import Config, DatasetConfig
    from sentinel.correctors.base import Where

MAX_IDENT = 63  # PostgreSQL truncates longer identifiers (NAMEDATALEN - 1 bytes)
# A type text from the catalogue that may be rendered in a CAST: a name, optional (n[, m]). Anything else
# (STRUCT(...), arrays, quoted user types) is not a writable column here.
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?$")
_TRANSIENT = re.compile(
    r"lock|deadlock|could not serialize|serialization failure|conflict|timeout|timed out|"
    r"connection|could not connect|server closed|terminating",
    re.IGNORECASE,
)


class _CatalogType(sa.types.UserDefinedType):
    """A column's type as the catalogue names it, for CAST(bound value AS <type>): values bind with the exact
    type of the column they are compared with or written to (a NULL, a str key, a Decimal for NUMERIC(18,2))."""

    cache_ok = True

    def __init__(self, text: str):
        self.text = text

    def get_col_spec(self, **_kw: Any) -> str:
        return self.text


class SqlTarget:
    """One production table of a `type: sql` source, written through `write_url` (default `url`)."""

    staging_kind = "overlay view"

    def __init__(self, where: Where):
        cfg, name = where.cfg, where.source
        src = cfg.main.sources[name]
        try:
            url = sa.make_url(cfg.url(src.write_url or src.url, f"sources.{name}.write_url"))
        except (ValueError, sa.exc.ArgumentError):  # the message would quote the URL: name the key instead
            raise TargetError(f"sources.{name}.write_url: not a valid SQLAlchemy URL") from None
        self.backend = url.get_backend_name()
        if self.backend not in ("duckdb", "postgresql"):
            raise TargetError(f"source {name!r}: corrections write DuckDB and PostgreSQL only, not {self.backend}")
        self._url = url
        self._timeout = int(src.connect_timeout.total_seconds())
        self._engine: sa.Engine | None = None
        self.where = where
        self.staging_schema: str = src.staging_schema
        self.schema, self.name = _split_schema(where.object)
        self.key = where.key_column
        self._columns: dict[str, ColumnInfo] | None = None

    # --- connections -------------------------------------------------------------------------------------

    def _make_engine(self) -> sa.Engine:
        if self.backend == "duckdb":
            return duckdb_engine(self._url)  # read-write: this is the writer
        return sa.create_engine(self._url, connect_args={"connect_timeout": self._timeout})

    @contextmanager
    def _begin(self, describe: bool = True) -> Iterator[sa.Connection]:
        """One transaction (committed when the block ends, rolled back on any exception). DuckDB's file is
        released at the end of each call; PostgreSQL keeps its pool until `close()`. The table is described
        first, once, outside any transaction."""
        if describe:
            self._describe()
        if self._engine is None:
            self._engine = self._make_engine()
        try:
            with self._engine.begin() as conn:
                yield conn
        except TargetError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc
        finally:
            if self.backend == "duckdb":
                self.close()

    def _error(self, exc: BaseException) -> TargetError:
        """A driver failure as a TargetError naming the table (never the URL); locks, serialization failures,
        timeouts and lost connections are transient: the transaction rolled back, a retry starts over."""
        err: SourceError = source_error(exc)
        raw = redact(str(getattr(exc, "orig", None) or exc))
        transient = err.cause in ("unreachable", "timeout") or bool(_TRANSIENT.search(raw))
        return TargetError(f"{self.where.object}: {err.message}", transient=transient)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- the table -----------------------------------------------------------------------------------------

    def _describe(self) -> dict[str, ColumnInfo]:
        if self._columns is None:
            owned = self._engine is None
            if owned:
                self._engine = self._make_engine()
            reader = SqlSource(self.where.source, self._engine, shared=True)
            try:
                self._columns = reader.describe(self.where.object)
            except SourceError as exc:
                raise TargetError(
                    f"{self.where.object}: {exc.message}", transient=exc.cause in ("unreachable", "timeout")
                ) from None
            finally:
                reader.close()
                if owned and self.backend == "duckdb":
                    self.close()
            if self.key not in self._columns:
                raise TargetError(f"{self.where.object} has no key column {self.key!r}")
        return self._columns

    def _kind(self, field: str) -> str:
        """decimal, double, real, int, text, bool, or other (not writable here)."""
        col = self._describe().get(field)
        if col is None:
            raise TargetError(f"{field!r} is not a column of {self.where.object}")
        t = col.type.upper()
        if not _TYPE.match(col.type):
            return "other"
        if t.startswith(("DECIMAL", "NUMERIC")):
            return "decimal"
        if t in ("REAL", "FLOAT4") or (self.backend == "duckdb" and t == "FLOAT"):
            return "real"
        if t.startswith(("DOUBLE", "FLOAT")):
            return "double"
        if "INT" in t and "INTERVAL" not in t and "POINT" not in t:
            return "int"
        if re.search(r"CHAR|TEXT|STRING|CLOB", t):
            return "text"
        if t in ("BOOLEAN", "BOOL"):
            return "bool"
        return "other"

    def _type(self, field: str) -> _CatalogType:
        return _CatalogType(self._describe()[field].type)

    def fields(self) -> dict[str, str]:
        """Writable columns (numbers, text, booleans; never the key) -> their type."""
        cols = self._describe()
        return {n: c.type for n, c in cols.items() if n != self.key and self._kind(n) != "other"}

    def fit(self, field: str, value: Any) -> Any:
        """`value` as the column stores it. A DECIMAL value is quantized to its scale only when that is exact:
        otherwise the unquantized Decimal comes back, the database rounds it on write, and the read-back
        differs (a value is never rounded silently). A non-integral value for an integer column likewise."""
        if value is None:
            return None
        kind = self._kind(field)
        if kind == "text":
            return value if isinstance(value, str) else str(value)
        if kind in ("other", "bool") or isinstance(value, bool):
            return value
        try:
            d = to_decimal(value)
        except ValueError:
            return value  # not a number: the database refuses it, or the read-back differs
        if kind == "double":
            return float(d)
        if kind == "real":
            return struct.unpack("f", struct.pack("f", float(d)))[0]
        if not d.is_finite():
            return d
        if kind == "int":
            return int(d) if d == d.to_integral_value() else d
        return _quantized(d, self._describe()[field].type)

    # --- names -----------------------------------------------------------------------------------------

    def _names(self, cs_id: int) -> tuple[str, str]:
        """The overlay view and its cells table, from the change-set id alone (a handle cannot redirect them)."""
        base = f"{self.name}_cs{int(cs_id)}"
        return _ident(base), _ident(base + "_cells")

    def _production(self, conn: sa.Connection) -> tuple[str, sa.TableClause]:
        """The production table, schema-qualified: a DuckDB view resolves unqualified names when it is read."""
        schema = self.schema or conn.execute(sa.select(sa.func.current_schema())).scalar_one()
        cols = [sa.column(c) for c in self._describe()]
        return schema, sa.table(self.name, *cols, schema=schema)

    def _key_value(self, key: str) -> Any:
        return self.fit(self.key, key) if self._kind(self.key) in ("int", "text") else key

    def _cast(self, value: Any, field: str) -> sa.ColumnElement:
        t = self._type(field)  # the bind is not typed by its Python value (an int is not always an INTEGER)
        return sa.cast(sa.literal(value, t), t)

    # --- reading -----------------------------------------------------------------------------------------

    def read(self, keys: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        with self._begin() as conn:
            return self._read(conn, keys, fields, lock=False)

    def _read(
        self, conn: sa.Connection, keys: list[str], fields: list[str], lock: bool, table: sa.TableClause | None = None
    ) -> dict[str, dict[str, Any]]:
        """{key: {field: value}} for the keys present in `table` (default production). `lock`: PostgreSQL
        locks the rows until the transaction ends."""
        for f in fields:
            self._kind(f)  # names an unknown column
        if table is None:
            table = self._production(conn)[1]
        by_text = {str(self._key_value(k)): k for k in keys}
        keycol = table.c[self.key]
        out: dict[str, dict[str, Any]] = {}
        per = max(1, MAX_PARAMS // 2)
        wanted = list(dict.fromkeys(keys))
        for i in range(0, len(wanted), per):
            chunk = [self._cast(self._key_value(k), self.key) for k in wanted[i : i + per]]
            stmt = sa.select(keycol, *[table.c[f] for f in fields]).where(keycol.in_(chunk))
            if lock and self.backend == "postgresql":
                stmt = stmt.with_for_update()
            for row in conn.execute(stmt):
                k = by_text.get(str(row[0]))
                if k is not None:
                    out[k] = dict(zip(fields, row[1:], strict=True))
        return out

    # --- staging -----------------------------------------------------------------------------------------

    def _validate(self, cells: list[Cell]) -> list[str]:
        """The changed fields, sorted; refuses the key, unknown or unwritable columns and repeated cells."""
        seen: set[tuple[str, str]] = set()
        for c in cells:
            if c.field == self.key:
                raise TargetError(f"{self.where.object}: the key column {self.key!r} is never written")
            if self._kind(c.field) == "other":
                raise TargetError(f"{self.where.object}.{c.field} ({self._describe()[c.field].type}) is not writable")
            if (c.key, c.field) in seen:
                raise TargetError(f"{self.where.object}: cell {c.key}.{c.field} appears twice in the change-set")
            seen.add((c.key, c.field))
        return sorted({c.field for c in cells})

    def stage(self, cs_id: int, cells: list[Cell]) -> dict[str, Any]:
        if not cells:
            raise TargetError("an empty change-set has nothing to stage")
        fields = self._validate(cells)
        view, cells_name = self._names(cs_id)
        rows: dict[str, dict[str, Any]] = {}
        for c in cells:
            rows.setdefault(c.key, {})[c.field] = self.fit(c.field, c.new)
        with self._begin(describe=False) as conn:
            conn.execute(ddl.CreateSchema(self.staging_schema, if_not_exists=True))
        with self._begin() as conn:
            schema, prod = self._production(conn)
            meta = sa.MetaData()
            conn.execute(ddl.DropView(sa.Table(view, meta, schema=self.staging_schema), if_exists=True))
            conn.execute(ddl.DropTable(sa.Table(cells_name, meta, schema=self.staging_schema), if_exists=True))
            shape = [prod.c[self.key].label("k")]
            for i, f in enumerate(fields):
                shape += [prod.c[f].label(f"v{i}"), sa.false().label(f"s{i}")]
            conn.execute(ddl.CreateTableAs(sa.select(*shape).where(sa.false()), cells_name, schema=self.staging_schema))
            names = ["k"] + [n for i in range(len(fields)) for n in (f"v{i}", f"s{i}")]
            ct = sa.table(cells_name, *[sa.column(n) for n in names], schema=self.staging_schema)
            values = [{"k": self._key_value(k), **_cell_values(fields, by_field)} for k, by_field in rows.items()]
            per = max(1, MAX_PARAMS // len(names))
            for i in range(0, len(values), per):
                conn.execute(sa.insert(ct).values(values[i : i + per]))
            conn.execute(ddl.CreateView(self._overlay(prod, ct, fields), view, schema=self.staging_schema))
        handle = {
            "schema": self.staging_schema,
            "view": view,
            "cells_table": cells_name,
            "table": f"{schema}.{self.name}",
            "fields": fields,
            "rows": len(rows),
            "cells": len(cells),
        }
        self._read_back(cs_id, cells, fields)
        return handle

    def _overlay(self, prod: sa.TableClause, ct: sa.TableClause, fields: list[str]) -> sa.Select:
        """Every production column in table order; a changed one reads its cell where the cell is set."""
        t, c = prod.alias("t"), ct.alias("c")
        index = {f: i for i, f in enumerate(fields)}
        cols = [
            sa.case((c.c[f"s{index[n]}"], c.c[f"v{index[n]}"]), else_=t.c[n]).label(n) if n in index else t.c[n]
            for n in self._describe()
        ]
        return sa.select(*cols).select_from(t.outerjoin(c, t.c[self.key] == c.c.k))

    def _read_back(self, cs_id: int, cells: list[Cell], fields: list[str]) -> None:
        """Each cell, read from the view after commit, must hold exactly `fit(new)`."""
        view, _ = self._names(cs_id)
        vt = sa.table(view, *[sa.column(n) for n in self._describe()], schema=self.staging_schema)
        with self._begin() as conn:
            got = self._read(conn, [c.key for c in cells], fields, lock=False, table=vt)
        wrong = []
        for c in cells:
            have = got.get(c.key, {}).get(c.field)
            if c.key not in got or not _identical(have, self.fit(c.field, c.new)):
                wrong.append((c, have))
        if wrong:
            raise ReadBack(wrong)

    def staged(self, cs_id: int, handle: dict[str, Any]) -> tuple[Config, DatasetConfig]:
        view, _ = self._names(cs_id)
        return staged_config(self.where.cfg, self.where.dataset, f"{self.staging_schema}.{view}")

    def discard(self, cs_id: int, handle: dict[str, Any]) -> None:
        view, cells_name = self._names(cs_id)
        meta = sa.MetaData()
        with self._begin(describe=False) as conn:
            conn.execute(ddl.DropView(sa.Table(view, meta, schema=self.staging_schema), if_exists=True))
            conn.execute(ddl.DropTable(sa.Table(cells_name, meta, schema=self.staging_schema), if_exists=True))

    # --- production --------------------------------------------------------------------------------------

    def promote(self, cs_id: int, cells: list[Cell], handle: dict[str, Any]) -> dict[str, Any]:
        return self._apply(cells)

    def rollback(self, cs_id: int, cells: list[Cell], handle: dict[str, Any]) -> dict[str, Any]:
        return self._apply(cells)

    def _apply(self, cells: list[Cell]) -> dict[str, Any]:
        """All or none: classify under lock, then one conditional UPDATE per field whose count must match."""
        fields = self._validate(cells)
        mismatch: str | None = None
        try:
            with self._begin() as conn:
                _, prod = self._production(conn)
                now = self._read(conn, [c.key for c in cells], fields, lock=True, table=prod)
                todo, done, conflicts = classify(cells, now, self.fit)
                if conflicts:
                    raise Conflict(conflicts)
                written: dict[str, int] = {}
                for f in fields:
                    mine = [c for c in todo if c.field == f]
                    if not mine:
                        continue
                    n = sum(self._update(conn, prod, f, mine[i : i + _PER]) for i in range(0, len(mine), _PER))
                    if n != len(mine):
                        mismatch = f
                        raise _Changed(f"{self.where.object}.{f}: a row changed between read and write")
                    written[f] = n
        except _Changed:
            now = self.read([c.key for c in cells], fields)
            found = [(c, now.get(c.key, {}).get(c.field)) for c in cells if c.field == mismatch]
            raise Conflict(classify(cells, now, self.fit)[2] or found) from None
        return {"written": len(todo), "already": len(done), "by_field": written}

    def _update(self, conn: sa.Connection, prod: sa.TableClause, field: str, cells: list[Cell]) -> int:
        """UPDATE prod SET field = v.new FROM (VALUES ...) v(k, old, new) WHERE key = v.k AND field holds old."""
        rows = [
            (
                self._cast(self._key_value(c.key), self.key),
                self._cast(self.fit(field, c.old), field),
                self._cast(self.fit(field, c.new), field),
            )
            for c in cells
        ]
        v = sa.values(sa.column("k"), sa.column("old"), sa.column("new"), name="v").data(rows)
        stmt = (
            sa.update(prod)
            .values({field: v.c.new})
            .where(prod.c[self.key] == v.c.k, prod.c[field].is_not_distinct_from(v.c.old))
        )
        return conn.execute(stmt).rowcount


_PER = MAX_PARAMS // 3  # VALUES rows per UPDATE: three bound values each, under PostgreSQL's 65,535


class _Changed(TargetError):
    """An UPDATE matched fewer rows than classified: a row changed between the read and the write."""


def _cell_values(fields: list[str], by_field: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, f in enumerate(fields):
        out[f"v{i}"] = by_field.get(f)
        out[f"s{i}"] = f in by_field
    return out


def _quantized(d: Decimal, type_text: str) -> Decimal:
    """`d` at the column's scale when that is exact and fits its precision; else `d` itself."""
    m = re.search(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", type_text)
    if m is None:
        return d  # NUMERIC without a declared scale stores the value as it is
    p, s = int(m.group(1)), int(m.group(2) or 0)
    ctx = decimal.Context(prec=max(PRECISION, p + len(d.as_tuple().digits) + s + 2))
    try:
        q = d.quantize(Decimal(1).scaleb(-s), context=ctx)
    except decimal.InvalidOperation:
        return d
    return q if q == d and len(q.as_tuple().digits) <= p else d


def _identical(have: Any, want: Any) -> bool:
    """Read-back equality: both NULL, or equal values of the same family (a text '1.0' never equals 1)."""
    if have is None or want is None:
        return have is None and want is None
    if isinstance(have, str) != isinstance(want, str):
        return False
    return bool(have == want)


def _ident(name: str) -> str:
    """A lower-case [a-z0-9_] identifier within PostgreSQL's 63 bytes; a short hash of the original keeps
    names distinct when characters are replaced or the name is cut."""
    clean = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if clean == name and len(clean) <= MAX_IDENT:
        return clean
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{clean[: MAX_IDENT - 9]}_{digest}"


def open(where: Where) -> SqlTarget:  # noqa: A001 - the registry's entry point name
    return SqlTarget(where)
