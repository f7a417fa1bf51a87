"""The same key's previous value as a reference: `magnitude`'s `history_by`.

"This deal was 1,000,000 yesterday and is 10,000,000 today" is visible even where 10,000,000 is a normal
deal size, which no peer group or fit can see. Sentinel keeps a snapshot of the monitored column per key in
the state store, and each run compares only what changed:

- the keys are hashed into buckets (`bucket_count`: about 128 keys a bucket, a power of two) and the source
  returns one digest per bucket (sum of a hash of key and value, and the count) in one aggregate query;
- buckets whose digest differs from the stored one are fetched (key, value) and compared key by key with
  the snapshot; a table where little changes costs one GROUP BY and a few small fetches;
- a change of |log10(new/old)| >= `JUMP` (about 3.2x) that is also beyond the threshold of robust z among
  this run's changed keys is flagged; when the ratio is within `TIGHT_TOLERANCE` of 10^k the diagnosis
  names k and the candidate new/10^k, with the old value as its provenance;
- the snapshot takes the new values, except for flagged keys, which keep their last good value (and their
  buckets are fetched again next run, so the incident stays open until the value is fixed or accepted).
  Whole buckets are replaced in the run's own transaction: a crash leaves the previous snapshot intact.

The first run only takes the snapshot. Tables of more than `MAX_KEYS` changed rows in one run are not
compared (the fetch would load them all); the result says so, and peer and fit references still apply.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from sentinel.checks.common import Context
from sentinel.checks.exact import exact, shifted
from sentinel.checks.sqlstats import key_hash
from sentinel.results import SnapshotUpdate

BUCKETS_MIN, BUCKETS_MAX = 64, 65_536
KEYS_PER_BUCKET = 128
MAX_KEYS = 1_000_000  # changed rows one run may fetch and compare
JUMP = 0.5  # decades: a change under about 3.2x is never flagged as a magnitude error
FLOOR = 0.05  # decades: the least spread of this run's changes
TIGHT_TOLERANCE = 0.05  # decades: how close to 10^k a ratio must be for k to be named


class Snapshots(Protocol):
    def digests(self) -> tuple[int | None, dict[int, str | None]]: ...

    def values(self, buckets: list[int]) -> dict[str, float]: ...


@dataclass
class MemorySnapshots:
    """Snapshots kept in memory, for `check_frame` and the accuracy benchmark; `apply` plays persist's part."""

    buckets: int | None = None
    stored: dict[int, str | None] = field(default_factory=dict)
    rows: dict[str, tuple[int, float]] = field(default_factory=dict)

    def digests(self) -> tuple[int | None, dict[int, str | None]]:
        return self.buckets, dict(self.stored)

    def values(self, buckets: list[int]) -> dict[str, float]:
        wanted = set(buckets)
        return {k: v for k, (b, v) in self.rows.items() if b in wanted}

    def apply(self, update: SnapshotUpdate) -> None:
        if update.reset:
            self.stored, self.rows = {}, {}
        self.buckets = update.buckets
        replaced = set(update.digests)
        self.rows = {k: bv for k, bv in self.rows.items() if bv[0] not in replaced}
        self.rows.update({k: (b, v) for k, b, v in update.values})
        self.stored.update(update.digests)
        for b in [b for b, d in update.digests.items() if d == ""]:  # empty now: forget the bucket
            del self.stored[b]


def bucket_count(rows: int) -> int:
    want = max(rows // KEYS_PER_BUCKET, BUCKETS_MIN)
    return min(2 ** math.ceil(math.log2(want)), BUCKETS_MAX)


def digest_of(dialect: str, key: sa.ColumnElement, value: sa.ColumnElement) -> sa.ColumnElement:
    if dialect == "duckdb":
        total = sa.func.sum(sa.func.hash(key, value))
    elif dialect == "spark":  # ANSI mode raises when a BIGINT sum overflows: add the hashes as DECIMAL(38,0)
        total = sa.func.sum(sa.cast(sa.func.xxhash64(key, value), sa.Numeric(38, 0)))
    else:
        text = sa.cast(key, sa.String) + "|" + sa.cast(value, sa.String)
        total = sa.func.sum(sa.func.hashtextextended(text, 0))
    return sa.cast(total, sa.String) + ":" + sa.cast(sa.func.count(), sa.String)


@dataclass
class Comparison:
    items: list[dict[str, Any]]  # flagged rows, as magnitude's evidence items: the worst `evidence_limit`
    changed: int  # keys whose value changed since the snapshot
    compared: int  # keys that had a snapshot value to compare with
    update: SnapshotUpdate | None
    note: str | None = None
    flagged_keys: set[str] = field(default_factory=set)  # every flagged key, also those past the items' cap


def compare(
    ctx: Context,
    snapshots: Snapshots,
    column: str,
    key_name: str,
    rows: int,
    where: list[sa.ColumnElement],
    sensitivity: float,
    also_flagged: set[str],
    threshold_of: Any,
) -> Comparison:
    """Compare the changed buckets with the snapshot. `also_flagged` (keys other references flagged) keep
    their old snapshot value too; `threshold_of(n, sensitivity)` is magnitude's row-count threshold."""
    x = ctx.col(column)
    key = ctx.col(key_name)
    n_buckets = bucket_count(rows)
    stored_n, stored = snapshots.digests()
    reset = stored_n != n_buckets
    bucket = key_hash(ctx.dialect, key, n_buckets)
    found = ctx.source.execute(
        sa.select(bucket.label("b"), digest_of(ctx.dialect, key, x).label("d"), sa.func.count().label("n"))
        .select_from(ctx.table)
        .where(*where, key.is_not(None))
        .group_by(bucket)
    )
    current = {int(r.b): (str(r.d), int(r.n)) for r in found}
    changed = sorted(b for b, (d, _) in current.items() if reset or stored.get(b) != d)
    emptied = [] if reset else [b for b in stored if b not in current]
    fetch_rows = sum(current[b][1] for b in changed)
    if fetch_rows > MAX_KEYS:
        note = f"history_by: {fetch_rows:,} changed rows exceed the {MAX_KEYS:,} one run compares; not compared"
        return Comparison([], 0, 0, None, note)
    stmt = sa.select(key.label("k"), x.label("x"), bucket.label("b")).select_from(ctx.table).where(*where)
    if changed and len(changed) < len(current):
        stmt = stmt.where(bucket.in_(changed))
    fetched = ctx.source.execute(stmt) if changed else []
    before = {} if reset else snapshots.values(changed)

    per_key = Counter(str(r.k) for r in fetched if r.k is not None)
    repeated = {k for k, n in per_key.items() if n > 1}
    fetched = [r for r in fetched if r.k is not None and str(r.k) not in repeated]  # a key on two rows is no key
    jumps = []  # (row, old, log ratio)
    for r in fetched:
        if int(r.b) not in current:
            continue
        old = before.get(str(r.k))
        # a NaN or infinite value (new, or stored before they were left out) has no ratio to judge
        if old is not None and old != 0 and math.isfinite(old) and math.isfinite(float(r.x)) and float(r.x) != old:
            jumps.append((r, old, math.log10(abs(float(r.x)) / abs(old))))
    spread = FLOOR
    if len(jumps) >= 2:
        spread = max(1.4826 * statistics.median(abs(d) for *_, d in jumps), FLOOR)
    t = threshold_of(len(jumps), sensitivity)
    beyond = [j for j in sorted(jumps, key=lambda j: -abs(j[2])) if abs(j[2]) >= JUMP and abs(j[2]) / spread > t]
    items = []
    for r, old, d in beyond[: ctx.evidence_limit]:  # the rest are counted, not listed
        item: dict[str, Any] = {
            "key": r.k,
            "value": exact(r.x),
            "score": round(d / spread, 2),
            "reference": old,
            "ratio": float(f"{10**d:.6g}"),
            "baseline": {
                "kind": f"previous value of the same {key_name}",
                "spread_log10": round(spread, 4),
                "threshold": round(t, 2),
                "changed_keys": len(jumps),
            },
        }
        k = round(d)
        if k != 0 and abs(d - k) <= TIGHT_TOLERANCE:
            reference = f"previous value {old!r} of the same {key_name}"
            item["diagnosis"] = {
                "k": k,
                "candidate": shifted(r.x, k),
                "provenance": {
                    "kind": "power_of_ten",
                    "k": k,
                    "transform": f"x / 10^{k}",
                    "ratio": float(f"{10**d:.6g}"),
                    "distance_decades": round(abs(d - k), 4),
                    "tolerance_decades": TIGHT_TOLERANCE,
                    "reference": reference,
                    "proof": f"ratio {10**d:.4g} to the {reference} is within {abs(d - k):.2g} decades of 10^{k} "
                    f"(tolerance {TIGHT_TOLERANCE})",
                },
            }
        items.append(item)

    flagged_keys = {str(r.k) for r, _, _ in beyond}
    held = flagged_keys | also_flagged
    values, dirty = [], set()
    for r in fetched:
        k, b = str(r.k), int(r.b)
        if k in held:
            dirty.add(b)
            if k in before:
                values.append((k, b, before[k]))
        else:
            values.append((k, b, float(r.x)))
    digests: dict[int, str | None] = {b: (None if b in dirty else current[b][0]) for b in changed}
    digests.update({b: "" for b in emptied})
    update = SnapshotUpdate(n_buckets, digests, values, reset)
    note = f"{len(repeated):,} {key_name} values appear on several rows: not compared" if repeated else None
    return Comparison(items, len(jumps), len(before), update, note, flagged_keys)
