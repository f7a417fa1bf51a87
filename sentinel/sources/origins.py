"""Evidence rows that name where they live: a Salesforce record (Id and link), a sheet's cells.

Checks list flagged rows by the dataset's key; only the source knows where a keyed row sits at its origin
(`SqlSource.origin_of`). This adds that to each listed row after the checks ran, one lookup per result.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sentinel.results import CheckResult
from sentinel.sources.base import SqlSource


def annotate_origins(results: list[CheckResult], source: SqlSource, table: str, key: str | None) -> None:
    """Set `"origin"` on every evidence row item with a `key` (in `evidence.rows` and in each of
    `evidence.modes[*].rows`), when the source can name it. A lookup that fails leaves the result as it was:
    the measurement stands without the links."""
    if not key:
        return
    for result in results:
        items = [item for item in _row_items(result.evidence) if "key" in item]
        if not items:
            continue
        keys = list(dict.fromkeys(str(item["key"]) for item in items))
        try:
            found = source.origin_of(table, key, keys)
        except Exception:
            continue
        if not found:
            continue
        for item in items:
            origin = found.get(str(item["key"]))
            if origin:
                item["origin"] = origin
        result._doc = None  # the JSON document is rebuilt with the origins


def _row_items(evidence: Any) -> Iterator[dict]:
    if not isinstance(evidence, dict):
        return
    yield from _items(evidence.get("rows"))
    for mode in evidence.get("modes") or ():
        if isinstance(mode, dict):
            yield from _items(mode.get("rows"))


def _items(rows: Any) -> Iterator[dict]:
    if isinstance(rows, dict):
        yield from (item for item in rows.get("items") or () if isinstance(item, dict))
