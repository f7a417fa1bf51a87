"""Run one check on an in-memory pandas DataFrame: DuckDB queries the frame in place, no copy or file.

Useful in notebooks and in the accuracy benchmark; the checks run exactly the SQL, and the same scan
(sentinel/scan.py), as on a warehouse.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from sentinel.checks import KINDS
from sentinel.checks.common import CannotMeasure, Context, Spec
from sentinel.checks.history import MemorySnapshots
from sentinel.results import CheckResult
from sentinel.scan import run_checks
from sentinel.sources.base import SqlSource, duckdb_engine


def check_frame(
    frame: Any,
    kind: str,
    params: dict[str, Any],
    key: str = "id",
    now: dt.datetime | None = None,
    fx_rates: dict[str, float] | None = None,
    snapshots: MemorySnapshots | None = None,
    root: Path | None = None,
) -> CheckResult | list[CheckResult]:
    """The result of check `kind` with `params` (as in YAML) on `frame`; CannotMeasure if it cannot run.
    `expect_suite` gives its list of results, one per expectation, each `error` on its own as in a run;
    `root` is the folder a suite's path is relative to (default: the working directory).

    `snapshots` carries `history_by` values from one call to the next, as the state store does between runs."""
    engine = duckdb_engine("duckdb:///:memory:", poolclass=StaticPool)
    source = SqlSource("frame", engine)
    try:
        with engine.connect() as conn:
            conn.connection.driver_connection.register("frame", frame)
        columns = source.describe("frame")
        table = sa.table("frame", *[sa.column(c) for c in columns])
        ctx = Context(
            "frame",
            key,
            source,
            table,
            columns,
            now or dt.datetime.now(dt.UTC),
            1000,
            fx_rates=dict(fx_rates or {}),
            root=root or Path.cwd(),
        )
        if snapshots is not None:
            ctx.history[f"snapshots:{kind}"] = snapshots
        module = KINDS[kind]
        found = run_checks([Spec(kind, kind, "error", module.Params(**params))], ctx)
        if kind == "expect_suite":
            return found
        (res,) = found
        if res.status == "error":
            raise CannotMeasure(res.cause or "error", (res.diagnosis or {}).get("message", "could not measure"))
        if snapshots is not None and res.snapshot is not None:
            snapshots.apply(res.snapshot)
        return res
    finally:
        source.close()
