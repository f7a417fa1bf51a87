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

Registering a new kind is one line in ``KINDS``.
"""

from sentinel.checks import expect, expect_suite, freshness, magnitude, not_empty, schema, subschema, volume

KINDS = {
    "not_empty": not_empty,
    "freshness": freshness,
    "schema": schema,
    "expect": expect,
    "expect_suite": expect_suite,
    "volume": volume,
    "magnitude": magnitude,
    "subschema": subschema,
}
