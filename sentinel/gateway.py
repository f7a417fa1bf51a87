"""The policy gateway: the only code that opens a correction target (and so holds write credentials) or
calls a write API. A planner's proposal reaches a target only through here.

Every decision, allowed or refused, is appended to the hash-chained audit log (sentinel/audit.py) in the
same transaction as its effect. The policy, in plain code:

- the action is a valid typed action (extra fields, missing provenance: refused);
- the playbook it names is the one `playbook_for` picks for that incident (a playbook of another dataset or
  check is refused), it is a `stage_fix` with an allowance, and the incident is open with no change-set in
  flight;
- every field is in `allow.fields`, the distinct rows are at most `allow.max_rows`, every provenance kind is
  in `allow.provenance`;
- every new value matches its provenance, recomputed here: x / 10^k from the value the cited incident's
  evidence holds for that key with that k; x / rate at the config `fx_rates` rate the evidence names; the
  `history_by` snapshot value still stored for the key. A value it cannot recompute is refused;
- staging before production: `promote` only from `verified`, with an approval bound to the plan's hash (or
  the playbook's `promote: auto`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from sentinel import audit
from sentinel.checks.exact import converted, rate_text, shifted
from sentinel.config import Config, Playbook, check_name, check_params
from sentinel.correctors import open_target, playbook_for
from sentinel.correctors.actions import Change, FxRate, Plan, PowerOfTen, Snapshot, StageFix
from sentinel.correctors.base import Cell, Target, Where, same
from sentinel.notify.problems import row_items
from sentinel.store import changeset_rows, changesets, incidents, key_hash, value_snapshots


def plan_hash(changes: list[Change]) -> str:
    body = json.dumps([c.model_dump(mode="json") for c in changes], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _incident(conn: sa.Connection, incident_id: int) -> sa.Row | None:
    return conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).first()


def _evidence_item(conn: sa.Connection, incident_id: int, dataset: str, key: str) -> tuple[Any, dict] | None:
    """The cited incident (open, same dataset) and its evidence item for `key`."""
    inc = _incident(conn, incident_id)
    if inc is None or inc.dataset != dataset or inc.open_fingerprint is None:
        return None
    for item in row_items(inc.last_result):
        if str(item["key"]) == key:
            return inc, dict(item)
    return None


def recompute(conn: sa.Connection, cfg: Config, dataset: str, change: Change) -> str | None:
    """Why `change.new` does not follow from its provenance (None: it does). Recomputed from the store and
    config, never from the planner's own numbers."""
    prov = change.provenance
    found = _evidence_item(conn, prov.incident_id, dataset, change.key)
    if found is None:
        return f"{change.key}: incident {prov.incident_id} is not an open incident of {dataset} listing this row"
    inc, item = found
    if inc.check_name != prov.check:
        return f"{change.key}: incident {prov.incident_id} is of check {inc.check_name!r}, not {prov.check!r}"
    if not same(item.get("value"), change.old):
        return f"{change.key}: old value {change.old!r} is not the value {item.get('value')!r} the evidence saw"
    if isinstance(prov, PowerOfTen):
        diagnosis = item.get("diagnosis") or {}
        if diagnosis.get("k") != prov.k:
            return f"{change.key}: the evidence proves no factor 10^{prov.k} for this row"
        expected = shifted(change.old, prov.k)
    elif isinstance(prov, FxRate):
        rate = cfg.main.fx_rates.get(prov.currency)
        proof = item.get("provenance") or {}
        if rate is None or rate_text(rate) != prov.rate:
            return f"{change.key}: {prov.currency} at {prov.rate} is not a rate in config fx_rates"
        if proof.get("kind") != "fx_rate" or proof.get("currency") != prov.currency:
            return f"{change.key}: the evidence does not prove this row is in {prov.currency}"
        expected, _exact = converted(change.old, rate_text(rate))
    elif isinstance(prov, Snapshot):
        stored = conn.execute(
            sa.select(value_snapshots.c.value).where(
                value_snapshots.c.dataset == dataset,
                value_snapshots.c.check_name == prov.check,
                value_snapshots.c.key_hash == key_hash(change.key),
            )
        ).first()
        if stored is None:
            return f"{change.key}: no history_by snapshot value is stored for this key"
        expected = stored.value
    else:  # pragma: no cover - the union is closed
        return f"{change.key}: unknown provenance"
    if not same(expected, change.new):
        return f"{change.key}: new value {change.new!r} does not match its provenance (recomputed {expected!r})"
    return None


def _policy(conn: sa.Connection, cfg: Config, action: StageFix) -> tuple[list[str], Any, Playbook | None]:
    inc = _incident(conn, action.incident_id)
    if inc is None:
        return [f"incident {action.incident_id} does not exist"], None, None
    reasons: list[str] = []
    pb = playbook_for(cfg, inc.dataset, inc.check_name, inc.cause)
    if pb is None or pb.name != action.playbook:
        reasons.append(f"playbook {action.playbook!r} does not handle incident {inc.id} ({inc.key})")
        return reasons, inc, None
    if pb.action != "stage_fix" or pb.allow is None or pb.target is None:
        return [f"playbook {pb.name!r} allows no write (action {pb.action})"], inc, pb
    if inc.open_fingerprint is None:
        reasons.append(f"incident {inc.id} is not open")
    busy = conn.execute(sa.select(changesets.c.id).where(changesets.c.open_incident == inc.id)).first()
    if busy is not None:
        reasons.append(f"incident {inc.id} already has change-set {busy.id} in flight")
    fold = cfg.main.sources[pb.target].type == "salesforce"
    allowed = {f.lower() if fold else f for f in pb.allow.fields}
    for c in action.changes:
        if (c.field.lower() if fold else c.field) not in allowed:
            reasons.append(f"{c.key}: field {c.field!r} is not in the playbook's allow.fields {pb.allow.fields}")
        if c.provenance.kind not in pb.allow.provenance:
            reasons.append(f"{c.key}: provenance {c.provenance.kind} is not in allow.provenance {pb.allow.provenance}")
    keys = {c.key for c in action.changes}
    if len(keys) > pb.allow.max_rows:
        reasons.append(f"{len(keys)} rows exceed the playbook's max_rows {pb.allow.max_rows}")
    reasons += [
        f"{c.key}: new value {c.new!r} is the value it has: nothing to change"
        for c in action.changes
        if same(c.old, c.new)
    ]
    if len({(c.key, c.field) for c in action.changes}) != len(action.changes):
        reasons.append("a cell appears twice in the change-set")
    if not reasons:
        reasons += [why for c in action.changes if (why := recompute(conn, cfg, inc.dataset, c)) is not None]
    return reasons, inc, pb


def propose(conn: sa.Connection, cfg: Config, plan: Plan | dict, now: dt.datetime, actor: str) -> list[int]:
    """Check a planner's plan and record each allowed `stage_fix` as a `planned` change-set (ids returned);
    every decision is audited. Runs in the caller's transaction."""
    from sentinel import changesets as cs_log

    try:
        plan = plan if isinstance(plan, Plan) else Plan.model_validate(plan)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:10]]
        audit.append(conn, actor, "plan", "refused", {"reasons": ["not a valid plan", *problems]}, now=now)
        return []
    created = []
    for action in plan.actions:
        if not isinstance(action, StageFix):
            audit.append(
                conn,
                actor,
                action.action,
                "allowed",
                {"reason": action.reason},
                incident_id=action.incident_id,
                now=now,
            )
            continue
        reasons, inc, pb = _policy(conn, cfg, action)
        detail = {
            "playbook": action.playbook,
            "rows": len(action.changes),
            "planner": plan.planner,
            "plan_hash": plan_hash(action.changes),
        }
        if reasons:
            audit.append(
                conn, actor, "plan", "refused", {**detail, "reasons": reasons}, incident_id=action.incident_id, now=now
            )
            continue
        assert inc is not None and pb is not None
        created.append(cs_log.create(conn, cfg, inc, pb, action, plan.planner, plan_hash(action.changes), now, actor))
    return created


# --- steps on a target: called by sentinel/changesets.py's driver, each audited ---------------------------


def _where(cfg: Config, cs: Any) -> Where:
    return Where(cfg, cs.target, cfg.dataset(cs.dataset), cs.object, cs.key_column)


def cells_of(conn: sa.Connection, cs_id: int) -> list[Cell]:
    rows = conn.execute(
        sa.select(changeset_rows).where(changeset_rows.c.changeset_id == cs_id).order_by(changeset_rows.c.seq)
    ).all()
    return [Cell(r.key, r.field, r.old, r.new) for r in rows]


def open_for(cfg: Config, cs: Any) -> Target:
    return open_target(_where(cfg, cs))


def allowance_problems(cfg: Config, cs: Any, target: Target) -> list[str]:
    from sentinel.config import check_allowance

    pb = next((p for p in cfg.playbooks if p.name == cs.playbook), None)
    if pb is None:
        return [f"playbook {cs.playbook!r} is no longer in the config"]
    return check_allowance(cfg, pb, target.fields())


def may_promote(cs: Any, cfg: Config) -> list[str]:
    """Why a change-set may not reach production now (empty: it may)."""
    reasons = []
    if cs.state not in ("verified", "approved", "awaiting_approval"):
        reasons.append(f"change-set {cs.id} is {cs.state}: production only from a verified change-set")
    if (cs.verification or {}).get("passed") is not True:
        reasons.append(f"change-set {cs.id} has not passed verification on {cs.target}'s staging")
    pb = next((p for p in cfg.playbooks if p.name == cs.playbook), None)
    if pb is None:
        reasons.append(f"playbook {cs.playbook!r} is no longer in the config")
    auto = pb is not None and pb.promote == "auto" and cs.promote == "auto"
    if not auto and (cs.approved_at is None or (cs.verification or {}).get("plan_hash") != cs.plan_hash):
        reasons.append(f"change-set {cs.id} needs an approval (`sentinel approve {cs.id}`)")
    return reasons


def value_column(cfg: Config, dataset: str, check: str) -> str | None:
    """The column a check judges: magnitude's `column`, subschema's `value_column`; None for others."""
    try:
        ds = cfg.dataset(dataset)
    except KeyError:
        return None
    for entry in ds.checks:
        if check_name(entry) == check:
            params = check_params(entry)
            return getattr(params, "column", None) or getattr(params, "value_column", None)
    return None
