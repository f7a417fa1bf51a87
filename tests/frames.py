"""Run one check on an in-memory pandas frame: DuckDB queries the frame in place (no copy to a file)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from sentinel.checks import KINDS
from sentinel.checks.common import Context, Spec
from sentinel.sources.base import SqlSource, duckdb_engine


def run_check(frame: pd.DataFrame, kind: str, params: dict, key: str = "id", now: dt.datetime | None = None):
    engine = duckdb_engine("duckdb:///:memory:", poolclass=StaticPool)
    source = SqlSource("frame", engine)
    try:
        with engine.connect() as conn:
            conn.connection.driver_connection.register("frame", frame)
        columns = source.describe("frame")
        table = sa.table("frame", *[sa.column(c) for c in columns])
        ctx = Context("frame", key, source, table, columns, now or dt.datetime.now(dt.UTC), 1000)
        module = KINDS[kind]
        spec = Spec(kind, kind, "error", module.Params(**params))
        plan = module.plan(spec, ctx)
        values = {}
        if plan.aggregates:
            stmt = sa.select(*[e.label(n) for n, e in plan.aggregates.items()]).select_from(table)
            values = dict(source.execute(stmt)[0]._mapping)
        return plan.finish(values)
    finally:
        source.close()
