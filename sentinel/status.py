"""`sentinel status`: each dataset's last run, outcome, next run and open incidents; the daemons alive."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from sentinel.config import Config
from sentinel.results import jsonable
from sentinel.scheduler import trigger
from sentinel.store import Store, daemons, runs, utc


def collect_status(cfg: Config, store: Store, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.UTC)
    d = cfg.main.daemon
    names = [ds.name for ds in cfg.datasets]
    latest = sa.select(sa.func.max(runs.c.id).label("id")).where(runs.c.dataset.in_(names)).group_by(runs.c.dataset)
    with store.engine.connect() as conn:
        last = {r.dataset: r for r in conn.execute(sa.select(runs).where(runs.c.id.in_(latest.scalar_subquery())))}
        alive = conn.execute(sa.select(daemons).where(daemons.c.stopped_at.is_(None))).all()
    open_by: dict[str, list[dict[str, Any]]] = {}
    for inc in store.list_incidents("open"):
        open_by.setdefault(inc["dataset"], []).append(
            {"id": inc["id"], "key": inc["key"], "severity": inc["severity"], "since": inc["opened_at"]}
        )
    datasets = []
    for ds in cfg.datasets:
        run = last.get(ds.name)
        nxt = trigger(ds.schedule, d.timezone, name=ds.name).get_next_fire_time(None, now)
        datasets.append(
            {
                "dataset": ds.name,
                "schedule": str(ds.schedule) if ds.schedule else "every 1h (default)",
                "last_run": None
                if run is None
                else {
                    "run_uid": run.run_uid,
                    "started_at": utc(run.started_at),
                    "finished_at": utc(run.finished_at),
                    "status": run.status,
                    "host": run.host,
                },
                "next_run": nxt,
                "open_incidents": open_by.get(ds.name, []),
            }
        )
    stale = 3 * d.heartbeat
    return jsonable(
        {
            "now": now,
            "daemons": [
                {
                    "id": r.id,
                    "host": r.host,
                    "pid": r.pid,
                    "started_at": utc(r.started_at),
                    "last_heartbeat": utc(r.beat_at),
                    "alive": now - utc(r.beat_at) <= stale,
                }
                for r in alive
                if now - utc(r.beat_at) <= 10 * stale  # long-silent rows are dead daemons: not listed
            ],
            "datasets": datasets,
        }
    )


def render_status(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    table = Table(title="Sentinel status")
    for col in ("dataset", "schedule", "last run", "outcome", "next run", "open incidents"):
        table.add_column(col)
    for d in doc["datasets"]:
        run = d["last_run"] or {}
        table.add_row(
            escape(d["dataset"]),
            d["schedule"],
            (run.get("started_at") or "never")[:19],
            run.get("status", "-"),
            (d["next_run"] or "-")[:19],
            escape(", ".join(f"#{i['id']} {i['key']}" for i in d["open_incidents"]) or "-"),
        )
    console.print(table)
    if not doc["daemons"]:
        console.print("no daemon is running against this state store")
    for dm in doc["daemons"]:
        console.print(
            f"daemon {dm['id']}: {'alive' if dm['alive'] else 'silent'}, last heartbeat {dm['last_heartbeat']}"
        )
