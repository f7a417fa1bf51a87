"""One open incident per problem (DESIGN §6): open, update on repeat, resolve on pass, reopen on relapse.

Fingerprint = dataset + check + cause class. Row-level checks record the flagged keys on the incident
(`last_result.evidence`) rather than in the fingerprint, so a growing set of bad rows updates one incident
instead of opening one per run. An `error` result (could not measure) neither opens nor resolves anything:
nobody knows whether the data is fine. A dataset whose every check has been `error` for a while gets one
"could not measure" incident of its own (`unmeasurable`). A relapse within `REOPEN_WITHIN` of the
resolution reopens the same incident (a flapping check is one story, not many); later ones open a new
incident that points to the old.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sentinel.results import CheckResult
from sentinel.store import incident_events, incidents, results, runs, utc, writes_text

REOPEN_WITHIN = dt.timedelta(hours=24)
# what folding a run in reads of an incident: every column but `last_result`, which can hold every flagged row
_HEAD = [c for c in incidents.c if c.key != "last_result"]


@dataclass
class Change:
    id: int
    key: str
    dataset: str
    check: str
    state: str
    change: str  # opened | updated | resolved | reopened
    severity: str
    summary: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "dataset": self.dataset,
            "check": self.check,
            "state": self.state,
            "change": self.change,
        }


def incident_key(dataset: str, check: str, cause: str) -> str:
    return f"{dataset}/{check}/{cause}"


def fingerprint(dataset: str, check: str, cause: str) -> str:
    return hashlib.sha256(incident_key(dataset, check, cause).encode()).hexdigest()[:32]


def _summary(r: CheckResult) -> str:
    if r.diagnosis and r.diagnosis.get("message"):
        return str(r.diagnosis["message"])
    return f"{r.check} {r.status}"


def _event(conn: sa.Connection, incident_id: int, now: dt.datetime, name: str, run_id: int | None, detail: Any) -> None:
    conn.execute(
        incident_events.insert(),
        {"incident_id": incident_id, "at": now, "event": name, "run_id": run_id, "detail": detail},
    )


def _open_incidents(conn: sa.Connection, found: list[CheckResult]) -> dict[tuple[str, str], list[sa.Row]]:
    """The open incidents of each (dataset, check) of `found`, oldest first, in one SELECT."""
    pairs = {(r.dataset, r.check) for r in found}
    if not pairs:
        return {}
    rows = conn.execute(
        sa.select(*_HEAD)
        .where(
            incidents.c.dataset.in_(sorted({d for d, _ in pairs})),
            incidents.c.check_name.in_(sorted({c for _, c in pairs})),
            incidents.c.open_fingerprint.is_not(None),
        )
        .order_by(incidents.c.id)
    ).all()
    out: dict[tuple[str, str], list[sa.Row]] = {pair: [] for pair in pairs}
    for row in rows:
        if (row.dataset, row.check_name) in out:
            out[(row.dataset, row.check_name)].append(row)
    return out


def apply(conn: sa.Connection, run_id: int, results: list[CheckResult], now: dt.datetime) -> list[Change]:
    """Fold one run's results into the incident table, inside the caller's transaction."""
    changes: list[Change] = []
    measured = [r for r in results if r.status != "error"]
    text = writes_text(conn)
    prefetched = _open_incidents(conn, measured)
    for r in measured:
        # each check's open incidents as read in one SELECT for the run; a check named twice in one list is
        # read again, after what folding its first result changed
        open_rows = prefetched.pop((r.dataset, r.check), None)
        if open_rows is None:
            open_rows = _open_incidents(conn, [r])[(r.dataset, r.check)]
        if r.status == "pass":
            for inc in open_rows:
                changes.append(_close(conn, inc, run_id, now, "check passed", "resolved"))
            continue
        cause = r.cause or "failed"
        fp = fingerprint(r.dataset, r.check, cause)
        snapshot = {"status": r.status, **r.to_json()}
        if text:  # the evidence as encoded for the run's results row
            snapshot["evidence"] = r.evidence_json()
        current = next((i for i in open_rows if i.fingerprint == fp), None)
        for inc in open_rows:
            if inc is not current:  # same check, different cause: that story ended, this one begins
                changes.append(_close(conn, inc, run_id, now, f"superseded: now {cause}", "resolved"))
        if current is not None:
            conn.execute(
                incidents.update()
                .where(incidents.c.id == current.id)
                .values(
                    occurrences=incidents.c.occurrences + 1,
                    updated_at=now,
                    last_run_id=run_id,
                    last_result=snapshot,
                    summary=_summary(r),
                    severity=r.severity,
                )
            )
            _event(conn, current.id, now, "updated", run_id, {"summary": _summary(r)})
            changes.append(
                Change(current.id, current.key, r.dataset, r.check, current.state, "updated", r.severity, _summary(r))
            )
            continue
        last = conn.execute(
            sa.select(*_HEAD).where(incidents.c.fingerprint == fp).order_by(incidents.c.id.desc()).limit(1)
        ).first()
        if last is not None and last.resolved_at is not None and now - utc(last.resolved_at) <= REOPEN_WITHIN:
            conn.execute(
                incidents.update()
                .where(incidents.c.id == last.id)
                .values(
                    open_fingerprint=fp,
                    state="open",
                    resolved_at=None,
                    resolution=None,
                    updated_at=now,
                    occurrences=incidents.c.occurrences + 1,
                    last_run_id=run_id,
                    last_result=snapshot,
                    summary=_summary(r),
                    severity=r.severity,
                )
            )
            _event(conn, last.id, now, "reopened", run_id, {"summary": _summary(r)})
            changes.append(Change(last.id, last.key, r.dataset, r.check, "open", "reopened", r.severity, _summary(r)))
            continue
        key = incident_key(r.dataset, r.check, cause)
        new_id = conn.execute(
            incidents.insert()
            .values(
                key=key,
                fingerprint=fp,
                open_fingerprint=fp,
                dataset=r.dataset,
                check_name=r.check,
                kind=r.kind,
                cause=cause,
                severity=r.severity,
                state="open",
                opened_at=now,
                updated_at=now,
                occurrences=1,
                last_run_id=run_id,
                summary=_summary(r),
                last_result=snapshot,
                previous_id=last.id if last is not None else None,
            )
            .returning(incidents.c.id)
        ).scalar_one()
        _event(conn, new_id, now, "opened", run_id, {"summary": _summary(r)})
        changes.append(Change(new_id, key, r.dataset, r.check, "open", "opened", r.severity, _summary(r)))
    return changes


SOURCE_CHECK = "(source)"  # the pseudo-check of "could not measure" incidents: one per dataset


def unmeasurable(
    conn: sa.Connection, run_id: int, dataset: str, found: list[CheckResult], now: dt.datetime, after: dt.timedelta
) -> list[Change]:
    """One "could not measure" incident per dataset once every check has been `error` for `after` (a source
    down for a minute is retried, not reported; one down for an hour is a story); resolved when any check
    measures again. Runs are read from the store, so the window survives restarts and spans replicas."""
    if not found:
        return []
    if any(r.status != "error" for r in found):
        return apply(conn, run_id, [CheckResult(dataset, SOURCE_CHECK, "source", "pass", "error")], now)
    last_ok = conn.execute(
        sa.select(sa.func.max(runs.c.started_at))
        .select_from(runs.join(results, results.c.run_id == runs.c.id))
        .where(runs.c.dataset == dataset, results.c.status != "error")
    ).scalar()
    since = sa.select(sa.func.min(runs.c.started_at)).where(runs.c.dataset == dataset)
    if last_ok is not None:
        since = since.where(runs.c.started_at > last_ok)
    first_error = utc(conn.execute(since).scalar()) or now
    if now - first_error < after:
        return []
    causes = sorted({(r.diagnosis or {}).get("message", r.cause or "error") for r in found})
    message = f"could not measure {dataset} since {first_error:%Y-%m-%d %H:%M:%S} UTC: " + "; ".join(causes[:3])
    down = CheckResult(
        dataset,
        SOURCE_CHECK,
        "source",
        "fail",
        "error",
        observed={"since": first_error, "checks": len(found)},
        diagnosis={"cause": "unmeasurable", "message": message},
        cause="unmeasurable",
    )
    return apply(conn, run_id, [down], now)


def _close(conn: sa.Connection, inc: sa.Row, run_id: int | None, now: dt.datetime, why: str, state: str) -> Change:
    conn.execute(
        incidents.update()
        .where(incidents.c.id == inc.id)
        .values(
            open_fingerprint=None,
            state=state,
            resolved_at=now,
            updated_at=now,
            resolution=why,
            last_run_id=run_id if run_id is not None else inc.last_run_id,
        )
    )
    _event(conn, inc.id, now, state, run_id, {"resolution": why})
    return Change(inc.id, inc.key, inc.dataset, inc.check_name, state, state, inc.severity, why)


def resolve_manually(conn: sa.Connection, incident_id: int, note: str, now: dt.datetime) -> Change | None:
    inc = conn.execute(sa.select(*_HEAD).where(incidents.c.id == incident_id)).first()
    if inc is None or inc.open_fingerprint is None:
        return None
    return _close(conn, inc, None, now, f"resolved by hand: {note}", "resolved")
