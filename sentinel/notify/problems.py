"""One problem, one request: which incidents of a dataset belong together, and which of them leads.

Incidents of one dataset whose flagged keys overlap are one problem (the demo's yen rows are flagged by
`magnitude`, `subschema` and a range expectation at once: one cause, one request). Whole-table incidents
(empty, stale, drifted: no row keys) of a dataset are one problem with each other. The lead is the
diagnosis that explains more rows: a currency named for 25 rows beats "likely 1 extra digit" for one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def row_items(last_result: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """Every flagged row a result's evidence lists (rows, and rows inside subschema's modes), as its item."""
    evidence = (last_result or {}).get("evidence") or {}
    if not isinstance(evidence, Mapping):
        return []
    blocks = [evidence.get("rows")] + [m.get("rows") for m in evidence.get("modes") or [] if isinstance(m, Mapping)]
    return [
        i
        for block in blocks
        if isinstance(block, Mapping)
        for i in block.get("items") or []
        if isinstance(i, Mapping) and "key" in i
    ]


def flagged_keys(last_result: Mapping[str, Any] | None) -> frozenset[str]:
    """Every row key a result's evidence lists (rows, and rows inside subschema's modes)."""
    return frozenset(str(i["key"]) for i in row_items(last_result))


def explained_rows(last_result: Mapping[str, Any] | None) -> int:
    """How many rows the result's diagnosis explains: rows of a mode with a named factor (a currency), and
    rows given a candidate value (subschema's `candidate`, magnitude's `diagnosis.candidate` for x / 10^k)."""
    evidence = (last_result or {}).get("evidence") or {}
    if not isinstance(evidence, Mapping):
        return 0
    n = 0
    for mode in evidence.get("modes") or []:
        if isinstance(mode, Mapping) and mode.get("factor"):
            n += int((mode.get("rows") or {}).get("count") or 0)
    rows = evidence.get("rows")
    if isinstance(rows, Mapping):
        n += sum(1 for i in rows.get("items") or [] if isinstance(i, Mapping) and _candidate(i) is not None)
    return n


def _candidate(item: Mapping[str, Any]) -> Any:
    diagnosis = item.get("diagnosis")
    nested = diagnosis.get("candidate") if isinstance(diagnosis, Mapping) else None
    return item.get("candidate") if item.get("candidate") is not None else nested


def names_factor(last_result: Mapping[str, Any] | None) -> bool:
    """Whether the diagnosis names a unit factor (a currency): on equal counts it beats a digit count."""
    evidence = (last_result or {}).get("evidence") or {}
    modes = evidence.get("modes") if isinstance(evidence, Mapping) else None
    return any(isinstance(m, Mapping) and m.get("factor") for m in modes or [])


def belongs_with(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """Whether two incidents' last results (same dataset) are one problem."""
    ka, kb = flagged_keys(a), flagged_keys(b)
    if not ka and not kb:
        return True  # whole-table problems of one dataset: one message
    return bool(ka & kb)


def lead(incidents: Iterable[Any]) -> Any:
    """The incident whose diagnosis explains the most rows (the demo's JPY mode explains 25, magnitude's
    x / 10^k one); on a tie the one naming a currency; then the most flagged rows; then the oldest."""
    return max(
        incidents,
        key=lambda i: (
            explained_rows(i.last_result),
            names_factor(i.last_result),
            len(flagged_keys(i.last_result)),
            -int(i.id),
        ),
    )
