"""Check kinds. Each kind is one module exposing:

- ``Params``: the pydantic model of its YAML mapping (extra keys forbidden);
- ``default_name(params) -> str``: the check's name when the YAML gives none;
- ``plan(spec, ctx) -> Plan``: the aggregates it needs from the dataset's single scan (sentinel/scan.py),
  and a ``finish`` function that turns their values (plus targeted follow-up queries, e.g. ids of violating
  rows) into a CheckResult; or a list of plans, each naming its own ``spec`` (expect_suite: one per
  expectation);
- optionally ``needs_key(params) -> bool``;
- optionally ``reads(store, dataset, name, params) -> dict``: what earlier runs learnt that the check needs
  (metric history, value snapshots, accepted shares, flagged buckets), read from the state store before the
  run under keys of the check's own (``ctx.history``); the runner asks every kind, and knows none of them.

Registering a new kind is one line in ``KINDS``: its YAML key and its module. A kind's module is imported the
first time it is looked up, so a command (and a config) imports only the kinds it uses: a fresh `sentinel run`
spends its time before the first query in imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType

_MODULES = {
    "not_empty": "sentinel.checks.not_empty",
    "freshness": "sentinel.checks.freshness",
    "schema": "sentinel.checks.schema",
    "expect": "sentinel.checks.expect",
    "expect_suite": "sentinel.checks.expect_suite",
    "volume": "sentinel.checks.volume",
    "magnitude": "sentinel.checks.magnitude",
    "subschema": "sentinel.checks.subschema",
}


class _Kinds(Mapping[str, ModuleType]):
    """The registry: kind -> module, imported on first lookup."""

    def __getitem__(self, kind: str) -> ModuleType:
        return importlib.import_module(_MODULES[kind])

    def __contains__(self, kind: object) -> bool:  # without importing it
        return kind in _MODULES

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


KINDS: Mapping[str, ModuleType] = _Kinds()
