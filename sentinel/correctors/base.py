"""What a correction target is: the source a `stage_fix` playbook writes, through its own API.

One module per target kind (sql, iceberg, gsheets, salesforce), registered in `sentinel.correctors.TARGETS`
by source `type:`. Only the gateway (sentinel/gateway.py) opens a target: it holds the write credentials
(resolved from config `${ENV}` references at open), and every call it makes is checked and audited there.

The life of a change-set on a target, each step idempotent (a crash between a write and its record
repeats the step, which must then change nothing more):

- `read(keys, fields)`: what production holds now;
- `stage(cs_id, cells)`: apply the cells to the staging environment (an overlay view, a branch, a staging
  copy, a sandbox), read them back there, and raise `ReadBack` unless every cell holds exactly its
  `fit(new)`; returns a JSON handle on what was staged;
- `staged(cs_id, handle)`: the config and dataset under which the dataset's checks measure the staged
  data (same checks, pointed at the staging copy);
- `promote(cs_id, cells, handle)`: write production, all or none, each cell only where it still holds
  `old`. A cell already holding `fit(new)` is done (a repeat after a crash). Any cell holding neither
  raises `Conflict` and nothing is written. Returns what it did (JSON);
- `rollback(cs_id, cells, handle)`: the inverse, under the same rule with old and new swapped (the caller
  passes the inverted cells);
- `discard(cs_id, handle)`: drop staging artefacts (best effort; never touches production).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sentinel.checks.exact import to_decimal

if TYPE_CHECKING:
    from sentinel.config import Config, DatasetConfig


@dataclass(frozen=True)
class Cell:
    key: str
    field: str
    old: Any  # exact values, as evidence carries them (sentinel/checks/exact.py)
    new: Any

    def inverse(self) -> Cell:
        return Cell(self.key, self.field, self.new, self.old)


@dataclass(frozen=True)
class Where:
    """What a target writes: config, the source (its `sources:` name), the dataset whose check failed, the
    object (table, worksheet title or sObject) and the key column that names a row."""

    cfg: Config
    source: str
    dataset: DatasetConfig
    object: str
    key_column: str


class TargetError(Exception):
    """A target call failed; `transient` ones (timeouts, 5xx, a lock) are retried by the driver."""

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.message = message
        self.transient = transient


class Conflict(TargetError):
    """Cells that hold neither the expected value nor the value being written: nothing was written; stop and
    ask the owner. `found` pairs each such cell with what the target holds (None: the row is gone)."""

    def __init__(self, found: list[tuple[Cell, Any]]):
        keys = ", ".join(f"{c.key}.{c.field}={v!r}" for c, v in found[:5])
        super().__init__(f"{len(found)} cell(s) changed since planning: {keys}")
        self.found = found


class ReadBack(TargetError):
    """The staged write did not read back exactly: `found` pairs each differing cell with what was read."""

    def __init__(self, found: list[tuple[Cell, Any]], where: str = "staged"):
        keys = ", ".join(f"{c.key}.{c.field}={v!r} (wrote {c.new!r})" for c, v in found[:5])
        super().__init__(f"{len(found)} {where} cell(s) read back differently: {keys}")
        self.found = found


class Target(Protocol):
    staging_kind: str  # how the change is staged, for messages: "overlay view", "branch", "staging copy", "sandbox"

    def fields(self) -> dict[str, str]: ...  # writable field/column -> type, for `check_allowance`

    def read(self, keys: list[str], fields: list[str]) -> dict[str, dict[str, Any]]: ...

    def fit(self, field: str, value: Any) -> Any: ...  # the value as the field stores it (DOUBLE, DECIMAL(p,s), ...)

    def stage(self, cs_id: int, cells: list[Cell]) -> dict[str, Any]: ...

    def staged(self, cs_id: int, handle: dict[str, Any]) -> tuple[Config, DatasetConfig]: ...

    def promote(self, cs_id: int, cells: list[Cell], handle: dict[str, Any]) -> dict[str, Any]: ...

    def rollback(self, cs_id: int, cells: list[Cell], handle: dict[str, Any]) -> dict[str, Any]: ...

    def discard(self, cs_id: int, handle: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


def same(a: Any, b: Any) -> bool:
    """Whether two exact values are the same value: numbers by their decimal meaning (10000000.0 ==
    "10000000" == Decimal("10000000.00")), anything else by equality of its text; None only equals None."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    try:
        return to_decimal(a) == to_decimal(b)
    except ValueError:
        return str(a) == str(b)


def classify(
    cells: list[Cell], now: dict[str, dict[str, Any]], fit: Any
) -> tuple[list[Cell], list[Cell], list[tuple[Cell, Any]]]:
    """Split cells by what the target holds now (`now[key][field]`; a missing key is a gone row):
    (to write: holds `old`; done: holds `fit(new)`; conflicts: neither)."""
    todo, done, conflicts = [], [], []
    for c in cells:
        row = now.get(c.key)
        have = row.get(c.field) if row is not None else None
        if row is not None and same(have, c.old):
            todo.append(c)
        elif row is not None and same(have, fit(c.field, c.new)):
            done.append(c)
        else:
            conflicts.append((c, have))
    return todo, done, conflicts


def staged_config(
    cfg: Config, ds: DatasetConfig, table: str, source: str | None = None, source_cfg: Any = None
) -> tuple[Config, DatasetConfig]:
    """`cfg` and `ds` pointed at staged data: the dataset reads `table` (and, with `source_cfg`, source
    `source` is replaced by it, e.g. the staging spreadsheet or the sandbox org). Nothing else changes, so
    the same checks run with the same parameters."""
    import dataclasses

    staged_ds = ds.model_copy(update={"table": table})
    if source_cfg is None:
        return cfg, staged_ds
    sources = {**cfg.main.sources, source or ds.source: source_cfg}
    main = cfg.main.model_copy(update={"sources": sources})
    staged_ds = staged_ds.model_copy(update={"source": source or ds.source})
    return dataclasses.replace(
        cfg, main=main, datasets=[staged_ds if d.name == ds.name else d for d in cfg.datasets]
    ), staged_ds
