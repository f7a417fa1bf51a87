"""`sentinel status`: each dataset's last run, outcome, next run and open incidents; the daemons alive; the
state store's size and the notifications not delivered yet, with the last few that failed and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from sentinel.config import Config
from sentinel.results import jsonable
from sentinel.scheduler import trigger
from sentinel.store import Store, daemons, outbox, runs, utc
from sentinel.terminal import visible


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
            "store": {"backend": store.url.get_backend_name(), "bytes": store.size()},
            "outbox": store.outbox_backlog(),
            "outbox_failures": outbox_failures(store),
            "changesets": changeset_counts(store),
        }
    )


def changeset_counts(store: Store) -> dict[str, int]:
    """Change-sets in flight by state (awaiting_approval is a person's turn)."""
    from sentinel.store import changesets

    stmt = (
        sa.select(changesets.c.state, sa.func.count())
        .where(changesets.c.state.not_in(("checked", "failed", "rejected", "rolled_back")))
        .group_by(changesets.c.state)
    )
    with store.engine.connect() as conn:
        return {state: n for state, n in conn.execute(stmt)}


UNDELIVERED = ("failed", "unsupported", "refused", "unconfigured")


def outbox_failures(store: Store, limit: int = 5) -> list[dict[str, Any]]:
    """The last few notifications that did not go out: failed for good, kept (unsupported, refused,
    unconfigured), or waiting for a retry; each with its channel as shown to people (secrets masked), the reason
    and the attempts so far."""
    from sentinel.notify.channels import display_url

    stmt = (
        sa.select(outbox)
        .where(sa.or_(outbox.c.state.in_(UNDELIVERED), sa.and_(outbox.c.state == "pending", outbox.c.attempts > 0)))
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [
        {
            "id": r.id,
            "key": r.key,
            "channel": display_url(r.channel or ""),
            "state": r.state,
            "attempts": r.attempts or 0,
            "reason": r.last_error,
            "next_attempt_at": utc(r.next_attempt_at) if r.state == "pending" else None,
            "created_at": utc(r.created_at),
        }
        for r in rows
    ]


def render_status(doc: dict[str, Any]) -> None:
    """A few lines per dataset rather than a table: at 80 columns (or piped) a line wraps between words with a
    hanging indent, so dates, keys and names are never cut short."""
    import textwrap

    from rich.console import Console

    console = Console(highlight=False)

    def say(text: str, indent: str = "") -> None:  # names and keys print as text: no markup, no escape codes
        text = visible(text)
        for line in textwrap.wrap(
            text, console.width, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False
        ) or [""]:
            console.print(line, markup=False, soft_wrap=True)

    say(f"Sentinel status at {_when(doc['now'])}")
    for d in doc["datasets"]:
        run = d["last_run"]
        say("")
        say(f"{d['dataset']} · {d['schedule']}")
        last = "never run" if run is None else f"last run {_when(run['started_at'])}: {run['status']}"
        say(f"{last} · next {_when(d['next_run'])}", "  ")
        for i in d["open_incidents"]:
            say(f"open #{i['id']} {i['key']} ({i['severity']}) since {_when(i['since'])}", "  ")
    say("")
    if not doc["daemons"]:
        say("no daemon is running against this state store")
    for dm in doc["daemons"]:
        state = "alive" if dm["alive"] else "silent"
        say(f"daemon {dm['id']}: {state}, last heartbeat {_when(dm['last_heartbeat'])}")
    store, backlog = doc["store"], doc["outbox"]
    size = "size unknown" if store["bytes"] is None else _bytes(store["bytes"])
    say(
        f"state store: {size} ({store['backend']}) · "
        f"outbox backlog: {backlog['pending']:,} pending, {backlog['failed']:,} failed"
    )
    if doc.get("changesets"):
        states = ", ".join(f"{n} {state}" for state, n in sorted(doc["changesets"].items()))
        say(f"change-sets in flight: {states} (sentinel changes)")
    for f in doc.get("outbox_failures", []):
        tries = f"{f['attempts']} attempt{'s' if f['attempts'] != 1 else ''}"
        retry = f", next try {_when(f['next_attempt_at'])}" if f["next_attempt_at"] else ""
        say(f"{f['state']} #{f['id']} to {f['channel']} ({tries}{retry}): {f['reason'] or 'no reason recorded'}", "  ")


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _bytes(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
