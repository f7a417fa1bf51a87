"""The long tail of `expect`: Great Expectations itself, imported only when such an expectation runs.

SQL dialects GX supports are validated in place (GX builds the SQL). DuckDB-backed sources (duckdb URLs,
files, iceberg) go through pandas instead, because GX's SQLAlchemy engine loses DuckDB results (GX #10738):
only the columns the expectation names, plus the key, are read. GX caps its id and value lists, so counts
come from `unexpected_count` and row ids from GX's own unexpected-index query, run here with Sentinel's cap.
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import sqlalchemy as sa

from sentinel.checks.common import Context, Spec, capped, error, number, result
from sentinel.results import CheckResult, jsonable

_GX_SQL_DIALECTS = {
    "postgresql",
    "sqlite",
    "mysql",
    "mssql",
    "snowflake",
    "bigquery",
    "redshift",
    "trino",
    "databricks",
}


def _quiet_gx() -> None:
    """Sentinel's log only: GX's loggers set their own levels (its INFO "Created temporary directory ... for
    ephemeral docs site" passed a level set on the parent), so nothing under `great_expectations` reaches
    the process's handlers; what GX raises becomes the check's `error` result instead."""
    gx_log = logging.getLogger("great_expectations")
    if not any(isinstance(h, logging.NullHandler) for h in gx_log.handlers):
        gx_log.addHandler(logging.NullHandler())
    gx_log.propagate = False


def _context():
    _quiet_gx()  # before the import: GX logs while it loads
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _columns_named(kwargs: dict[str, Any]) -> list[str]:
    cols: list[str] = []
    for k, v in kwargs.items():
        if k in ("column", "column_A", "column_B") and isinstance(v, str):
            cols.append(v)
        elif k == "column_list" and isinstance(v, list):
            cols.extend(v)
    return cols


def _batch(ctx: Context, columns: list[str]):
    key = "gx_batch:" + ",".join(columns)
    if key in ctx.cache:
        return ctx.cache[key]
    gx_ctx = _context()
    if ctx.dialect in _GX_SQL_DIALECTS:
        url = ctx.source.engine.url.render_as_string(hide_password=False)
        ds = gx_ctx.data_sources.add_sql("sentinel", connection_string=url)
        schema = {"schema_name": ctx.table.schema} if ctx.table.schema else {}
        asset = ds.add_table_asset("t", table_name=ctx.table.name, **schema)
        batch = asset.add_batch_definition_whole_table("all").get_batch()
    else:
        import pandas as pd

        wanted = [c for c in ctx.columns if c in columns or c == ctx.key] if columns else list(ctx.columns)
        stmt = sa.select(*[ctx.table.c[c] for c in wanted]).select_from(ctx.table)
        rows = ctx.source.execute(stmt)
        df = pd.DataFrame([tuple(r) for r in rows], columns=wanted)
        asset = gx_ctx.data_sources.add_pandas("sentinel").add_dataframe_asset("t")
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df})
    ctx.cache[key] = batch
    return batch


def _expectation(type_: str, kwargs: dict[str, Any]):
    import great_expectations.expectations as gxe

    cls_name = "".join(part.capitalize() for part in type_.split("_"))
    cls = getattr(gxe, cls_name, None)
    if cls is None:  # e.g. expect_column_k_l_divergence...: match case-insensitively
        cls = next(getattr(gxe, n) for n in dir(gxe) if n.lower() == cls_name.lower())
    clean = {k: v for k, v in kwargs.items() if k not in ("result_format", "catch_exceptions")}
    return cls(**clean)


def validate(spec: Spec, ctx: Context, type_: str, kwargs: dict[str, Any], expected: dict[str, Any]) -> CheckResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GX's deprecation chatter is not the user's concern
        return _validate(spec, ctx, type_, kwargs, expected)


def _validate(spec: Spec, ctx: Context, type_: str, kwargs: dict[str, Any], expected: dict[str, Any]) -> CheckResult:
    try:
        batch = _batch(ctx, _columns_named(kwargs))
        expectation = _expectation(type_, kwargs)
        index_cols = [ctx.key] if ctx.key else []
        res = batch.validate(
            expectation,
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": index_cols,
                "return_unexpected_index_query": True,
            },
        )
    except Exception as exc:  # GX raises for bad kwargs; report it as could-not-measure, not a failure
        return error(spec, ctx.dataset_name, "gx_error", f"{type(exc).__name__}: {exc}".splitlines()[0])
    info = res.exception_info or {}
    raised = (
        info.get("raised_exception")
        if "raised_exception" in info
        else any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())
    )
    if raised:
        msg = info.get("exception_message") or next(
            (v.get("exception_message") for v in info.values() if isinstance(v, dict) and v.get("exception_message")),
            "",
        )
        return error(spec, ctx.dataset_name, "gx_error", str(msg).splitlines()[0] if msg else "GX raised an exception")
    r = jsonable(res.result or {})
    evidence: dict[str, Any] = {}
    if "unexpected_count" in r and "observed_value" not in r:
        bad = int(r.get("unexpected_count") or 0)
        observed = {
            "unexpected_count": bad,
            "unexpected_percent": r.get("unexpected_percent") or 0.0,
            "element_count": r.get("element_count"),
        }
        if bad and ctx.key:
            evidence["rows"] = capped(_index_rows(ctx, r), bad)
    else:
        observed = r.get("observed_value")
        if r.get("unexpected_count"):
            evidence["values"] = {
                "count": r["unexpected_count"],
                "items": r.get("unexpected_list") or r.get("partial_unexpected_list") or [],
                "omitted": 0,
            }
    if r.get("details"):
        evidence["details"] = r["details"]
    ok = bool(res.success)
    diagnosis = None if ok else {"cause": "violation", "message": _message(type_, observed)}
    return result(
        spec, ctx, ok, cause="violation", observed=observed, expected=expected, evidence=evidence, diagnosis=diagnosis
    )


def _message(type_: str, observed: Any) -> str:
    """What GX measured, in one line: the failing share for row-level expectations, else the observed value."""
    if isinstance(observed, dict) and "unexpected_count" in observed:
        what = f"{observed['unexpected_count']:,} of {observed.get('element_count') or 0:,} rows fail"
    else:
        scalar = isinstance(observed, int | float) and not isinstance(observed, bool)
        shown = number(observed) if scalar else json.dumps(observed, default=str)
        what = f"observed {shown if len(shown) <= 80 else shown[:79] + '…'}; fails"
    return f"{what} {type_} (evaluated by Great Expectations)"


def _index_rows(ctx: Context, r: dict[str, Any]) -> list[dict[str, Any]]:
    """Row keys from GX: its full index query when it gave one (SQL), else its index list (pandas, uncapped)."""
    query = r.get("unexpected_index_query")
    if isinstance(query, str) and query.strip().upper().startswith("SELECT"):
        stmt = sa.text(f"SELECT * FROM ({query.strip().rstrip(';')}) AS gx_unexpected LIMIT :n")
        rows = [dict(row._mapping) for row in ctx.source.execute(stmt.bindparams(n=ctx.evidence_limit))]
    else:
        rows = list(r.get("unexpected_index_list") or [])[: ctx.evidence_limit]
    out = []
    for row in rows:
        row = dict(row)
        key = row.pop(ctx.key, None)
        out.append({"key": key, "value": next(iter(row.values()), None) if row else None})
    return sorted(out, key=lambda x: (str(type(x["key"])), x["key"]))
