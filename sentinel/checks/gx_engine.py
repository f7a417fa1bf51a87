"""The long tail of `expect`: Great Expectations itself, imported only when such an expectation runs.

A dataset's long-tail expectations (from `expect` checks and `expect_suite` files alike) are gathered at plan
time into one `LongTail` in the run's `ctx.cache`; the first of them to be finished validates them all in
one GX suite over one batch, and each then takes its own result. SQL dialects GX supports are validated in
place (GX builds and bundles the SQL, nothing is loaded). DuckDB-backed sources (duckdb URLs, files, iceberg)
go through pandas instead, because GX's SQLAlchemy engine loses DuckDB results (GX #10738): the union of the
columns the expectations name, plus the key, is read once, through Arrow (all columns when one of them is
about the table). A Spark Connect source gives GX's Spark engine a DataFrame of the table: GX computes in the
cluster, and an expectation GX has no Spark implementation for is that check's `error`. Counts come from
`unexpected_count`, row ids from GX's index list: in a database GX reads it with its values bound, capped at
`partial_unexpected_count`, which is set to Sentinel's `evidence_limit`. GX's unexpected-index query is never
run: it is a text for people, its values pasted in as Python reprs (a `'` or a `:name` in a regex breaks it).

An expectation GX cannot build is its own check's `error` and stays out of the suite. Inside the suite GX
attributes a metric's failure to the expectations that need it (a failed bundled SQL query is retried metric
by metric), so an invalid regex or a column of the wrong type is that check's `error` and the others are
measured; only a batch that cannot be read at all makes every one of them `error`, each saying why.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sentinel.checks.common import CannotMeasure, Context, Spec, capped, error, number, result
from sentinel.results import CheckResult, jsonable
from sentinel.sources.base import classify, literal_sql

GX_SQL_DIALECTS = {
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
_CACHE_KEY = "gx_engine:long_tail"
_TAG = "sentinel_item"  # set in each expectation's `meta`: GX returns a suite's results in its own order


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


@dataclass
class Item:
    """One long-tail expectation of the dataset, as planned."""

    spec: Spec
    type_: str
    kwargs: dict[str, Any]
    expected: dict[str, Any]


class LongTail:
    """The dataset's long-tail expectations, validated together the first time one of their results is asked
    for; an item added after that runs with the next batch of newcomers."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.items: list[Item] = []
        self.results: dict[int, CheckResult] = {}

    def add(self, item: Item) -> Callable[[dict[str, Any]], CheckResult]:
        """The finish of a Plan: this item's result (the scan's values are not needed)."""
        index = len(self.items)
        self.items.append(item)
        return lambda _values: self.result(index)

    def result(self, index: int) -> CheckResult:
        if index not in self.results:
            pending = {i: it for i, it in enumerate(self.items) if i not in self.results}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # GX's deprecation chatter is not the user's concern
                self.results.update(_validate_all(self.ctx, pending))
        return self.results[index]


def enqueue(spec: Spec, ctx: Context, type_: str, kwargs: dict[str, Any], expected: dict[str, Any]):
    """Add an expectation to the dataset's long-tail batch (nothing runs, GX is not imported); returns the
    Plan's finish, which hands back its result."""
    tail = ctx.cache.get(_CACHE_KEY)
    if tail is None:
        tail = ctx.cache[_CACHE_KEY] = LongTail(ctx)
    return tail.add(Item(spec, type_, kwargs, expected))


# --- one validation ----------------------------------------------------------------------------------------


def _validate_all(ctx: Context, items: dict[int, Item]) -> dict[int, CheckResult]:
    out: dict[int, CheckResult] = {}
    built = {}
    for i, it in items.items():
        try:
            built[i] = _expectation(it.type_, it.kwargs)
        except Exception as exc:  # GX refuses the kwargs: this check's error alone
            out[i] = _gx_error(ctx, it, _refused(it.type_, exc))
    if not built:
        return out
    try:
        batch = _batch(ctx, [items[i] for i in built])
        found = _run_suite(batch, ctx, built)
    except Exception as exc:  # the batch itself failed (table gone, connection lost): every item says why
        return out | {i: _failed(ctx, items[i], exc) for i in built}
    return out | {i: _settled(ctx, items[i], found.get(i)) for i in built}


def _settled(ctx: Context, item: Item, res) -> CheckResult:
    """One item's result; what goes wrong while reading it (its ids' query) is that item's error alone, and
    the batch is not validated again for the checks still waiting for theirs."""
    if res is None:
        return _gx_error(ctx, item, "GX returned no result for it")
    try:
        return _finish(ctx, item, res)
    except Exception as exc:
        return _failed(ctx, item, exc)


def _run_suite(batch, ctx: Context, built: dict[int, Any]) -> dict[int, Any]:
    """GX's result of each built expectation, by item index, from one suite validation."""
    import great_expectations as gx

    for i, expectation in built.items():
        expectation.meta = {**(expectation.meta or {}), _TAG: i}
    suite = gx.ExpectationSuite(name="sentinel", expectations=list(built.values()))
    res = batch.validate(
        suite,
        result_format={
            "result_format": "COMPLETE",
            "unexpected_index_column_names": [ctx.key] if ctx.key else [],
            "partial_unexpected_count": ctx.evidence_limit,  # the LIMIT of GX's own index list query
            "return_unexpected_index_query": False,
        },
    )
    return {r.expectation_config.meta[_TAG]: r for r in res.results}


def _columns_named(kwargs: dict[str, Any]) -> list[str]:
    cols: list[str] = []
    for k, v in kwargs.items():
        if k in ("column", "column_A", "column_B") and isinstance(v, str):
            cols.append(v)
        elif k == "column_list" and isinstance(v, list):
            cols.extend(v)
    return cols


def _needs(ctx: Context, item: Item) -> set[str] | None:
    """The columns `item` reads, or None for all of them: a table-level expectation (column counts and lists,
    a column's position) sees the whole table. A `row_condition` reads the columns it mentions."""
    named = _columns_named(item.kwargs)
    if item.type_.startswith("expect_table_") or item.type_ == "expect_column_to_exist" or not named:
        return None
    condition = item.kwargs.get("row_condition")
    if isinstance(condition, str):
        named += [c for c in ctx.columns if c in condition]  # over-reading costs a column, under-reading a verdict
    return set(named)


def _batch(ctx: Context, items: list[Item]):
    gx_ctx = _context()
    if ctx.dialect in GX_SQL_DIALECTS:
        url = ctx.source.engine.url.render_as_string(hide_password=False)
        ds = gx_ctx.data_sources.add_sql("sentinel", connection_string=url)
        schema = {"schema_name": ctx.table.schema} if ctx.table.schema else {}
        asset = ds.add_table_asset("t", table_name=ctx.table.name, **schema)
        return asset.add_batch_definition_whole_table("all").get_batch()
    session = (
        getattr(ctx.source.connection().connection.dbapi_connection, "session", None)
        if ctx.dialect == "spark" and ctx.source.engine.dialect.driver == "connect"
        else None  # a Databricks connector's connection has a `session` too, but not a Spark one
    )
    if session is not None:  # GX's Spark engine over a Spark Connect DataFrame (a warehouse goes through pandas)
        prep = ctx.source.engine.dialect.identifier_preparer
        name = ".".join(prep.quote_identifier(p) for p in (ctx.table.schema, ctx.table.name) if p)
        asset = gx_ctx.data_sources.add_spark("sentinel").add_dataframe_asset("t")
        return asset.add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": session.table(name)}
        )
    needs = [_needs(ctx, it) for it in items]
    if any(n is None for n in needs):
        wanted = list(ctx.columns)
    else:
        union = set().union(*needs) | ({ctx.key} if ctx.key else set())
        wanted = [c for c in ctx.columns if c in union]  # a missing column stays missing: GX names it
    df = _frame(ctx, sa.select(*[ctx.table.c[c] for c in wanted]).select_from(ctx.table), wanted)
    asset = gx_ctx.data_sources.add_pandas("sentinel").add_dataframe_asset("t")
    return asset.add_batch_definition_whole_dataframe("all").get_batch(batch_parameters={"dataframe": df})


def _frame(ctx: Context, stmt: sa.Select, columns: list[str]):
    """The statement's rows as a pandas DataFrame. On DuckDB columnar, through Arrow, on the source's own
    connection (where a files source's views and a frame's registration live) and through SQLAlchemy (Ctrl-C
    can interrupt it); on Spark from the Arrow table its driver received (`SqlSource.execute_arrow`);
    elsewhere from rows. Never recorded for the speculative scan: it is no aggregate."""
    import pandas as pd

    if ctx.dialect == "spark":
        return ctx.source.execute_arrow(stmt).to_pandas()
    if ctx.dialect != "duckdb":
        return pd.DataFrame([tuple(r) for r in ctx.source.execute(stmt)], columns=columns)
    began = time.perf_counter()
    try:
        res = ctx.source.connection().exec_driver_sql(
            literal_sql(stmt, ctx.source.engine.dialect), execution_options={"no_parameters": True}
        )
        cursor = res.cursor  # duckdb_engine's wrapper of the DuckDB connection holding the result
        table = (getattr(cursor, "to_arrow_table", None) or cursor.fetch_arrow_table)()  # DuckDB 2 renamed it
        res.close()
    except Exception as exc:
        raise classify(exc) from exc
    finally:
        ctx.source.db_seconds += time.perf_counter() - began
    return table.to_pandas()


def _expectation(type_: str, kwargs: dict[str, Any]):
    import great_expectations.expectations as gxe

    cls_name = "".join(part.capitalize() for part in type_.split("_"))
    cls = getattr(gxe, cls_name, None)
    if cls is None:  # e.g. expect_column_k_l_divergence...: match case-insensitively
        cls = next((getattr(gxe, n) for n in dir(gxe) if n.lower() == cls_name.lower()), None)
    if cls is None:
        raise ValueError(f"Great Expectations has no expectation {type_}")
    clean = {k: v for k, v in kwargs.items() if k not in ("result_format", "catch_exceptions")}
    return cls(**clean)


# --- one result ----------------------------------------------------------------------------------------------


def _refused(type_: str, exc: Exception) -> str:
    """Why GX would not build the expectation, each refused kwarg named (its validation errors span lines)."""
    try:
        errors = exc.errors()  # type: ignore[attr-defined]  # pydantic's ValidationError
    except Exception:
        return f"{type(exc).__name__}: {exc}"
    seen = dict.fromkeys(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    return f"GX refuses the kwargs of {type_}: " + "; ".join(seen)


def _failed(ctx: Context, item: Item, exc: Exception) -> CheckResult:
    """A validation that raised: the source's own cause when it could not be read, else GX's."""
    if isinstance(exc, CannotMeasure):
        return error(item.spec, ctx.dataset_name, exc.cause, exc.message)
    return _gx_error(ctx, item, f"{type(exc).__name__}: {exc}")


def _gx_error(ctx: Context, item: Item, message: str) -> CheckResult:
    """GX could not measure it (bad kwargs, a column it cannot read): could-not-measure, not a failure."""
    return error(item.spec, ctx.dataset_name, "gx_error", message.splitlines()[0] if message else "GX failed")


def _raised(res) -> bool:
    info = res.exception_info or {}
    if "raised_exception" in info:
        return bool(info.get("raised_exception"))
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _finish(ctx: Context, item: Item, res) -> CheckResult:
    """Sentinel's result from GX's result of one expectation."""
    spec, type_ = item.spec, item.type_
    if _raised(res):
        info = res.exception_info or {}
        msg = info.get("exception_message") or next(
            (v.get("exception_message") for v in info.values() if isinstance(v, dict) and v.get("exception_message")),
            "",
        )
        return _gx_error(ctx, item, str(msg) if msg else "GX raised an exception")
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
            evidence["rows"] = capped(_index_rows(ctx, r, item.kwargs), bad)
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
        spec,
        ctx,
        ok,
        cause="violation",
        observed=observed,
        expected=item.expected,
        evidence=evidence,
        diagnosis=diagnosis,
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


def _index_rows(ctx: Context, r: dict[str, Any], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    """Row keys and the value of the expectation's (first) column from GX's index list: in a database already
    capped at `evidence_limit` (GX's query, values bound); on pandas and Spark every unexpected row, capped
    here. GX lists each column once, so when that column is the key, its value is the key's."""
    rows = list(r.get("unexpected_index_list") or [])[: ctx.evidence_limit]
    column = kwargs.get("column") or (kwargs.get("column_list") or [None])[0] or kwargs.get("column_A")
    out = []
    for row in rows:
        row = dict(row)
        key = row.get(ctx.key)
        others = [v for k, v in row.items() if k != ctx.key]
        value = row[column] if column in row else next(iter(others), None)
        out.append({"key": key, "value": value})
    return sorted(out, key=lambda x: (str(type(x["key"])), x["key"]))
