"""The Iceberg target: a change-set is staged on a branch of the table and published by fast-forwarding main.

Write-Audit-Publish through pyiceberg's own API (a SqlCatalog, as `sentinel/sources/iceberg.py` opens it):

- stage: branch `sentinel-cs<id>` is cut from main's current snapshot, the key rows are read from main, the
  cells changed and the rows overwritten on the branch only (`overwrite_filter=In(key, keys)`); main is never
  written. The branch is read back, and each cell must hold exactly `fit(new)`.
- promote: main moves to a snapshot holding the cells, and only forward: pyiceberg 0.12 has no fast-forward,
  and `set_current_snapshot` would silently drop commits, so every move is guarded by `is_ancestor_of`
  (main's head must be an ancestor of the new head) and committed with pyiceberg's ref requirement (the commit
  fails if main moved since it was read: a compare-and-swap on main). If main moved on after staging but
  the cells still hold `old`, the cells are re-applied on a fresh branch cut from the new main (a rebase), so
  the other commits survive.
- rollback: the inverted cells, the same way, on branch `sentinel-cs<id>-rollback` cut from current main.

A `Table` object is a snapshot of the metadata, so each step reloads the table. Only main is production:
a source configured on another branch is refused at open.
"""

from __future__ import annotations

import decimal
import struct
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sentinel.checks.exact import to_decimal
from sentinel.correctors.base import Cell, Conflict, ReadBack, TargetError, Where, classify, same, staged_config

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa
    from pyiceberg.table import Table

    from sentinel.config import Config, DatasetConfig

MAIN = "main"
MARK = "sentinel.changeset"  # snapshot summary properties of what Sentinel wrote: the change-set and its base
BASE = "sentinel.base"


def branch_names(cs_id: int) -> tuple[str, str, str]:
    """The refs one change-set may create: its staging branch, a rebase branch and a rollback branch."""
    return f"sentinel-cs{cs_id}", f"sentinel-cs{cs_id}-rebase", f"sentinel-cs{cs_id}-rollback"


def open(where: Where) -> IcebergTarget:
    return IcebergTarget(where)


@contextmanager
def _api(what: str) -> Iterator[None]:
    """pyiceberg/catalog failures as TargetError; a lost race on a ref or a busy catalog is transient (every
    step is repeatable), a missing table or a refused value is not. Messages are redacted (no catalog URL)."""
    from pyiceberg.exceptions import CommitFailedException

    from sentinel.sources.base import classify as classify_error

    try:
        yield
    except TargetError:
        raise
    except CommitFailedException as exc:
        raise TargetError(f"{what}: the table changed during the commit; retry", transient=True) from exc
    except Exception as exc:
        err = classify_error(exc)
        busy = err.cause in ("timeout", "unreachable") or "locked" in err.message.lower()
        raise TargetError(f"{what}: {err.message}", transient=busy) from exc


class IcebergTarget:
    staging_kind = "branch"

    def __init__(self, where: Where):
        from sentinel.sources.iceberg import catalog_of

        self.where = where
        self.src = where.cfg.main.sources[where.source]
        if self.src.branch != MAIN:
            raise TargetError(f"source {where.source!r} reads branch {self.src.branch!r}; only main can be corrected")
        with _api(f"opening the catalog of source {where.source!r}"):
            self.catalog = catalog_of(where.source, self.src, where.cfg)
        self.name, self.key = where.object, where.key_column
        self.schema = self._load().schema()
        names = [f.name for f in self.schema.fields]
        if self.key not in names:
            raise TargetError(f"{self.name} has no key column {self.key!r}")

    # --- describing and fitting values ------------------------------------------------------------------

    def fields(self) -> dict[str, str]:
        """Top-level columns of a type a cell can be written to exactly (text, integers, doubles, decimals),
        the key excepted."""
        return {f.name: str(f.field_type) for f in self.schema.fields if f.name != self.key and _kind(f.field_type)}

    def _type(self, field: str) -> Any:
        for f in self.schema.fields:
            if f.name == field and f.name != self.key and _kind(f.field_type):
                return f.field_type
        raise TargetError(f"{field!r} is not a writable column of {self.name}")

    def fit(self, field: str, value: Any) -> Any:
        """The value as the column stores it, when it can be stored exactly; otherwise the value unchanged,
        which then reads back differently (a 3-decimal value never becomes a DECIMAL(12,2) silently)."""
        return _fit(self._type(field), value)

    # --- reading ----------------------------------------------------------------------------------------

    def _load(self) -> Table:
        with _api(f"loading {self.name}"):
            return self.catalog.load_table(self.name)

    def _main(self, tbl: Table) -> int:
        ref = tbl.metadata.refs.get(MAIN)
        if ref is None:
            raise TargetError(f"{self.name} has no snapshot on main: nothing to correct")
        return ref.snapshot_id

    def _typed_keys(self, keys: list[str]) -> list[Any]:
        """Cell keys (text) as values of the key column; a key that cannot be one names no row."""
        kind = _kind(self.schema.find_field(self.key).field_type)
        out = []
        for k in dict.fromkeys(keys):
            if kind == "string":
                out.append(str(k))
            elif kind == "int":
                try:
                    out.append(int(k))
                except ValueError:
                    continue
            else:
                raise TargetError(f"key column {self.key!r} of {self.name} is neither text nor an integer")
        return out

    def _rows(self, tbl: Table, snapshot_id: int, keys: list[str], fields: list[str] | None = None) -> pa.Table:
        """The rows of `keys` in one snapshot (all columns, or the key and `fields`)."""
        from pyiceberg.expressions import AlwaysFalse, In

        typed = self._typed_keys(keys)
        cols = ("*",) if fields is None else (self.key, *dict.fromkeys(fields))
        where = In(self.key, typed) if typed else AlwaysFalse()
        with _api(f"reading {self.name}"):
            return tbl.scan(row_filter=where, selected_fields=cols, snapshot_id=snapshot_id).to_arrow()

    def _by_key(self, rows: pa.Table) -> dict[str, dict[str, Any]]:
        """Rows by key text; a key naming two rows is refused (a cell must name one value)."""
        out: dict[str, dict[str, Any]] = {}
        for row in rows.to_pylist():
            k = str(row[self.key])
            if k in out:
                raise TargetError(f"key {k!r} names more than one row of {self.name}; cells need a unique key")
            out[k] = row
        return out

    def read(self, keys: list[str], fields: list[str]) -> dict[str, dict[str, Any]]:
        tbl = self._load()
        rows = self._by_key(self._rows(tbl, self._main(tbl), keys, fields))
        return {k: {f: row[f] for f in fields} for k, row in rows.items()}

    def _differing(self, tbl: Table, snapshot_id: int, cells: list[Cell]) -> list[tuple[Cell, Any]]:
        """Cells that do not hold exactly `fit(new)` in the snapshot (None: the row is missing)."""
        rows = self._by_key(self._rows(tbl, snapshot_id, [c.key for c in cells], [c.field for c in cells]))
        found = []
        for c in cells:
            have = rows[c.key][c.field] if c.key in rows else None
            if c.key not in rows or not _exact(have, self.fit(c.field, c.new)):
                found.append((c, have))
        return found

    # --- writing a branch -------------------------------------------------------------------------------

    def _apply(self, cs_id: int, branch: str, base: int, cells: list[Cell]) -> tuple[Table, int]:
        """Cut `branch` from snapshot `base` (dropping a leftover of an interrupted attempt), overwrite the
        rows of the cells' keys there with the cells changed, read them back; the branch head. Only `branch`
        is written: creating it first matters, as writing to a missing branch would create an orphan."""
        import pyarrow as pa
        from pyiceberg.expressions import In

        for c in cells:
            self._type(c.field)
        tbl = self._drop(self._load(), [branch])
        rows = self._rows(tbl, base, [c.key for c in cells])
        by_key = self._by_key(rows)
        gone = [(c, None) for c in cells if c.key not in by_key]
        if gone:
            raise Conflict(gone)
        for c in cells:
            by_key[c.key][c.field] = self._stored(c, rows.schema.field(c.field).type)
        changed = pa.Table.from_pylist(list(by_key.values()), schema=rows.schema)
        with _api(f"staging on branch {branch} of {self.name}"):
            tbl.manage_snapshots().create_branch(snapshot_id=base, branch_name=branch).commit()
            tbl = self.catalog.load_table(self.name)
            tbl.overwrite(
                changed,
                overwrite_filter=In(self.key, self._typed_keys(list(by_key))),
                branch=branch,
                snapshot_properties={MARK: str(cs_id), BASE: str(base)},
            )
        tbl = self._load()
        head = tbl.metadata.refs[branch].snapshot_id
        found = self._differing(tbl, head, cells)
        if found:
            raise ReadBack(found)
        return tbl, head

    def _stored(self, cell: Cell, arrow_type: pa.DataType) -> Any:
        """What is written for `cell.new`: its fitted value, rounded to the column where it cannot be stored
        exactly (the read-back then differs and says so). A value the column cannot hold at all (too many
        digits, text in a number column) is a ReadBack without writing."""
        import pyarrow as pa

        t = self._type(cell.field)
        value = _fit(t, cell.new)
        try:
            if value is not None and _kind(t) != "string":
                d = to_decimal(value)
                kind = _kind(t)
                if kind == "decimal":
                    with decimal.localcontext(decimal.Context(prec=200)):
                        value = d.quantize(Decimal(1).scaleb(-t.scale), rounding=decimal.ROUND_HALF_EVEN)
                elif kind == "int":
                    value = int(d.to_integral_value(rounding=decimal.ROUND_HALF_EVEN))
                else:
                    value = float(d)
            pa.array([value], type=arrow_type)
        except (ValueError, ArithmeticError, pa.ArrowException):
            raise ReadBack([(cell, None)]) from None
        return value

    def _drop(self, tbl: Table, branches: list[str]) -> Table:
        """Remove those of `branches` that exist (never main); the reloaded table."""
        present = [b for b in branches if b != MAIN and b in tbl.metadata.refs]
        if not present:
            return tbl
        with _api(f"removing branches of {self.name}"):
            manage = tbl.manage_snapshots()
            for b in present:
                manage = manage.remove_branch(b)
            manage.commit()
        return self._load()

    # --- the protocol -----------------------------------------------------------------------------------

    def stage(self, cs_id: int, cells: list[Cell]) -> dict[str, Any]:
        """Branch `sentinel-cs<id>` holding the cells. Run again on a branch that already holds them, it
        returns the same handle; a branch left half-done by an interruption is cut again."""
        branch = branch_names(cs_id)[0]
        tbl = self._load()
        ref = tbl.metadata.refs.get(branch)
        if ref is not None:
            base = (tbl.metadata.snapshot_by_id(ref.snapshot_id).summary or {}).get(BASE)
            if base is not None and not self._differing(tbl, ref.snapshot_id, cells):
                return {"branch": branch, "base": int(base), "head": ref.snapshot_id}
        base_id = self._main(tbl)
        _, head = self._apply(cs_id, branch, base_id, cells)
        return {"branch": branch, "base": base_id, "head": head}

    def staged(self, cs_id: int, handle: dict[str, Any]) -> tuple[Config, DatasetConfig]:
        on_branch = self.src.model_copy(update={"branch": handle["branch"]})
        return staged_config(self.where.cfg, self.where.dataset, self.name, self.where.source, on_branch)

    def promote(self, cs_id: int, cells: list[Cell], handle: dict[str, Any]) -> dict[str, Any]:
        """Fast-forward main to the staged head if main is still its ancestor; else, with the cells still
        holding `old` on the moved main, re-apply them on a fresh branch from it and fast-forward that."""
        return self._publish(cs_id, cells, handle.get("head"), branch_names(cs_id)[1])

    def rollback(self, cs_id: int, cells: list[Cell], handle: dict[str, Any]) -> dict[str, Any]:
        """The inverted cells on a fresh branch from current main, fast-forwarded: main only moves forward,
        so the rollback is a new snapshot and every commit since the promotion survives."""
        return self._publish(cs_id, cells, None, branch_names(cs_id)[2])

    def _publish(self, cs_id: int, cells: list[Cell], head: int | None, fresh: str) -> dict[str, Any]:
        tbl = self._load()
        main = self._main(tbl)
        if head is not None and main == head:
            return {"written": 0, "already": len(cells), "snapshot": main}
        now = self._by_key(self._rows(tbl, main, [c.key for c in cells], [c.field for c in cells]))
        todo, done, conflicts = classify(cells, now, self.fit)
        if conflicts:
            raise Conflict(conflicts)
        noop = [c for c in todo if _exact(now[c.key][c.field], self.fit(c.field, c.new))]  # old == new: nothing to do
        todo, done = [c for c in todo if c not in noop], done + noop
        if not todo:
            return {"written": 0, "already": len(done), "snapshot": main}
        staged = head is not None and tbl.metadata.snapshot_by_id(head) is not None
        if staged and _ancestor(tbl, head, main) and not self._differing(tbl, head, cells):
            target = head
        else:
            tbl, target = self._apply(cs_id, fresh, main, todo)
        self._fast_forward(tbl, main, target)
        out = {"written": len(todo), "already": len(done), "from": main, "snapshot": target}
        if head is not None:
            out["rebased"] = target != head
        return out

    def _fast_forward(self, tbl: Table, main: int, target: int) -> None:
        """Move main from `main` to `target`, a descendant of it. The commit carries pyiceberg's requirement
        that main is still `main`: if anything landed on main since it was read, nothing moves (transient:
        the retry re-reads and classifies again)."""
        if self._main(tbl) != main:
            raise TargetError(f"main of {self.name} moved during promotion; retry", transient=True)
        if not _ancestor(tbl, target, main):
            raise TargetError(f"snapshot {target} does not descend from main of {self.name}; main never moves back")
        with _api(f"fast-forwarding main of {self.name}"):
            tbl.manage_snapshots().set_current_snapshot(snapshot_id=target).commit()

    def discard(self, cs_id: int, handle: dict[str, Any]) -> None:
        self._drop(self._load(), list(branch_names(cs_id)))

    def close(self) -> None:
        engine = getattr(self.catalog, "engine", None)
        if engine is not None:
            engine.dispose()


def _ancestor(tbl: Table, head: int, main: int) -> bool:
    """Whether `main` is `head` or one of its ancestors (pyiceberg's `is_ancestor_of` argument order)."""
    from pyiceberg.table.snapshots import is_ancestor_of

    return is_ancestor_of(head, main, tbl.metadata)


def _kind(t: Any) -> str | None:
    """The value class of an Iceberg type a cell can be written to, or None."""
    from pyiceberg.types import DecimalType, DoubleType, FloatType, IntegerType, LongType, StringType

    if isinstance(t, StringType):
        return "string"
    if isinstance(t, IntegerType | LongType):
        return "int"
    if isinstance(t, DoubleType):
        return "double"
    if isinstance(t, FloatType):
        return "float"
    if isinstance(t, DecimalType):
        return "decimal"
    return None


def _fit(t: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = _kind(t)
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    try:
        d = to_decimal(value)
    except ValueError:
        return value
    if not d.is_finite():
        return value
    if kind == "decimal":
        with decimal.localcontext(decimal.Context(prec=200)):
            q = d.quantize(Decimal(1).scaleb(-t.scale))
        return q if q == d and len(q.as_tuple().digits) <= t.precision else value
    if kind == "int":
        from pyiceberg.types import LongType

        bits = 63 if isinstance(t, LongType) else 31
        ok = d == d.to_integral_value() and -(2**bits) <= d < 2**bits
        return int(d) if ok else value
    f = float(d)
    if kind == "float":
        f = struct.unpack("f", struct.pack("f", f))[0]
    return f if Decimal(repr(f)) == d or Decimal(f) == d else value


def _exact(have: Any, want: Any) -> bool:
    """A read-back equal to the fitted value: the same number (or text), and of a type the column stores
    (a value `fit` could not store stays a str/Decimal the column never returns)."""
    if have is None or want is None:
        return have is None and want is None
    if isinstance(have, float) and not isinstance(want, float):
        return False
    if isinstance(have, Decimal) and not isinstance(want, Decimal):
        return False
    return same(have, want)
