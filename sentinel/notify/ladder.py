"""A request's life: one owner request per problem, from the first message to the closing one (DESIGN §6).

    notified -> reminded (every notify.remind_after, at most max_reminders, inside the owner's working hours)
             -> escalated (to owner.backup, notify.escalate_after after the first message)
             -> resolved (every incident of it closed: a closing message to everyone who got any of it)

- In a run's transaction (`on_changes`, from runner.persist): an opened incident joins the open request of its
  dataset it belongs with (problems.belongs_with), else opens one; a reopened incident reopens its own request
  (same id, a `reopened-N` message); when the last incident of a request closes, the request is resolved.
  Messages are outbox rows written in the same transaction, so a crash never loses or invents one.
- Each daemon heartbeat (`step`): at most one step per open request, in its own transaction, taken by a
  conditional UPDATE on `requests.version` (two daemons never both take it) and written as outbox rows whose
  UNIQUE key (`message.request_key`) is the second guard.
- `ack` stops reminders and escalation (re-checks go on and a pass still closes the request and says so);
  `snooze` holds them until a time. Both are incident events. A relapse is news: it clears both.

Steps after a reopen carry the episode in their key (`reopened-1.reminder-1`), so each is sent once per
channel however often the request comes back.

(tests/crashing_daemon.py kills a daemon right after the transaction of a named step commits by wrapping
`runner.save`'s caller and `_step_request`: nothing in this module exists for the tests.)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sentinel.notify import hours
from sentinel.notify.channels import display_url
from sentinel.notify.message import request_key
from sentinel.notify.outbox import enqueue, recipients
from sentinel.notify.problems import belongs_with, lead
from sentinel.results import jsonable
from sentinel.store import Store, incident_events, incidents, outbox, owner_requests, request_incidents, utc

OPEN = ("notified", "reminded", "escalated")
_REF = re.compile(r"(?i)^\s*(req-)?(\d+)\s*$")
KIND_OF = {"notified": "request", "reminder": "reminder", "escalated": "escalation", "closing": "closing"}


# --- who and when -------------------------------------------------------------------------------------------


def dataset_owner(cfg: Any, dataset: str) -> str | None:
    ds = next((d for d in cfg.datasets if d.name == dataset), None)
    return ds.owner if ds is not None and ds.owner in cfg.main.owners else None


def _hours(cfg: Any, owner: str | None) -> tuple[hours.Hours, Any]:
    """An owner's working hours and timezone; without an owner (notify.default) the default hours in the
    daemon's timezone."""
    o = cfg.main.owners.get(owner) if owner else None
    spec = o.working_hours if o is not None else hours.DEFAULT
    return hours.parse(spec), hours.zone((o.timezone if o is not None else None) or cfg.main.daemon.timezone)


def owner_zone(cfg: Any, owner: str | None) -> Any:
    return _hours(cfg, owner)[1]


def parse_until(text: str, now: dt.datetime, tz: Any) -> dt.datetime:
    """`--until`: a duration from now (4h, 1d) or an ISO time; a time without an offset is in `tz` (the owner's
    timezone). ValueError for anything else, or a time already past."""
    from sentinel.timespec import parse_duration

    try:
        return now + parse_duration(text)
    except ValueError:
        pass
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected a duration (4h) or a time (2026-12-01T09:00), got {text!r}") from None
    when = when.replace(tzinfo=tz) if when.tzinfo is None else when
    if when <= now:
        raise ValueError(f"{text!r} is in the past")
    return when.astimezone(dt.UTC)


def _next_reminder(cfg: Any, owner: str | None, after: dt.datetime) -> dt.datetime:
    h, tz = _hours(cfg, owner)
    return hours.next_open(after + cfg.main.notify.remind_after, h, tz)


def next_reminder(cfg: Any, req: Any) -> dt.datetime | None:
    """When the next reminder of a request goes out (None: none will), as `step` decides it."""
    if req.state not in OPEN or req.acked_at is not None or req.next_reminder_at is None:
        return None
    if req.reminders >= cfg.main.notify.max_reminders:
        return None
    due = max(utc(req.next_reminder_at), utc(req.snoozed_until) or utc(req.next_reminder_at))
    h, tz = _hours(cfg, req.owner)
    return hours.next_open(due, h, tz)


def _episode(req: Any, step: str) -> str:
    return step if not req.reopened else f"reopened-{req.reopened}.{step}"


# --- messages -------------------------------------------------------------------------------------------------


def _send(
    conn: sa.Connection,
    cfg: Any,
    req: Any,
    step: str,
    kind: str,
    urls: Sequence[str],
    now: dt.datetime,
    change: str,
    origin: dict | None = None,
    extra: dict | None = None,
) -> None:
    """One outbox row per channel for one step of a request, keyed so the step is sent once per channel."""
    if not urls:
        return
    from sentinel.notify import compose  # Jinja2 is imported by the runs that have something to say

    msg = compose.render(conn, cfg, req.id, kind, now, to_backup=kind == "escalation", origin=origin)
    enqueue_message(conn, req, step, msg, urls, now, change, extra)


def enqueue_message(
    conn: sa.Connection,
    req: Any,
    step: str,
    msg: Any,
    urls: Sequence[str],
    now: dt.datetime,
    change: str,
    extra: dict | None = None,
) -> None:
    """One outbox row per channel for message `msg` of a request, keyed by (request, step, channel): a step is
    sent once per channel however often it is recorded."""
    head = conn.execute(sa.select(incidents).where(incidents.c.id == req.lead_incident_id)).first()
    payload = {
        "id": req.lead_incident_id,
        "key": req.key,
        "dataset": req.dataset,
        "check": head.check_name if head is not None else None,
        "state": req.state,
        "change": change,
        "severity": head.severity if head is not None else None,
        "summary": msg.summary,
        "at": now,
        "request_id": req.id,
        "request": f"REQ-{req.id}",
        "step": step,
        **(extra or {}),
        **msg.payload(),
    }
    conn.execute(
        outbox.insert(),
        [
            {
                "key": request_key(req.id, step, url),
                "incident_id": req.lead_incident_id,
                "request_id": req.id,
                "channel": url,
                "payload": jsonable(payload),
                "created_at": now,
                "state": "pending",
                "attempts": 0,
            }
            for url in dict.fromkeys(urls)
        ],
    )


def history(conn: sa.Connection, request_id: int) -> list[dict[str, Any]]:
    """The steps a request has taken so far, oldest first (one entry per step, whatever the channels)."""
    rows = conn.execute(
        sa.select(outbox.c.key, sa.func.min(outbox.c.created_at).label("at"))
        .where(outbox.c.request_id == request_id)
        .group_by(outbox.c.key)
    ).all()
    steps: dict[str, dt.datetime] = {}
    for r in rows:
        step = r.key.split(":")[1]
        at = utc(r.at)
        steps[step] = min(steps.get(step, at), at)
    return [{"step": s, "at": at} for s, at in sorted(steps.items(), key=lambda kv: (kv[1], kv[0]))]


# --- inside a run's transaction ---------------------------------------------------------------------------


def request_of(conn: sa.Connection, incident_id: int) -> sa.Row | None:
    return conn.execute(
        sa.select(owner_requests)
        .select_from(owner_requests.join(request_incidents, request_incidents.c.request_id == owner_requests.c.id))
        .where(request_incidents.c.incident_id == incident_id)
    ).first()


def _members(conn: sa.Connection, request_id: int) -> list[sa.Row]:
    return conn.execute(
        sa.select(incidents.c.id, incidents.c.key, incidents.c.open_fingerprint, incidents.c.last_result)
        .select_from(incidents.join(request_incidents, request_incidents.c.incident_id == incidents.c.id))
        .where(request_incidents.c.request_id == request_id)
        .order_by(incidents.c.id)
    ).all()


def _last_result(conn: sa.Connection, incident_id: int) -> Any:
    return conn.execute(sa.select(incidents.c.last_result).where(incidents.c.id == incident_id)).scalar()


def _get(conn: sa.Connection, request_id: int) -> sa.Row:
    return conn.execute(sa.select(owner_requests).where(owner_requests.c.id == request_id)).one()


def _join(conn: sa.Connection, c: Any, now: dt.datetime, closing_now: set[int]) -> int | None:
    """The open request of c's dataset that c's incident belongs with (it joins it), or None."""
    mine = _last_result(conn, c.id)
    open_requests = conn.execute(
        sa.select(owner_requests.c.id)
        .where(owner_requests.c.dataset == c.dataset, owner_requests.c.state.in_(OPEN))
        .order_by(owner_requests.c.id)
    ).scalars()
    for request_id in open_requests:
        live = [m for m in _members(conn, request_id) if m.open_fingerprint is not None or m.id in closing_now]
        if any(m.id != c.id and belongs_with(mine, m.last_result) for m in live):
            conn.execute(request_incidents.insert().values(request_id=request_id, incident_id=c.id, added_at=now))
            conn.execute(
                owner_requests.update()
                .where(owner_requests.c.id == request_id)
                .values(updated_at=now, version=owner_requests.c.version + 1)
            )
            return request_id
    return None


def _open(conn: sa.Connection, cfg: Any, c: Any, now: dt.datetime) -> int:
    owner = dataset_owner(cfg, c.dataset)
    request_id = conn.execute(
        owner_requests.insert()
        .values(
            key=c.key,
            dataset=c.dataset,
            owner=owner,
            state="notified",
            lead_incident_id=c.id,
            opened_at=now,
            updated_at=now,
            notified_at=now,
            reminders=0,
            next_reminder_at=_next_reminder(cfg, owner, now),  # max_reminders is applied when it is due
            reopened=0,
            version=1,
            recipients=recipients(cfg, c.dataset),
        )
        .returning(owner_requests.c.id)
    ).scalar_one()
    conn.execute(request_incidents.insert().values(request_id=request_id, incident_id=c.id, added_at=now))
    return request_id


def _reopen(conn: sa.Connection, cfg: Any, req: sa.Row, now: dt.datetime) -> None:
    """A relapse within the reopen window: the same request, back at the first rung."""
    told = list(dict.fromkeys([*(req.recipients or []), *recipients(cfg, req.dataset)]))
    conn.execute(
        owner_requests.update()
        .where(owner_requests.c.id == req.id)
        .values(
            state="notified",
            reopened=owner_requests.c.reopened + 1,
            resolved_at=None,
            resolution=None,
            updated_at=now,
            notified_at=now,
            reminders=0,
            last_reminded_at=None,
            next_reminder_at=_next_reminder(cfg, req.owner, now),
            escalated_at=None,
            escalated_to=None,
            acked_at=None,
            ack_note=None,
            snoozed_until=None,
            recipients=told,
            version=owner_requests.c.version + 1,
        )
    )


def _relead(conn: sa.Connection, request_id: int) -> None:
    """The request's lead is the incident whose diagnosis explains the most rows (problems.lead)."""
    members = [m for m in _members(conn, request_id) if m.open_fingerprint is not None]
    if members:
        head = lead(members)
        conn.execute(
            owner_requests.update()
            .where(owner_requests.c.id == request_id)
            .values(lead_incident_id=head.id, key=head.key)
        )


def on_changes(
    conn: sa.Connection,
    cfg: Any,
    changes: list[Any],
    now: dt.datetime,
    origin: str,
    origin_doc: dict | None = None,
) -> list[str]:
    """Fold a run's (or a manual resolution's) incident changes into requests and enqueue their messages,
    inside the caller's transaction; returns the steps taken (`notified`, `reopened-1`, `closing`, ...).
    Changes of incidents with no request (opened before requests existed) are told as plain changes."""
    closing_now = {c.id for c in changes if c.change == "resolved"}
    fresh: list[tuple[int, str, str]] = []  # (request, step, change): messages written after every join
    ended: dict[int, str] = {}  # request -> why its incidents closed
    plain: list[Any] = []
    for c in changes:
        if c.change == "opened" or c.change == "reopened" and request_of(conn, c.id) is None:
            request_id = _join(conn, c, now, closing_now)
            if request_id is None:
                fresh.append((_open(conn, cfg, c, now), "notified", c.change))
        elif c.change == "reopened":
            req = request_of(conn, c.id)
            if req.state == "resolved":
                _reopen(conn, cfg, req, now)
                fresh.append((req.id, f"reopened-{req.reopened + 1}", c.change))
        elif c.change == "resolved":
            req = request_of(conn, c.id)
            if req is None:
                plain.append(c)
            elif req.state in OPEN:
                ended.setdefault(req.id, c.summary)
    steps: list[str] = []
    for request_id, why in ended.items():
        if any(m.open_fingerprint is not None for m in _members(conn, request_id)):
            continue  # a part of the problem is still there: the request stays open
        conn.execute(
            owner_requests.update()
            .where(owner_requests.c.id == request_id)
            .values(
                state="resolved",
                resolved_at=now,
                resolution=why,
                updated_at=now,
                next_reminder_at=None,
                version=owner_requests.c.version + 1,
            )
        )
        req = _get(conn, request_id)
        step = _episode(req, "closing")
        _send(conn, cfg, req, step, "closing", req.recipients or [], now, "resolved", origin_doc)
        steps.append(step)
    for request_id, step, change in fresh:
        if step == "notified":
            _relead(conn, request_id)
        req = _get(conn, request_id)
        kind = "request" if step == "notified" else "reopened"
        _send(conn, cfg, req, step, kind, recipients(cfg, req.dataset), now, change, origin_doc)
        steps.append(step)
    if plain:
        enqueue(conn, plain, recipients(cfg, plain[0].dataset), origin, now)
    return steps


# --- each heartbeat -------------------------------------------------------------------------------------------


def step(store: Store, cfg: Any, now: dt.datetime | None = None) -> list[str]:
    """Take the due step of every open request (a reminder or the escalation), one transaction each; returns
    the steps taken as `REQ-n:step`."""
    now = now or dt.datetime.now(dt.UTC)
    ids = store.transaction(
        lambda conn: (
            conn.execute(
                sa.select(owner_requests.c.id)
                .where(owner_requests.c.state.in_(OPEN), owner_requests.c.acked_at.is_(None))
                .order_by(owner_requests.c.id)
            )
            .scalars()
            .all()
        )
    )
    taken: list[str] = []
    for request_id in ids:
        done = _step_request(store, cfg, request_id, now)
        if done is not None:
            taken.append(f"REQ-{request_id}:{done}")
    return taken


def _step_request(store: Store, cfg: Any, request_id: int, now: dt.datetime) -> str | None:
    """The step due on one request (None if none), taken and committed in its own transaction."""
    return store.transaction(lambda conn: _step_one(conn, cfg, request_id, now))


def _take(conn: sa.Connection, req: sa.Row, **values: Any) -> bool:
    """The conditional UPDATE that makes a step this daemon's: False when another took a step first."""
    done = conn.execute(
        owner_requests.update()
        .where(owner_requests.c.id == req.id, owner_requests.c.version == req.version)
        .values(version=req.version + 1, **values)
    ).rowcount
    return done == 1


def _step_one(conn: sa.Connection, cfg: Any, request_id: int, now: dt.datetime) -> str | None:
    req = conn.execute(sa.select(owner_requests).where(owner_requests.c.id == request_id)).first()
    if req is None or req.state not in OPEN or req.acked_at is not None:
        return None
    if req.snoozed_until is not None and now < utc(req.snoozed_until):
        return None
    n = cfg.main.notify
    owner = cfg.main.owners.get(req.owner) if req.owner else None
    backup = cfg.main.owners.get(owner.backup) if owner is not None and owner.backup else None
    if req.escalated_at is None and backup is not None and backup.notify:
        backup_hours, backup_tz = _hours(cfg, owner.backup)  # the backup is asked inside their own hours
        if now >= utc(req.notified_at) + n.escalate_after and backup_hours.is_open(now, backup_tz):
            told = list(dict.fromkeys([*(req.recipients or []), *backup.notify]))
            if not _take(conn, req, state="escalated", escalated_at=now, escalated_to=owner.backup, recipients=told):
                return None
            step = _episode(req, "escalated")
            extra = {"history": history(conn, req.id)}
            _send(conn, cfg, _get(conn, req.id), step, "escalation", backup.notify, now, "escalated", None, extra)
            return step
    if req.next_reminder_at is None or req.reminders >= n.max_reminders or now < utc(req.next_reminder_at):
        return None
    h, tz = _hours(cfg, req.owner)
    if not h.is_open(now, tz):
        return None  # due outside working hours: it waits for the next window
    count = req.reminders + 1
    later = _next_reminder(cfg, req.owner, now)  # held while max_reminders is reached (a reload may raise it)
    state = "escalated" if req.state == "escalated" else "reminded"
    if not _take(conn, req, state=state, reminders=count, last_reminded_at=now, next_reminder_at=later, updated_at=now):
        return None
    step = _episode(req, f"reminder-{count}")
    _send(conn, cfg, _get(conn, req.id), step, "reminder", recipients(cfg, req.dataset), now, f"reminder-{count}")
    return step


# --- people's answers ------------------------------------------------------------------------------------------


class RequestNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Answer:
    request_id: int
    state: str
    incident_ids: list[int]


def find(conn: sa.Connection, ref: str | int) -> sa.Row:
    """The request `ref` names: `REQ-3` is request 3; a bare `3` is incident 3 (as `sentinel show 3`), whose
    request it is."""
    m = _REF.match(str(ref))
    if m is None:
        raise RequestNotFound(f"{ref!r} names no request: use REQ-n for a request or n for an incident")
    number = int(m[2])
    if m[1]:
        row = conn.execute(sa.select(owner_requests).where(owner_requests.c.id == number)).first()
        if row is None:
            raise RequestNotFound(f"no request REQ-{number}")
        return row
    row = request_of(conn, number)
    if row is None:
        raise RequestNotFound(f"incident {number} has no owner request")
    return row


def _answer(store: Store, ref: str | int, now: dt.datetime, event: str, detail: dict, **values: Any) -> Answer:
    def work(conn: sa.Connection) -> Answer:
        req = find(conn, ref)
        if req.state not in OPEN:
            raise RequestNotFound(f"request REQ-{req.id} is {req.state}")
        conn.execute(  # unconditional, but a new version: a step read before this one cannot be taken now
            owner_requests.update()
            .where(owner_requests.c.id == req.id)
            .values(updated_at=now, version=owner_requests.c.version + 1, **values)
        )
        members = [m.id for m in _members(conn, req.id)]
        for incident_id in members:
            conn.execute(
                incident_events.insert().values(
                    incident_id=incident_id, at=now, event=event, detail={"request": f"REQ-{req.id}", **detail}
                )
            )
        return Answer(req.id, req.state, members)

    return store.transaction(work)


def ack(store: Store, ref: str | int, note: str, now: dt.datetime | None = None) -> Answer:
    """The owner is on it: no more reminders or escalation; re-checks go on and a pass still closes it."""
    now = now or dt.datetime.now(dt.UTC)
    return _answer(store, ref, now, "acknowledged", {"note": note}, acked_at=now, ack_note=note)


def snooze(store: Store, ref: str | int, until: dt.datetime, now: dt.datetime | None = None) -> Answer:
    """No reminder or escalation before `until`."""
    now = now or dt.datetime.now(dt.UTC)
    until = until.astimezone(dt.UTC)
    return _answer(store, ref, now, "snoozed", {"until": until.isoformat()}, snoozed_until=until)


# --- what `incidents` and `show` print -----------------------------------------------------------------------


def describe(conn: sa.Connection, cfg: Any, req: sa.Row) -> dict[str, Any]:
    """A request as JSON: state, who was asked when (each message: channel with secrets redacted, step,
    delivery state, attempts, last error), the next reminder, ack and snooze."""
    from sentinel.envsubst import redact

    def iso(v: dt.datetime | None) -> str | None:
        return utc(v).isoformat() if v is not None else None

    rows = conn.execute(sa.select(outbox).where(outbox.c.request_id == req.id).order_by(outbox.c.id)).all()
    nxt = next_reminder(cfg, req) if cfg is not None else None
    return {
        "id": req.id,
        "ref": f"REQ-{req.id}",
        "state": req.state,
        "dataset": req.dataset,
        "owner": req.owner,
        "incidents": [m.id for m in _members(conn, req.id)],
        "lead_incident_id": req.lead_incident_id,
        "opened_at": iso(req.opened_at),
        "notified_at": iso(req.notified_at),
        "reminders": req.reminders,
        "last_reminded_at": iso(req.last_reminded_at),
        "next_reminder_at": iso(nxt),
        "escalated_at": iso(req.escalated_at),
        "escalated_to": req.escalated_to,
        "acked_at": iso(req.acked_at),
        "ack_note": req.ack_note,
        "snoozed_until": iso(req.snoozed_until),
        "resolved_at": iso(req.resolved_at),
        "resolution": req.resolution,
        "reopened": req.reopened,
        "messages": [
            {
                "step": r.key.split(":")[1],
                "channel": display_url(r.channel),
                "state": r.state,
                "attempts": r.attempts,
                "last_error": redact(r.last_error) if r.last_error else None,
                "created_at": iso(r.created_at),
                "sent_at": iso(r.sent_at),
            }
            for r in rows
        ],
    }


def requests_of(store: Store, cfg: Any, incident_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """incident id -> its request (as `describe`), for the incidents that have one."""
    out: dict[int, dict[str, Any]] = {}
    if not incident_ids:
        return out
    with store.engine.connect() as conn:
        links: dict[int, int] = {}
        ids = list(incident_ids)
        for i in range(0, len(ids), 500):
            links.update(
                conn.execute(
                    sa.select(request_incidents.c.incident_id, request_incidents.c.request_id).where(
                        request_incidents.c.incident_id.in_(ids[i : i + 500])
                    )
                ).all()
            )
        described: dict[int, dict[str, Any]] = {}
        for request_id in sorted(set(links.values())):
            described[request_id] = describe(conn, cfg, _get(conn, request_id))
        for incident_id, request_id in links.items():
            out[incident_id] = described[request_id]
    return out
