"""The SQL target (DuckDB, PostgreSQL): a change-set staged as a zero-copy overlay view, promoted in one
transaction of conditional UPDATEs.

Staging writes nothing to the production table. In the source's `staging_schema` it creates a small cells
table holding only the change-set's new values (one row per key, one value column and one "set" flag per
changed field, typed as the production columns because it is created `AS SELECT ... WHERE false` from the
production table, every value bound), and a view `<staging_schema>.<table>_cs<id>` holding every production
row once, each changed cell replaced. The dataset's checks then run on that view, whatever the table's size,
without a copy.

PostgreSQL: a LEFT JOIN of production and the cells on the key, each changed column `CASE WHEN the cell is set
THEN its new value ELSE the production value END`. The cells are keyed by a primary key, so the planner drops
the join from queries that read no changed column (row counts, volume).

DuckDB (`_rowid_overlay`): its LEFT JOIN probes every row at about 19 ns a row, which more than doubled the
check suite's time at 10M rows. Staging instead reads each cell's production rowid once, and the view splits
production on it: the row groups holding no changed row through a rowid range (the scan prunes by it, no
per-row test), the other rows of the changed row groups through `rowid NOT IN (the cells' rowids)` (a hash
probe, about 9.5 ns a row), and the changed rows through an inner join on the rowid, which DuckDB turns into a
filter on the scan. There each changed column takes the cell's value where the row still holds the cell's key:
a row that moved since staging (the table rewritten) shows its production values, never another row's, and the
verification then fails. Reading rowid also keeps DuckDB from materializing the whole view when a query scans
it twice (the magnitude check). A table with its own column named rowid gets the key join of PostgreSQL, the
cells grouped by the key so DuckDB's join elimination drops it where no changed column is read.

The cost that stays (bench/correct.py): the row groups that hold a changed row pay the per-row test in every
query over the view. A change-set spread over the whole table (10,000 cells in 10M rows touch all 82 row
groups) pays it on every row of each of the suite's 5 scans; DuckDB's cheapest per-row predicate of any kind
costs about 3.4 ns a row, over a quarter of the 12 ns a row the whole suite spends per scan, so no row-level
overlay that leaves the table as it is can stay within 1.2x there. A change-set in a few row groups costs
about nothing (10,000 cells in one row group: 1.05x).

Promotion is one transaction: one `UPDATE t SET f = v.new FROM (VALUES ...) v(k, old, new) WHERE t.key = v.k
AND f IS NOT DISTINCT FROM v.old` per changed field (every value bound and cast to the column's type), the
database checking each precondition on the row it writes, under that row's lock. Each cell an UPDATE did not
match is then read (PostgreSQL: `FOR UPDATE`) and must already hold `fit(new)` (a repeat after a crash); any
other value is a `Conflict`, and the whole transaction rolls back: nothing written. `rollback` is the same with
the inverted cells.

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
from sentinel.correctors.base import Cell, Conflict, ReadBack, TargetError, same, staged_config
from sentinel.envsubst import MissingEnv, redact
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


class SqlTarget:
    """One production table of a `type: sql` source, written through `write_url` (default `url`)."""

    staging_kind = "overlay view"

    def __init__(self, where: Where):
        cfg, name = where.cfg, where.source
        src = cfg.main.sources[name]
        try:
            url = sa.make_url(cfg.url(src.write_url or src.url, f"sources.{name}.write_url"))
        except MissingEnv as exc:  # names the variable, never a value
            raise TargetError(str(exc)) from None
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

    # --- reading -----------------------------------------------------------------------------------------

    def read(self, keys: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        with self._begin() as conn:
            return self._read(conn, keys, fields, lock=False)

    def _read(
        self, conn: sa.Connection, keys: list[str], fields: list[str], lock: bool, table: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """{key: {field: value}} for the keys present in `table` (a staging view's name; default production),
        the keys bound as one array. `lock`: PostgreSQL locks the rows until the transaction ends."""
        for f in fields:
            self._kind(f)  # names an unknown column
        prep = conn.dialect.identifier_preparer
        where = _qualified(prep, self.staging_schema, table) if table else self._qualified(conn)
        by_text = {str(self._key_value(k)): k for k in keys}
        key, cols = prep.quote(self.key), ", ".join(prep.quote(c) for c in [self.key, *fields])
        keys_array = f"CAST({self._ph} AS {self._describe()[self.key].type}[])"
        if self.backend == "postgresql":  # an index scan per key; FOR UPDATE holds them until the write
            sql = f"SELECT {cols} FROM {where} WHERE {key} = ANY({keys_array})" + (" FOR UPDATE" if lock else "")
        else:
            sql = f"SELECT {cols} FROM {where} WHERE {key} IN (SELECT unnest({keys_array}))"
        out: dict[str, dict[str, Any]] = {}
        for row in conn.exec_driver_sql(sql, ([self._key_value(k) for k in dict.fromkeys(keys)],)):
            k = by_text.get(str(row[0]))
            if k is not None:
                out[k] = dict(zip(fields, row[1:], strict=True))
        return out

    @property
    def _ph(self) -> str:
        """The driver's positional placeholder (statements of many values go to the driver directly)."""
        return "%s" if self.backend == "postgresql" else "?"

    def _qualified(self, conn: sa.Connection) -> str:
        return _qualified(conn.dialect.identifier_preparer, self._production(conn)[0], self.name)

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
            by_rowid = self.backend == "duckdb" and self._rowid_usable()
            shape = [prod.c[self.key].label("k")]
            if by_rowid:  # each cell's production rowid, filled below: the view probes on it
                shape.append(sa.cast(sa.null(), sa.BigInteger()).label("rid"))
            for i, f in enumerate(fields):
                shape += [prod.c[f].label(f"v{i}"), sa.false().label(f"s{i}")]
            conn.execute(ddl.CreateTableAs(sa.select(*shape).where(sa.false()), cells_name, schema=self.staging_schema))
            names = ["k"] + [n for i in range(len(fields)) for n in (f"v{i}", f"s{i}")]
            ct = sa.table(cells_name, *[sa.column(n) for n in ["rid", *names]], schema=self.staging_schema)
            values = [[self._key_value(k), *_cell_values(fields, by_field)] for k, by_field in rows.items()]
            self._insert(conn, cells_name, names, values)
            prep = conn.dialect.identifier_preparer
            cells_ref = _qualified(prep, self.staging_schema, cells_name)
            if self.backend == "postgresql":  # a unique k: the planner drops the join where no changed column is read
                conn.exec_driver_sql(f"ALTER TABLE {cells_ref} ADD PRIMARY KEY ({prep.quote('k')})")
            if by_rowid:
                rids = self._locate(conn, cells_ref)
                kind, overlay = "rowid", self._rowid_overlay(prod, ct, fields, _blocks(rids))
            else:
                kind, overlay = "key", self._overlay(prod, ct, fields)
            conn.execute(ddl.CreateView(overlay, view, schema=self.staging_schema))
        handle = {
            "schema": self.staging_schema,
            "view": view,
            "cells_table": cells_name,
            "table": f"{schema}.{self.name}",
            "fields": fields,
            "rows": len(rows),
            "cells": len(cells),
            "overlay": kind,
        }
        self._read_back(cs_id, cells, fields)
        return handle

    def _insert(self, conn: sa.Connection, table: str, names: list[str], values: list[list[Any]]) -> None:
        """INSERT the cells in multi-row VALUES statements (see `_update` for why they go to the driver): the
        table's columns type them."""
        prep = conn.dialect.identifier_preparer
        cols = ", ".join(prep.quote(n) for n in names)
        per = max(1, MAX_PARAMS // len(names))
        for i in range(0, len(values), per):
            chunk = values[i : i + per]
            row = "(" + ", ".join([self._ph] * len(names)) + ")"
            sql = f"INSERT INTO {_qualified(prep, self.staging_schema, table)} ({cols}) VALUES " + ", ".join(
                [row] * len(chunk)
            )
            conn.exec_driver_sql(sql, tuple(x for r in chunk for x in r))

    def _overlay(self, prod: sa.TableClause, ct: sa.TableClause, fields: list[str]) -> sa.Select:
        """Every production column in table order; a changed one reads its cell where the cell is set. On DuckDB
        the cells are grouped by the key, so its join elimination drops the join where no changed column is read
        (PostgreSQL's planner does so from the cells' primary key)."""
        t, c = prod.alias("t"), ct.alias("c")
        if self.backend == "duckdb":
            values = [n for i in range(len(fields)) for n in (f"v{i}", f"s{i}")]
            group = sa.select(ct.c.k, *[sa.func.any_value(ct.c[n]).label(n) for n in values]).group_by(ct.c.k)
            c = group.subquery("c")
        index = {f: i for i, f in enumerate(fields)}
        cols = [
            sa.case((c.c[f"s{index[n]}"], c.c[f"v{index[n]}"]), else_=t.c[n]).label(n) if n in index else t.c[n]
            for n in self._describe()
        ]
        return sa.select(*cols).select_from(t.outerjoin(c, t.c[self.key] == c.c.k))

    def _rowid_usable(self) -> bool:
        """DuckDB's rowid, unless a column of the table is named so (it would shadow the row's position)."""
        return not any(n.lower() == "rowid" for n in self._describe())

    def _locate(self, conn: sa.Connection, cells_ref: str) -> list[int]:
        """Each cell's production rowid, read once at staging (returned). A key held by two rows refuses the
        change-set, as promotion would; a key held by none keeps a NULL rowid, and the read-back then fails."""
        prep = conn.dialect.identifier_preparer
        sql = (
            f"UPDATE {cells_ref} AS c SET rid = t.rowid FROM {self._qualified(conn)} AS t "
            f"WHERE t.{prep.quote(self.key)} = c.k RETURNING c.k, c.rid"
        )
        hit = conn.exec_driver_sql(sql).all()
        if len(hit) != len({k for k, _ in hit}):
            raise TargetError(f"{self.where.object}: key {self.key!r} is not unique; nothing was staged")
        return [int(rid) for _, rid in hit]

    def _rowid_overlay(
        self, prod: sa.TableClause, ct: sa.TableClause, fields: list[str], blocks: list[tuple[int, int]]
    ) -> sa.CompoundSelect:
        """DuckDB: production split on the rowid, UNION ALL of
        - the rows outside `blocks` (row groups holding no changed row): a rowid range filter, pruned by DuckDB's
          scan, no per-row test;
        - the rows inside `blocks` whose rowid is no cell's (`rowid NOT IN (cells' rowids)`, a hash probe; NOT
          EXISTS would be planned as a dependent join next to the range filter, 15x slower);
        - the rows whose rowid is a cell's (an inner join, which DuckDB turns into a filter on the scan), each
          changed column there the cell's value where the row still holds the cell's key and the cell is set.
        Every row exactly once (the ranges and the rowid set partition production); a row that moved since
        staging (the table rewritten) shows its production values, never another row's. Reading rowid also keeps
        DuckDB from materializing the whole view when a query scans it twice (the magnitude check's counts and
        sample). Positions are rendered as integer literals (computed here from the rowids, never data)."""
        names = list(self._describe())

        def production() -> sa.Alias:
            return sa.table(prod.name, *[sa.column(n) for n in [*names, "rowid"]], schema=prod.schema).alias("t")

        def within(t: sa.Alias, ranges: list[tuple[int, int | None]]) -> sa.ColumnElement[bool]:
            big = sa.BigInteger()
            return sa.or_(
                *[
                    t.c.rowid >= sa.literal(a, big)
                    if z is None
                    else t.c.rowid.between(sa.literal(a, big), sa.literal(z, big))
                    for a, z in ranges
                ]
            )

        gaps: list[tuple[int, int | None]] = []  # the complement of `blocks` over [0, oo)
        start = 0
        for a, z in blocks:
            if a > start:
                gaps.append((start, a - 1))
            start = z + 1
        gaps.append((start, None))
        t = production()
        outside = sa.select(*[t.c[n] for n in names]).where(within(t, gaps)) if blocks else None
        t = production()
        located = sa.select(ct.c.rid).where(ct.c.rid.is_not(None))
        kept = sa.select(*[t.c[n] for n in names]).where(t.c.rowid.not_in(located))
        if blocks:
            kept = kept.where(within(t, list(blocks)))
        t, c = production(), ct.alias("c")
        index = {f: i for i, f in enumerate(fields)}
        mine = t.c[self.key] == c.c.k
        cols = [
            sa.case((sa.and_(mine, c.c[f"s{index[n]}"]), c.c[f"v{index[n]}"]), else_=t.c[n]).label(n)
            if n in index
            else t.c[n]
            for n in names
        ]
        changed = sa.select(*cols).select_from(t.join(c, c.c.rid == t.c.rowid))
        return sa.union_all(*[q for q in (outside, kept, changed) if q is not None])

    def _read_back(self, cs_id: int, cells: list[Cell], fields: list[str]) -> None:
        """Each cell, read from the view after commit, must hold exactly `fit(new)`."""
        view, _ = self._names(cs_id)
        with self._begin() as conn:
            got = self._read(conn, [c.key for c in cells], fields, lock=False, table=view)
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
        """All or none, in one transaction: one conditional UPDATE per field (each cell written only where it
        still holds `old`); every cell its UPDATE did not match is then read (PostgreSQL: FOR UPDATE, held
        to the commit) and must already hold `fit(new)`, else everything rolls back and `Conflict` names the
        cells. The outcome is `classify`'s (hold old -> written, hold new -> already, neither -> conflict,
        nothing written), without reading every cell first: a fresh promotion costs the UPDATEs alone, and
        the database checks each precondition against the row it writes, under that row's lock."""
        fields = self._validate(cells)
        written: dict[str, int] = {}
        with self._begin() as conn:
            unmatched: list[Cell] = []
            for f in fields:
                mine = [c for c in cells if c.field == f]
                hit: list[str] = []
                for i in range(0, len(mine), _PER):
                    hit += self._update(conn, f, mine[i : i + _PER])
                if len(hit) != len(set(hit)):  # rolled back by the raise
                    raise TargetError(f"{self.where.object}: key {self.key!r} is not unique; nothing was written")
                written[f] = len(hit)
                done = set(hit)
                unmatched += [c for c in mine if str(self._key_value(c.key)) not in done]
            if unmatched:
                now = self._read(conn, [c.key for c in unmatched], sorted({c.field for c in unmatched}), lock=True)
                found = [
                    (c, now.get(c.key, {}).get(c.field))
                    for c in unmatched
                    if c.key not in now or not same(now[c.key][c.field], self.fit(c.field, c.new))
                ]
                if found:
                    raise Conflict(found)
        n = sum(written.values())
        return {"written": n, "already": len(cells) - n, "by_field": {f: k for f, k in written.items() if k}}

    def _update(self, conn: sa.Connection, field: str, cells: list[Cell]) -> list[str]:
        """UPDATE t SET field = v.new FROM (VALUES ...) v(k, old, new) WHERE t.key = v.k AND field holds old,
        returning the keys written (as text: a key written twice means the key column is not unique).

        Built for the driver, not by SQLAlchemy's compiler, which spends about a millisecond on each CAST of
        a 10,000-row VALUES list: identifiers quoted by the dialect, types from the catalogue (checked by
        `_TYPE`), every value bound, and cast once per column around the VALUES rather than once per row
        (DuckDB binds a list of per-row casts several times slower)."""
        prep = conn.dialect.identifier_preparer
        table, key, f, ph = self._qualified(conn), prep.quote(self.key), prep.quote(field), self._ph
        kt, ft = self._describe()[self.key].type, self._describe()[field].type
        rows = ", ".join([f"({ph}, {ph}, {ph})"] * len(cells))
        sql = (
            f"UPDATE {table} AS t SET {f} = v.new_value FROM (SELECT CAST(x.k AS {kt}) AS k, "
            f"CAST(x.old_value AS {ft}) AS old_value, CAST(x.new_value AS {ft}) AS new_value "
            f"FROM (VALUES {rows}) AS x(k, old_value, new_value)) AS v "
            f"WHERE t.{key} = v.k AND t.{f} IS NOT DISTINCT FROM v.old_value RETURNING t.{key}"
        )
        params = [x for c in cells for x in (self._key_value(c.key), self.fit(field, c.old), self.fit(field, c.new))]
        return [str(r[0]) for r in conn.exec_driver_sql(sql, tuple(params))]


ROW_GROUP = 122_880  # DuckDB's rows per row group (its default): the unit its scan prunes by rowid range
MAX_BLOCKS = 64  # rowid ranges in an overlay view at most: past it, the closest ones are merged


def _blocks(rids: list[int]) -> list[tuple[int, int]]:
    """The rowid ranges (inclusive) covering the row groups that hold `rids`, adjacent ones merged, at most
    MAX_BLOCKS (the narrowest gaps closed first). Merging only moves untouched rows to the anti-joined side."""
    groups = sorted({r // ROW_GROUP for r in rids})
    blocks: list[list[int]] = []
    for g in groups:
        if blocks and blocks[-1][1] == g:
            blocks[-1][1] = g + 1
        else:
            blocks.append([g, g + 1])
    if len(blocks) > MAX_BLOCKS:  # keep the widest MAX_BLOCKS - 1 gaps, close the others
        gaps = sorted(range(len(blocks) - 1), key=lambda j: blocks[j + 1][0] - blocks[j][1], reverse=True)
        merged, first = [], 0
        for j in sorted(gaps[: MAX_BLOCKS - 1]):
            merged.append([blocks[first][0], blocks[j][1]])
            first = j + 1
        blocks = [*merged, [blocks[first][0], blocks[-1][1]]]
    return [(a * ROW_GROUP, b * ROW_GROUP - 1) for a, b in blocks]


_PER = 65_535 // 3  # VALUES rows per UPDATE: three bound values each, within PostgreSQL's 65,535 per statement


def _cell_values(fields: list[str], by_field: dict[str, Any]) -> list[Any]:
    """v0, s0, v1, s1, ...: each field's new value and whether this key sets it."""
    return [x for f in fields for x in (by_field.get(f), f in by_field)]


def _qualified(prep: sa.sql.compiler.IdentifierPreparer, schema: str | None, name: str) -> str:
    return (prep.quote_schema(schema) + "." if schema else "") + prep.quote(name)


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
