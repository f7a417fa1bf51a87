"""Change-sets: the state machine of a correction, and the driver that moves it (DESIGN §6).

    planned -> staged -> verified -> awaiting_approval -> approved -> promoting -> promoted -> checked
    (any step) -> failed | rejected;  promoted/checked -> rolled_back

Every transition is a conditional UPDATE on the change-set's `version` and an incident event in the same
transaction; the incident's `state` mirrors the change-set's while it is in flight, and the incident stays
open (it is not re-planned on each failing run: `open_incident` is unique). A step that calls a target is
claimed first (`claimed_by/claimed_at`, taken over when older than `CLAIM_FOR`), done outside any
transaction, then recorded; a crash in between repeats the step, which targets make idempotent (promotion
treats "already holds new" as done). Two drivers never run one step at once: the claim is a conditional
UPDATE too.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sentinel import audit
from sentinel.config import Config
from sentinel.correctors.base import Conflict, ReadBack, TargetError
from sentinel.store import Store, changeset_rows, changesets, incident_events, incidents, utc
from sentinel.store import audit as audit_table

log = logging.getLogger(__name__)

CLAIM_FOR = dt.timedelta(seconds=float(os.environ.get("SENTINEL_CLAIM_SECONDS", "300")))
TERMINAL = ("checked", "failed", "rejected", "rolled_back")
MAX_ATTEMPTS = 5  # transient target failures before a change-set fails


@dataclass
class Step:
    id: int
    before: str
    after: str
    note: str = ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def get(conn: sa.Connection, cs_id: int) -> sa.Row | None:
    return conn.execute(sa.select(changesets).where(changesets.c.id == cs_id)).first()


def rows_of(conn: sa.Connection, cs_id: int) -> list[sa.Row]:
    stmt = sa.select(changeset_rows).where(changeset_rows.c.changeset_id == cs_id).order_by(changeset_rows.c.seq)
    return list(conn.execute(stmt).all())


def create(conn, cfg: Config, inc, pb, action, planner: str, plan_hash: str, now: dt.datetime, actor: str) -> int:
    """Record an allowed `stage_fix` as a planned change-set (the gateway calls this after its checks)."""
    ds = cfg.dataset(inc.dataset)
    obj = (pb.allow.object if pb.allow is not None else None) or ds.table
    cs_id = conn.execute(
        changesets.insert()
        .values(
            incident_id=inc.id,
            open_incident=inc.id,
            dataset=inc.dataset,
            check_name=inc.check_name,
            playbook=pb.name,
            target=pb.target,
            object=obj,
            key_column=ds.key or "Id",
            state="planned",
            promote=pb.promote,
            planner=planner,
            plan_hash=plan_hash,
            planned_at=now,
            updated_at=now,
            version=0,
            attempts=0,
        )
        .returning(changesets.c.id)
    ).scalar_one()
    conn.execute(
        changeset_rows.insert(),
        [
            {
                "changeset_id": cs_id,
                "seq": i,
                "key": c.key,
                "field": c.field,
                "old": c.old,
                "new": c.new,
                "provenance": c.provenance.model_dump(mode="json"),
                "state": "planned",
            }
            for i, c in enumerate(action.changes)
        ],
    )
    detail = {
        "playbook": pb.name,
        "target": pb.target,
        "object": obj,
        "rows": len(action.changes),
        "plan_hash": plan_hash,
    }
    audit.append(conn, actor, "plan", "allowed", detail, changeset_id=cs_id, incident_id=inc.id, now=now)
    _event(conn, inc.id, now, "changeset_planned", {"changeset": cs_id, **detail})
    conn.execute(incidents.update().where(incidents.c.id == inc.id).values(state="planned", updated_at=now))
    return cs_id


def _event(conn: sa.Connection, incident_id: int, now: dt.datetime, name: str, detail: dict) -> None:
    conn.execute(incident_events.insert().values(incident_id=incident_id, at=now, event=name, detail=detail))


def transition(
    conn: sa.Connection,
    cs: sa.Row,
    to: str,
    now: dt.datetime,
    actor: str,
    detail: dict | None = None,
    decision: str = "done",
    action: str | None = None,
    **values: Any,
) -> bool:
    """Move `cs` (as read, at its version) to state `to`; False when someone else moved it first."""
    done = conn.execute(
        changesets.update()
        .where(changesets.c.id == cs.id, changesets.c.version == cs.version)
        .values(
            state=to,
            version=cs.version + 1,
            updated_at=now,
            claimed_by=None,
            claimed_at=None,
            open_incident=None if to in TERMINAL else cs.incident_id,
            **values,
        )
    ).rowcount
    if not done:
        return False
    body = {"changeset": cs.id, "from": cs.state, "to": to, **(detail or {})}
    audit.append(conn, actor, action or to, decision, body, changeset_id=cs.id, incident_id=cs.incident_id, now=now)
    _event(conn, cs.incident_id, now, f"changeset_{to}", body)
    inc = conn.execute(sa.select(incidents.c.open_fingerprint).where(incidents.c.id == cs.incident_id)).first()
    if inc is not None and inc.open_fingerprint is not None:  # an open incident mirrors its change-set
        mirror = "open" if to in ("failed", "rejected", "rolled_back") else to
        conn.execute(incidents.update().where(incidents.c.id == cs.incident_id).values(state=mirror, updated_at=now))
    return True


def claim(store: Store, cs_id: int, me: str, now: dt.datetime, states: tuple[str, ...] | None = None) -> sa.Row | None:
    """Take the next step of a change-set in one of `states` (default: any in flight; rollback claims a
    `checked` one): the row as claimed, or None when another driver holds it or it is in another state."""

    def work(conn: sa.Connection) -> sa.Row | None:
        cs = get(conn, cs_id)
        if cs is None or (cs.state in TERMINAL if states is None else cs.state not in states):
            return None
        free = sa.or_(changesets.c.claimed_by.is_(None), changesets.c.claimed_at < now - CLAIM_FOR)
        done = conn.execute(
            changesets.update()
            .where(changesets.c.id == cs_id, changesets.c.version == cs.version, free)
            .values(claimed_by=me, claimed_at=now, version=cs.version + 1)
        ).rowcount
        return get(conn, cs_id) if done else None

    return store.transaction(work)


def release(store: Store, cs: sa.Row, note: str | None = None, transient: bool = False) -> None:
    def work(conn: sa.Connection) -> None:
        values: dict[str, Any] = {"claimed_by": None, "claimed_at": None, "version": cs.version + 1}
        if transient:
            values["attempts"] = cs.attempts + 1
            values["error"] = note
        conn.execute(
            changesets.update().where(changesets.c.id == cs.id, changesets.c.version == cs.version).values(**values)
        )

    store.transaction(work)


# --- verification: the same checks on the staged data -------------------------------------------------------

RANK = {"pass": 0, "warn": 1, "fail": 2, "error": 3}


def verify(cfg: Config, store: Store, cs: sa.Row, target: Any, handle: dict, now: dt.datetime) -> dict[str, Any]:
    """Run the dataset's checks on the staged data and compare with production's latest results: the changed
    rows are no longer flagged by the incident's check (which passes when the change-set covers all it
    flagged), and no other check newly fails or flags a row it did not flag on production."""
    from sentinel import runner
    from sentinel.notify.problems import flagged_keys
    from sentinel.store import results

    staged_cfg, staged_ds = target.staged(cs.id, handle)
    accepted, history = runner.learnt(store, cfg.dataset(cs.dataset))
    found = runner.measure(staged_cfg, staged_ds, now, accepted, None, history)
    with store.engine.connect() as conn:
        inc = conn.execute(sa.select(incidents.c.last_run_id).where(incidents.c.id == cs.incident_id)).first()
        prod = {
            r.check_name: r
            for r in conn.execute(sa.select(results).where(results.c.run_id == (inc.last_run_id if inc else None)))
        }
        changed = {r.key for r in rows_of(conn, cs.id)}
    problems, checks = [], {}
    for r in found:
        doc = r.to_json()
        flagged = set(flagged_keys(doc))
        before = prod.get(r.check)
        before_flagged = set(flagged_keys({"evidence": before.evidence})) if before is not None else set()
        checks[r.check] = {"status": r.status, "production": before.status if before is not None else None}
        if r.status == "error":
            problems.append(f"{r.check}: could not measure the staged data ({(r.diagnosis or {}).get('message', '')})")
        elif r.check == cs.check_name:
            still = sorted(flagged & changed)
            if still:
                problems.append(
                    f"{r.check}: still flags {len(still)} changed row(s) on staging: {', '.join(still[:5])}"
                )
            checks[r.check]["remaining"] = len(flagged - changed)
        elif before is not None and (RANK[r.status] > RANK[before.status] or flagged - before_flagged):
            new = sorted(flagged - before_flagged)
            problems.append(
                f"{r.check}: newly {r.status} on staging"
                + (f" ({len(new)} new row(s): {', '.join(new[:5])})" if new else "")
            )
    mine = next((r for r in found if r.check == cs.check_name), None)
    return {
        "passed": not problems,
        "check_passes": mine is not None and mine.status == "pass",
        "problems": problems,
        "checks": checks,
        "staging": getattr(target, "staging_kind", ""),
        "note": (handle or {}).get("note"),
        "plan_hash": cs.plan_hash,
        "at": now.isoformat(),
    }


# --- the driver: one step of one change-set ------------------------------------------------------------------


def advance(cfg: Config, store: Store, cs_id: int, me: str, now: dt.datetime | None = None) -> Step | None:
    """Take the next step of change-set `cs_id` if it has one and no one else is taking it."""
    from sentinel import gateway

    now = now or _now()
    cs = claim(store, cs_id, me, now)
    if cs is None:
        return None
    if cs.state == "promoted":
        with store.engine.connect() as conn:
            pending = _pending_after(conn, cs)
        if pending:  # a kill after the promotion's record: restart downstream and drop the staging now
            try:
                target = gateway.open_for(cfg, cs)
                try:
                    _after(cfg, store, cs, target, now)
                finally:
                    target.close()
            except Exception as exc:  # retried at the next pass; the promotion stands
                log.warning("change-set %s: after its promotion: %s", cs.id, str(exc).splitlines()[0])
    if cs.state in ("awaiting_approval", "promoted"):
        release(store, cs)  # waits for a person (approve/reject) or for the next run of the dataset
        return None
    try:
        target = gateway.open_for(cfg, cs)
    except Exception as exc:  # a config change or missing credentials: the step waits
        return _failed_attempt(store, cs, me, now, f"cannot open target {cs.target}: {exc}", transient=True)
    try:
        if cs.state == "planned":
            return _stage(cfg, store, cs, target, me, now)
        if cs.state == "staged":
            return _verify(cfg, store, cs, target, me, now)
        if cs.state == "verified":
            return _after_verify(cfg, store, cs, me, now)
        if cs.state == "approved":
            return _promote(cfg, store, cs, target, me, now)
    finally:
        target.close()
    release(store, cs)
    return None


def _record(
    store: Store,
    cs: sa.Row,
    to: str,
    now: dt.datetime,
    me: str,
    detail=None,
    decision="done",
    action=None,
    then: Callable[[sa.Connection], None] | None = None,
    **values,
):
    """Record a step; `then` runs in the same transaction, so a kill never leaves the step without it."""

    def work(conn: sa.Connection) -> bool:
        fresh = get(conn, cs.id)
        if fresh is None or fresh.claimed_by != me:
            return False  # our claim was taken over: the other driver records
        if not transition(conn, fresh, to, now, me, detail, decision, action, **values):
            return False
        if then is not None:
            then(conn)
        return True

    ok = store.transaction(work)
    return Step(cs.id, cs.state, to) if ok else None


def _failed_attempt(store: Store, cs: sa.Row, me: str, now: dt.datetime, message: str, transient: bool) -> Step | None:
    if transient and cs.attempts + 1 < MAX_ATTEMPTS:
        release(store, cs, message, transient=True)
        return None
    return _record(store, cs, "failed", now, me, {"error": message}, "failed", error=message)


def _stage(cfg: Config, store: Store, cs: sa.Row, target: Any, me: str, now: dt.datetime) -> Step | None:
    from sentinel import gateway
    from sentinel.correctors.base import same

    problems = gateway.allowance_problems(cfg, cs, target)
    if problems:
        return _record(
            store, cs, "failed", now, me, {"reasons": problems}, "refused", "stage", error="; ".join(problems)
        )
    with store.engine.connect() as conn:
        cells = gateway.cells_of(conn, cs.id)
    try:
        current = target.read(sorted({c.key for c in cells}), sorted({c.field for c in cells}))
        stale = [c for c in cells if c.key not in current or not same(current[c.key].get(c.field), c.old)]
        if stale:
            keys = ", ".join(c.key for c in stale[:5])
            message = (
                f"stale: {len(stale)} row(s) changed on {cs.target} since the check saw them ({keys}); "
                "re-planned on the next run"
            )
            return _record(store, cs, "failed", now, me, {"error": message}, "conflict", "stage", error=message)
        handle = target.stage(cs.id, cells)
    except ReadBack as exc:
        return _record(store, cs, "failed", now, me, {"error": exc.message}, "failed", "stage", error=exc.message)
    except TargetError as exc:
        return _failed_attempt(store, cs, me, now, exc.message, exc.transient)
    detail = {"staging": getattr(target, "staging_kind", ""), "handle": handle, "rows": len(cells)}
    return _record(store, cs, "staged", now, me, detail, "done", "stage", staging=handle)


def _verify(cfg: Config, store: Store, cs: sa.Row, target: Any, me: str, now: dt.datetime) -> Step | None:
    try:
        found = verify(cfg, store, cs, target, cs.staging or {}, now)
    except TargetError as exc:
        return _failed_attempt(store, cs, me, now, exc.message, exc.transient)
    if not found["passed"]:
        message = "verification failed: " + "; ".join(found["problems"])
        return _record(store, cs, "failed", now, me, found, "failed", "verify", verification=found, error=message)
    return _record(store, cs, "verified", now, me, found, "done", "verify", verification=found)


def _after_verify(cfg: Config, store: Store, cs: sa.Row, me: str, now: dt.datetime) -> Step | None:
    pb = next((p for p in cfg.playbooks if p.name == cs.playbook), None)
    if pb is not None and pb.promote == "auto" and cs.promote == "auto":
        return _record(
            store,
            cs,
            "approved",
            now,
            me,
            {"by": "policy (promote: auto)"},
            "allowed",
            "approve",
            approved_by="policy",
            approved_at=now,
        )
    return _record(
        store,
        cs,
        "awaiting_approval",
        now,
        me,
        {"ask": "owner"},
        "done",
        "ask",
        then=lambda conn: ask_owner(conn, cfg, cs.id, now),
    )


def _promote(cfg: Config, store: Store, cs: sa.Row, target: Any, me: str, now: dt.datetime) -> Step | None:
    from sentinel import gateway

    reasons = gateway.may_promote(cs, cfg)
    if reasons:
        return _record(
            store, cs, "failed", now, me, {"reasons": reasons}, "refused", "promote", error="; ".join(reasons)
        )
    with store.engine.connect() as conn:
        cells = gateway.cells_of(conn, cs.id)
    try:
        done = target.promote(cs.id, cells, cs.staging or {})
    except Conflict as exc:
        message = f"conflict: {exc.message}; nothing was written; the owner is asked"
        return _record(store, cs, "failed", now, me, {"error": message}, "conflict", "promote", error=message)
    except TargetError as exc:
        return _failed_attempt(store, cs, me, now, exc.message, exc.transient)
    step = _record(
        store,
        cs,
        "promoted",
        now,
        me,
        {"result": done},
        "done",
        "promote",
        then=lambda conn: conn.execute(
            changeset_rows.update().where(changeset_rows.c.changeset_id == cs.id).values(state="promoted")
        ),
        promoted_at=now,
    )
    if step is not None:
        _after(cfg, store, cs, target, now)
    return step


def _after(cfg: Config, store: Store, cs: sa.Row, target: Any, now: dt.datetime) -> None:
    """What follows a promotion, each once it is audited: the `after_promote` restart, then dropping the
    staging. A kill before either is audited repeats it from the `promoted` state (at least once: a rerun
    argv may run twice; a webhook carries the same Idempotency-Key)."""
    with store.engine.connect() as conn:
        done = _audited(conn, cs.id)
    if "after_promote" not in done:
        after_promote(cfg, store, cs, now)
    if "discard" not in done:
        try:
            target.discard(cs.id, cs.staging or {})
            outcome, detail = "done", {}
        except Exception as exc:  # staging leftovers never undo a promotion
            from sentinel.envsubst import redact

            outcome, detail = "failed", {"error": redact(str(exc))[:500]}
        store.transaction(
            lambda conn: audit.append(conn, "gateway", "discard", outcome, detail, cs.id, cs.incident_id, now)
        )


def _audited(conn: sa.Connection, cs_id: int) -> set[str]:
    """The actions the audit log holds for a change-set."""
    return {r.action for r in conn.execute(sa.select(audit_table.c.action).where(audit_table.c.changeset_id == cs_id))}


def _pending_after(conn: sa.Connection, cs: sa.Row) -> bool:
    return "discard" not in _audited(conn, cs.id)


# --- after promotion, the owner's question, people's answers -----------------------------------------------


def after_promote(cfg: Config, store: Store, cs: sa.Row, now: dt.datetime) -> None:
    """Restart the downstream pipeline as the playbook says: an argv run without a shell, or a POST to the
    configured webhook. Audited; a failure is recorded and never undoes the promotion."""
    pb = next((p for p in cfg.playbooks if p.name == cs.playbook), None)
    hook = pb.after_promote if pb is not None else None
    if hook is None:
        return
    detail: dict[str, Any]
    try:
        if hook.rerun is not None:
            done = subprocess.run(hook.rerun, cwd=cfg.root, capture_output=True, timeout=600, check=False)  # noqa: S603
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] if done.returncode else []
            detail = {"rerun": hook.rerun, "returncode": done.returncode, "stderr": tail}
            ok = done.returncode == 0
        else:
            import requests

            body = {"changeset": cs.id, "dataset": cs.dataset, "incident": cs.incident_id, "event": "promoted"}
            reply = requests.post(
                hook.webhook, json=body, timeout=30, headers={"Idempotency-Key": f"cs-{cs.id}-promoted"}
            )
            detail, ok = {"webhook": _host(hook.webhook), "status": reply.status_code}, reply.ok
    except Exception as exc:  # an argv that does not exist, a refused connection, a timeout
        from sentinel.envsubst import redact

        detail, ok = {"error": redact(f"{type(exc).__name__}: {exc}")}, False
    store.transaction(
        lambda conn: audit.append(
            conn, "gateway", "after_promote", "done" if ok else "failed", detail, cs.id, cs.incident_id, now
        )
    )


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc  # the audit names where it went, not a token a URL may carry


def ask_owner(conn: sa.Connection, cfg: Config, cs_id: int, now: dt.datetime) -> None:
    """The yes/no question to the owner of the change-set's request: each row's old -> new and why."""
    from sentinel.notify import approval, ladder
    from sentinel.notify.outbox import recipients

    cs = get(conn, cs_id)
    req = ladder.request_of(conn, cs.incident_id) if cs is not None else None
    if cs is None or req is None:
        return
    msg = approval.render(cfg, cs, rows_of(conn, cs_id), req)
    conn.execute(changesets.update().where(changesets.c.id == cs_id).values(request_id=req.id))
    ladder.enqueue_message(
        conn, req, f"cs{cs_id}-approval", msg, recipients(cfg, req.dataset), now, "approval", {"changeset": cs_id}
    )


def approve(cfg: Config, store: Store, cs_id: int, who: str, now: dt.datetime | None = None) -> sa.Row:
    """A person's approval, bound to the plan's hash: the change-set moves to `approved` (the driver, or the
    caller, then promotes it). ValueError when it is not awaiting approval."""
    now = now or _now()

    def work(conn: sa.Connection) -> sa.Row | str:
        cs = get(conn, cs_id)
        if cs is None:
            return f"no change-set {cs_id}"
        why = None
        if cs.state not in ("awaiting_approval", "verified"):
            why = f"change-set {cs_id} is {cs.state}: only a verified change-set awaiting approval can be approved"
        elif (cs.verification or {}).get("plan_hash") != cs.plan_hash:
            why = f"change-set {cs_id} changed after its verification: it cannot be approved"
        if why is not None:  # refused, and the refusal is audited (committed): the caller raises after
            audit.append(conn, f"cli:{who}", "approve", "refused", {"reason": why}, cs.id, cs.incident_id, now)
            return why
        if not transition(
            conn, cs, "approved", now, f"cli:{who}", {"by": who}, "allowed", "approve", approved_by=who, approved_at=now
        ):
            raise ValueError(f"change-set {cs_id} changed while approving it: try again")
        return get(conn, cs_id)

    found = store.transaction(work)
    if isinstance(found, str):
        raise ValueError(found)
    return found


def reject(cfg: Config, store: Store, cs_id: int, who: str, note: str, now: dt.datetime | None = None) -> sa.Row:
    now = now or _now()

    def work(conn: sa.Connection) -> sa.Row:
        cs = get(conn, cs_id)
        if cs is None:
            raise ValueError(f"no change-set {cs_id}")
        if cs.state in TERMINAL or cs.state == "promoted":
            raise ValueError(
                f"change-set {cs_id} is {cs.state}: nothing to reject"
                + (" (use rollback)" if cs.state == "promoted" else "")
            )
        if not transition(
            conn, cs, "rejected", now, f"cli:{who}", {"by": who, "note": note}, "done", "reject", note=note
        ):
            raise ValueError(f"change-set {cs_id} changed while rejecting it: try again")
        return get(conn, cs_id)

    cs = store.transaction(work)
    _discard(cfg, store, cs, now)
    return cs


def _discard(cfg: Config, store: Store, cs: sa.Row, now: dt.datetime) -> None:
    """Drop a change-set's staging (best effort: leftovers never block anything), audited so it is done once."""
    from sentinel import gateway
    from sentinel.envsubst import redact

    try:
        target = gateway.open_for(cfg, cs)
        try:
            target.discard(cs.id, cs.staging or {})
        finally:
            target.close()
        outcome, detail = "done", {}
    except Exception as exc:
        log.warning("change-set %s: could not discard its staging: %s", cs.id, exc)
        outcome, detail = "failed", {"error": redact(str(exc))[:500]}
    store.transaction(
        lambda conn: audit.append(conn, "gateway", "discard", outcome, detail, cs.id, cs.incident_id, now)
    )


def rollback(cfg: Config, store: Store, cs_id: int, who: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """Apply the inverse of a promoted change-set with the same precondition (each cell still holds the
    promoted value; already back to the old value counts as done). Conflict leaves everything as it is."""
    from sentinel import gateway

    now = now or _now()
    me = f"cli:{who}"
    with store.engine.connect() as conn:
        cs = get(conn, cs_id)
    if cs is None:
        raise ValueError(f"no change-set {cs_id}")
    if cs.state not in ("promoted", "checked"):
        raise ValueError(f"change-set {cs_id} is {cs.state}: only a promoted change-set can be rolled back")
    held = claim(store, cs_id, me, now, ("promoted", "checked"))
    if held is None:
        raise ValueError(f"change-set {cs_id} is being worked on by another process: try again shortly")
    target = gateway.open_for(cfg, held)
    try:
        with store.engine.connect() as conn:
            cells = [c.inverse() for c in gateway.cells_of(conn, cs_id)]
        try:
            done = target.rollback(cs_id, cells, held.staging or {})
        except TargetError as exc:
            release(store, held)
            decision, message = ("conflict" if isinstance(exc, Conflict) else "failed"), exc.message
            store.transaction(
                lambda conn: audit.append(
                    conn, me, "rollback", decision, {"error": message}, cs_id, held.incident_id, now
                )
            )
            raise ValueError(f"rollback of change-set {cs_id} not applied: {exc.message}") from None
    finally:
        target.close()

    def work(conn: sa.Connection) -> None:
        fresh = get(conn, cs_id)
        transition(conn, fresh, "rolled_back", now, me, {"result": done}, "done", "rollback", rolled_back_at=now)
        conn.execute(changeset_rows.update().where(changeset_rows.c.changeset_id == cs_id).values(state="rolled_back"))

    store.transaction(work)
    return done


def _finish_afters(cfg: Config, store: Store, me: str, now: dt.datetime) -> None:
    """What a kill or a closed incident left: a change-set checked by a run before its after-promotion steps
    were audited takes them now (a `promoted` one is taken by `advance`); one rejected because its incident
    closed has its staging dropped."""
    from sentinel import gateway

    discarded = sa.select(audit_table.c.changeset_id).where(audit_table.c.action == "discard")
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(changesets.c.id, changesets.c.state).where(
                sa.or_(
                    sa.and_(changesets.c.state == "checked", changesets.c.promoted_at.is_not(None)),
                    sa.and_(changesets.c.state == "rejected", changesets.c.staging.is_not(None)),
                ),
                changesets.c.id.not_in(discarded),
            )
        ).all()
    for cs_id, state in rows:
        cs = claim(store, cs_id, me, now, (state,))
        if cs is None:
            continue
        try:
            if state == "rejected":
                _discard(cfg, store, cs, now)
            else:
                target = gateway.open_for(cfg, cs)
                try:
                    _after(cfg, store, cs, target, now)
                finally:
                    target.close()
        except Exception as exc:
            log.warning("change-set %s: after its promotion: %s", cs.id, str(exc).splitlines()[0])
        release(store, cs)


def in_flight(store: Store) -> list[int]:
    with store.engine.connect() as conn:
        return [
            r.id
            for r in conn.execute(
                sa.select(changesets.c.id).where(changesets.c.state.not_in(TERMINAL)).order_by(changesets.c.id)
            )
        ]


def drive(cfg: Config, store: Store, me: str, now: dt.datetime | None = None, only: int | None = None) -> list[Step]:
    """Move every change-set in flight (or just `only`) as far as it can go now: the daemon calls this beside
    its runs; `sentinel run` and `approve` call it for the change-sets they made or unblocked."""
    steps: list[Step] = []
    if only is None:
        _finish_afters(cfg, store, me, now or _now())
    for cs_id in [only] if only is not None else in_flight(store):
        for _ in range(8):  # planned -> staged -> verified -> awaiting/approved -> promoted at most
            step = advance(cfg, store, cs_id, me, now)
            if step is None:
                break
            steps.append(step)
    return steps


# --- inside a run's transaction ---------------------------------------------------------------------------


_INCIDENT_HEAD = [c for c in incidents.c if c.key != "last_result"]


def on_run(
    conn: sa.Connection, cfg: Config, run_id: int, changes: list[Any], results: list[Any], now: dt.datetime, actor: str
) -> list[int]:
    """Fold a run into the change-sets of its dataset: a promoted change-set whose check now passes resolves
    its incident as fixed by it (`checked`); then every incident that opened or failed again without a
    change-set in flight is planned (rules by default) and the plan goes through the gateway."""
    from sentinel.correctors import playbook_for

    by_check = {r.check: r for r in results}
    for cs in conn.execute(
        sa.select(changesets).where(
            changesets.c.state == "promoted", changesets.c.dataset == (results[0].dataset if results else None)
        )
    ).all():
        r = by_check.get(cs.check_name)
        if r is None or r.status == "error":
            continue
        if r.status == "pass":
            conn.execute(
                incidents.update()
                .where(incidents.c.id == cs.incident_id, incidents.c.state == "resolved")
                .values(resolution=f"fixed by change-set {cs.id}")
            )
            transition(conn, cs, "checked", now, actor, {"recheck": "passed"}, "done", "check", checked_at=now)
        else:
            transition(
                conn,
                cs,
                "checked",
                now,
                actor,
                {"recheck": r.status, "note": "the check still fails on rows this change-set did not cover"},
                "done",
                "check",
                checked_at=now,
            )
    for c in changes:
        if c.change == "resolved":
            close_for(conn, c.id, now, actor, "the incident resolved before this change-set was promoted")
    created = []
    for ch in changes:
        if ch.change not in ("opened", "updated", "reopened"):
            continue
        # the row without its last_result (every flagged row) first: most incidents have no stage_fix playbook
        inc = conn.execute(sa.select(*_INCIDENT_HEAD).where(incidents.c.id == ch.id)).first()
        if inc is None or inc.open_fingerprint is None:
            continue
        pb = playbook_for(cfg, inc.dataset, inc.check_name, inc.cause)
        if pb is None or pb.action != "stage_fix":
            continue  # notify_owner: the request machinery asks (sentinel/notify/ladder.py)
        if conn.execute(sa.select(changesets.c.id).where(changesets.c.open_incident == inc.id)).first() is not None:
            continue  # a change-set is in flight: not re-planned on each failing run
        if conn.execute(
            sa.select(changesets.c.id).where(
                changesets.c.incident_id == inc.id,
                changesets.c.state == "checked",
                changesets.c.checked_at >= inc.updated_at,
            )
        ).first():
            continue
        inc = conn.execute(sa.select(incidents).where(incidents.c.id == ch.id)).first()
        from sentinel import agent, gateway  # here: a run with nothing to stage does not import the planner

        situation = situation_of(conn, cfg, inc, pb)
        proposal = agent.plan(cfg.main.agent.planner, situation)
        stage = [a for a in proposal.actions if a.action == "stage_fix"]
        if stage and _rejected_before(conn, inc.id, gateway.plan_hash(stage[0].changes)):
            continue  # the same plan was rejected, rolled back or failed verification: ask, do not retry it
        created += gateway.propose(conn, cfg, proposal, now, f"planner:{proposal.planner}")
    return created


def close_for(conn: sa.Connection, incident_id: int, now: dt.datetime, actor: str, note: str) -> None:
    """An incident that closed (its check passed, or a person resolved it) ends its change-set in flight:
    nothing more is staged or promoted for it (a promoted one waits for its re-check as before)."""
    for cs in conn.execute(sa.select(changesets).where(changesets.c.open_incident == incident_id)).all():
        if cs.state != "promoted":
            transition(conn, cs, "rejected", now, actor, {"note": note}, "done", "close", note=note)


def _rejected_before(conn: sa.Connection, incident_id: int, plan_hash: str) -> bool:
    """Whether this exact plan was refused by the gateway, or rejected, rolled back or failed for a reason a
    retry would meet again (a stale row or a conflict is re-planned: the evidence has moved on)."""
    refused = conn.execute(
        sa.select(audit_table.c.detail).where(
            audit_table.c.incident_id == incident_id,
            audit_table.c.action == "plan",
            audit_table.c.decision == "refused",
        )
    ).all()
    if any((r.detail or {}).get("plan_hash") == plan_hash for r in refused):
        return True
    rows = conn.execute(
        sa.select(changesets.c.state, changesets.c.error).where(
            changesets.c.incident_id == incident_id, changesets.c.plan_hash == plan_hash
        )
    ).all()
    return any(
        r.state in ("rejected", "rolled_back")
        or (r.state == "failed" and not (r.error or "").startswith(("stale", "conflict")))
        for r in rows
    )


def situation_of(conn: sa.Connection, cfg: Config, inc: sa.Row, pb: Any) -> Any:
    """What the planner sees of an incident: itself, the open incidents of its problem, the owner notes, and
    how earlier incidents of the same check ended."""
    from sentinel import agent, gateway
    from sentinel.notify.problems import belongs_with

    def view(r: sa.Row) -> agent.Incident:
        return agent.Incident(
            r.id,
            r.dataset,
            r.check_name,
            r.kind,
            r.cause,
            dict(r.last_result or {}),
            gateway.value_column(cfg, r.dataset, r.check_name),
        )

    others = conn.execute(
        sa.select(incidents).where(
            incidents.c.dataset == inc.dataset, incidents.c.open_fingerprint.is_not(None), incidents.c.id != inc.id
        )
    ).all()
    problem = [view(o) for o in others if belongs_with(inc.last_result, o.last_result)]
    past = conn.execute(
        sa.select(incidents.c.id, incidents.c.resolution, incidents.c.resolved_at)
        .where(
            incidents.c.dataset == inc.dataset,
            incidents.c.check_name == inc.check_name,
            incidents.c.resolved_at.is_not(None),
        )
        .order_by(incidents.c.id.desc())
        .limit(5)
    ).all()
    ds = cfg.dataset(inc.dataset)
    return agent.Situation(view(inc), problem, pb, ds.context, [dict(p._mapping) for p in past])


def listing(store: Store, incident_id: int | None = None) -> list[dict[str, Any]]:
    """Every change-set (or an incident's) as `sentinel changes --json` prints it."""
    stmt = sa.select(changesets).order_by(changesets.c.id)
    if incident_id is not None:
        stmt = stmt.where(changesets.c.incident_id == incident_id)
    with store.engine.connect() as conn:
        out = []
        for cs in conn.execute(stmt).all():
            rows = rows_of(conn, cs.id)
            out.append(
                {
                    "id": cs.id,
                    "incident": cs.incident_id,
                    "dataset": cs.dataset,
                    "check": cs.check_name,
                    "playbook": cs.playbook,
                    "target": cs.target,
                    "object": cs.object,
                    "state": cs.state,
                    "rows": [
                        {
                            "key": r.key,
                            "field": r.field,
                            "old": r.old,
                            "new": r.new,
                            "provenance": r.provenance,
                            "state": r.state,
                        }
                        for r in rows
                    ],
                    "verification": cs.verification,
                    "approved_by": cs.approved_by,
                    "planned_at": utc(cs.planned_at).isoformat() if cs.planned_at else None,
                    "updated_at": utc(cs.updated_at).isoformat() if cs.updated_at else None,
                    "error": cs.error,
                    "note": cs.note,
                }
            )
    return out
