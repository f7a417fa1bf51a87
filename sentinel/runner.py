"""One run = one dataset: open its source, describe the table, run every check's aggregates in a single
scan (sentinel/scan.py), finish each check (targeted follow-up queries only where something is wrong), then
persist the run, its results, metrics and incident changes in one transaction.

A check that raises, or whose aggregate the database refuses, becomes an `error` result for that check alone;
a source that cannot be reached makes every check `error` (never an empty-table failure and never a pass).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from sentinel import incidents as incident_log
from sentinel import prefetch, scan, storefault
from sentinel.checks import KINDS
from sentinel.checks.common import CannotMeasure, Context, Spec, error
from sentinel.config import Config, DatasetConfig, MissingEnv, check_name, check_params, check_severity
from sentinel.notify import ladder
from sentinel.notify.outbox import configured_channels, dispatch, recipients
from sentinel.results import CheckResult, jsonable
from sentinel.sources import open_source
from sentinel.sources.origins import annotate_origins
from sentinel.store import (
    Store,
    claim_tick,
    hostname,
    metrics,
    results,
    runs,
    schema_snapshots,
    value_snapshots,
    write_snapshot,
    writes_text,
)

log = logging.getLogger(__name__)
Progress = Callable[[str, str | None], None]  # (dataset, step or None): what a run is doing, for a progress bar
_progress: ContextVar[Progress | None] = ContextVar("progress", default=None)


def _tell(dataset: str, step: str | None) -> None:
    if (progress := _progress.get()) is not None:
        progress(dataset, step)


@dataclass
class RunReport:
    run_uid: str
    dataset: str
    started_at: dt.datetime
    finished_at: dt.datetime
    results: list[CheckResult]
    changes: list[incident_log.Change] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)  # notify URLs of the dataset's incident changes
    origin: dict[str, Any] | None = None  # what the dataset's `origin:` holds now (rows, last change), if read
    steps: list[str] = field(default_factory=list)  # request steps the write took (notified, closing, ...)
    planned: list[int] = field(default_factory=list)  # change-sets the run's incidents were planned into

    @property
    def status(self) -> str:
        return overall_status(self.results)


def overall_status(items: list[CheckResult]) -> str:
    statuses = {r.status for r in items}
    for s in ("fail", "error", "warn"):
        if s in statuses:
            return s
    return "pass"


def specs_of(ds: DatasetConfig) -> list[Spec]:
    return [Spec(check_name(e), e.kind, check_severity(e), check_params(e)) for e in ds.checks]


def measure(
    cfg: Config,
    ds: DatasetConfig,
    now: dt.datetime,
    accepted_schema: dict[str, str] | None,
    plans: dict[str, dict] | None = None,
    history: dict[str, Any] | None = None,
    engines: dict | None = None,
) -> list[CheckResult]:
    specs = specs_of(ds)
    try:
        source = open_source(ds.source, cfg, engines)
    except (CannotMeasure, MissingEnv) as exc:
        cause = getattr(exc, "cause", "config")
        return [error(s, ds.name, cause, getattr(exc, "message", str(exc))) for s in specs]
    try:
        return _measure(cfg, ds, specs, source, now, accepted_schema, history or {})
    finally:
        source.close()
        if plans is not None and source.speculation_key and source.executed_sql:
            plans[ds.name] = {
                "source_url": source.speculation_key,
                "dialect": source.dialect,
                "sql": source.executed_sql,
                "db_seconds": round(source.db_seconds, 4),
            }


def _measure(cfg, ds, specs, source, now, accepted_schema, history) -> list[CheckResult]:
    try:
        columns = source.describe(ds.table)
        base = source.table(ds.table)
    except CannotMeasure as exc:
        return [error(s, ds.name, exc.cause, exc.message) for s in specs]
    table = sa.table(base.name, *[sa.column(c) for c in columns], schema=base.schema)
    ctx = Context(
        ds.name,
        ds.key,
        source,
        table,
        columns,
        now,
        cfg.main.evidence_limit,
        schema_snapshot=accepted_schema,
        history=history,
        fx_rates=dict(cfg.main.fx_rates),
        root=cfg.root,
    )
    found = scan.run_checks(specs, ctx, lambda step: _tell(ds.name, step))
    if source.names_origins:  # evidence names the record or cells each row came from
        annotate_origins(found, source, ds.table, ds.key)
    return found


def run_dataset(
    cfg: Config,
    store: Store,
    ds: DatasetConfig,
    now: dt.datetime | None = None,
    run_uid: str | None = None,
    plans: dict[str, dict] | None = None,
    progress: Progress | None = None,
    read_origin: bool = True,
) -> RunReport:
    """Measure one dataset and persist everything in one transaction. `plans` collects the SQL it ran;
    `progress` hears each step (the scan, then each check); `read_origin=False` makes no origin API call."""
    token = _progress.set(progress)
    try:
        _tell(ds.name, None)
        report = collect(cfg, store, ds, now, run_uid, plans, read_origin=read_origin)
        _tell(ds.name, "saving")
        try:
            save(store, report, cfg)
        except sa.exc.DBAPIError as exc:  # its checks become error results (storefault.py), never a traceback
            storefault.settle(store, report, exc, cfg)
    finally:
        _progress.reset(token)
    return report


def learnt(store: Store, ds: DatasetConfig) -> tuple[dict[str, str] | None, dict[str, Any]]:
    """What earlier runs learnt that the dataset's checks read: the accepted schema, and what each check kind
    declares it reads (`reads`: metric history, value snapshots)."""
    accepted = store.accepted_schema(ds.name) if any(e.kind == "schema" for e in ds.checks) else None
    history: dict[str, Any] = {}
    for e in ds.checks:
        reads = getattr(KINDS[e.kind], "reads", None)
        if reads is not None:
            history.update(reads(store, ds.name, check_name(e), check_params(e)))
    return accepted, history


def collect(
    cfg: Config,
    store: Store,
    ds: DatasetConfig,
    now: dt.datetime | None = None,
    run_uid: str | None = None,
    plans: dict[str, dict] | None = None,
    engines: dict | None = None,
    read_origin: bool = True,
) -> RunReport:
    """Measure one dataset (reading what earlier runs learnt); nothing is written. `engines` keeps source
    engines between runs (the daemon's); with `read_origin`, a failing run reads the dataset's `origin:`."""
    started = now or dt.datetime.now(dt.UTC)
    accepted, history = learnt(store, ds)
    found = measure(cfg, ds, started, accepted, plans, history, engines)
    origin = None
    if read_origin and ds.origin is not None and any(r.status in ("fail", "warn") for r in found):
        # read by API here, before any store transaction: a slow or failing origin never holds one open
        from sentinel.notify.problems import flagged_keys
        from sentinel.origin import read_origin

        keys = sorted(set().union(*(flagged_keys(r.to_json()) for r in found)))
        origin = read_origin(cfg, ds, keys)
    finished = max(dt.datetime.now(dt.UTC), started)
    uid = run_uid or uuid.uuid4().hex
    return RunReport(uid, ds.name, started, finished, found, recipients=recipients(cfg, ds.name), origin=origin)


def save(
    store: Store,
    report: RunReport,
    cfg: Config,
    tick: dt.datetime | None = None,
    by: str | None = None,
) -> list[incident_log.Change]:
    """Persist a report in one transaction, with its owner requests' steps and messages (notify/ladder.py).
    With `tick`, the run also claims that schedule tick for daemon `by`: if another daemon already completed
    it, nothing is written and TickTaken is raised."""
    report.changes = store.transaction(lambda conn: persist(conn, report, cfg, tick, by))
    return report.changes


def persist(
    conn: sa.Connection,
    report: RunReport,
    cfg: Config,
    tick: dt.datetime | None = None,
    by: str | None = None,
) -> list[incident_log.Change]:
    unmeasurable_after = cfg.main.daemon.unmeasurable_after
    if tick is not None:
        claim_tick(conn, report.dataset, tick, report.run_uid, by)
    # values passed as parameters, not built into the statement: its compiled form is cached between runs
    run_id = conn.execute(
        runs.insert().returning(runs.c.id),
        {
            "run_uid": report.run_uid,
            "dataset": report.dataset,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "status": report.status,
            "host": hostname(),
        },
    ).scalar_one()
    # every result, and then every metric, in one statement each (executemany): a run is a handful of round
    # trips to the store, not two per check
    if report.results:
        docs = [r.to_json() for r in report.results]
        text = writes_text(conn)
        conn.execute(
            results.insert(),
            [
                {
                    "run_id": run_id,
                    "dataset": r.dataset,
                    "check_name": r.check,
                    "kind": r.kind,
                    "status": r.status,
                    "severity": r.severity,
                    "observed": doc["observed"],
                    "expected": doc["expected"],
                    "evidence": r.evidence_json() if text else doc["evidence"],  # encoded once, for the incident too
                    "diagnosis": doc["diagnosis"],
                }
                for r, doc in zip(report.results, docs, strict=True)
            ],
        )
    measured = [
        {
            "run_id": run_id,
            "dataset": r.dataset,
            "check_name": r.check,
            "metric": k,
            "value": float(v),
            "measured_at": report.started_at,
        }
        for r in report.results
        for k, v in r.metrics.items()
    ]
    if measured:
        conn.execute(metrics.insert(), measured)
    for r in report.results:
        if r.snapshot is not None:
            write_snapshot(conn, r.dataset, r.check, r.snapshot, report.started_at)
        if r.accept_schema is not None:
            conn.execute(
                schema_snapshots.insert().values(
                    dataset=r.dataset,
                    columns=jsonable(r.accept_schema),
                    accepted_at=report.started_at,
                    reason="first run",
                )
            )
    changes = incident_log.apply(conn, run_id, report.results, report.started_at)
    changes += incident_log.unmeasurable(
        conn, run_id, report.dataset, report.results, report.started_at, unmeasurable_after
    )
    from sentinel import changesets

    report.planned = changesets.on_run(
        conn, cfg, run_id, changes, report.results, report.started_at, f"run:{report.run_uid}"
    )
    report.steps = ladder.on_changes(conn, cfg, changes, report.started_at, report.run_uid, report.origin)
    return changes


def run_many(
    cfg: Config,
    store: Store,
    names: list[str],
    invocation: str,
    progress: Progress | None = None,
    read_origin: bool = True,
    drive: bool = False,
) -> tuple[dict[str, Any], list[RunReport]]:
    """Run the named datasets in order, then take the steps their change-sets can take (stage, verify; all in
    flight with `drive`); return the `run --json` document and the reports."""
    started = dt.datetime.now(dt.UTC)
    reports, plans = [], {}
    try:
        for name in names:
            ds = cfg.dataset(name)
            uid = f"{invocation}:{name}"
            report = run_dataset(cfg, store, ds, run_uid=uid, plans=plans, progress=progress, read_origin=read_origin)
            reports.append(report)
    finally:
        prefetch.shutdown()
    if any(rep.planned for rep in reports) or drive:
        from sentinel import changesets

        changesets.drive(cfg, store, f"run:{invocation}")  # stage and verify what the runs planned
    dispatch(store, f"run:{invocation}", cfg.root, configured_channels(cfg))
    prefetch.record(cfg.path, cfg.root, [*cfg.main.checks, *cfg.main.correctors], cfg.files, plans)
    doc = {
        "run_id": invocation,
        "started_at": started.isoformat(),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        "results": [r.to_json() for rep in reports for r in rep.results],
        "incidents": [c.to_json() for rep in reports for c in rep.changes],
    }
    return doc, reports


def resolve_incident(
    store: Store, incident_id: int, note: str, cfg: Config | None = None
) -> incident_log.Change | None:
    """Close an incident by hand; a schema-drift incident's current columns become the accepted schema, and a
    magnitude incident's flagged values the accepted `history_by` values, and a subschema incident's category
    shares the accepted reference. With `cfg`, its request hears of it (closed with it when it was the last
    open incident of the request)."""
    now = dt.datetime.now(dt.UTC)

    def work(conn: sa.Connection):
        change = incident_log.resolve_manually(conn, incident_id, note, now)
        if change is None:
            return None
        from sentinel import changesets

        changesets.close_for(conn, incident_id, now, "cli:resolve", f"the incident was resolved by hand: {note}")
        if cfg is not None:
            ladder.on_changes(conn, cfg, [change], now, f"manual:{now.isoformat()}")
        inc = store_incident(conn, incident_id)
        last = inc.last_result or {}
        if inc.kind == "schema" and isinstance(last.get("observed"), dict):
            conn.execute(
                schema_snapshots.insert().values(
                    dataset=inc.dataset,
                    columns=last["observed"],
                    accepted_at=now,
                    reason=f"accepted with incident {incident_id}: {note}",
                )
            )
        if inc.kind == "subschema" and inc.last_run_id is not None:
            # the category shares of the flagged run become the accepted reference
            candidates = conn.execute(
                sa.select(metrics).where(
                    metrics.c.run_id == inc.last_run_id,
                    metrics.c.check_name == inc.check_name,
                    metrics.c.metric.like("candidate_share:%"),
                )
            ).all()
            if candidates:
                conn.execute(
                    metrics.insert(),
                    [
                        {
                            "run_id": c.run_id,
                            "dataset": c.dataset,
                            "check_name": c.check_name,
                            "metric": "share:" + c.metric.removeprefix("candidate_share:"),
                            "value": c.value,
                            "measured_at": now,
                        }
                        for c in candidates
                    ],
                )
        if inc.kind == "magnitude":
            # the flagged values are accepted: their keys leave the `history_by` snapshot, so the next run
            # takes their current values as the new reference instead of flagging them against the old ones
            keys = [str(i["key"]) for i in (last.get("evidence") or {}).get("rows", {}).get("items", [])]
            for i in range(0, len(keys), 500):
                conn.execute(
                    value_snapshots.delete().where(
                        value_snapshots.c.dataset == inc.dataset,
                        value_snapshots.c.check_name == inc.check_name,
                        value_snapshots.c.key.in_(keys[i : i + 500]),
                    )
                )
        return change

    return store.transaction(work)


def store_incident(conn: sa.Connection, incident_id: int) -> sa.Row:
    from sentinel.store import incidents

    return conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).one()
