"""The rules planner (the default; no API key): write only what the evidence proves, ask for the rest.

- a row whose ratio to its reference the detector proved to be within noise of 10^k: x / 10^k (magnitude's
  `diagnosis`, provenance power_of_ten);
- a row `history_by` flagged: the key's previous value from the snapshot (provenance snapshot);
- a row in a currency mode at a config `fx_rates` rate: x / rate (provenance fx_rate), only when the playbook
  lists `fx_rate` in `allow.provenance`;
- a key with two different proven values, or none: not written; the owner is asked;
- empty, stale, dropped or drifted data (no row evidence): ask the owner, never insert or invent rows;
- could not measure: wait for the next run.

Candidates for a key may come from any incident of the same problem (the demo's yen rows are flagged by
magnitude, whose peers say "150x", and proved JPY by subschema): the provenance names the incident whose
evidence holds the proof, and the gateway checks it there.
"""

from __future__ import annotations

from typing import Any

from sentinel.agent import Incident, Situation
from sentinel.correctors.actions import Change, FxRate, NotifyOwner, Plan, PowerOfTen, Snapshot, StageFix, Wait
from sentinel.notify.problems import flagged_keys, row_items

NAME = "rules"


def candidates(inc: Incident) -> dict[str, tuple[Any, Any, Any]]:
    """key -> (old, new, provenance) for each row of `inc` whose evidence proves a value."""
    found: dict[str, tuple[Any, Any, Any]] = {}
    if inc.column is None:
        return found
    for item in row_items(inc.last_result):
        key, old = str(item["key"]), item.get("value")
        baseline = item.get("baseline") if isinstance(item.get("baseline"), dict) else {}
        diagnosis = item.get("diagnosis") if isinstance(item.get("diagnosis"), dict) else {}
        proof = item.get("provenance") or diagnosis.get("provenance") or {}
        if str(baseline.get("kind", "")).startswith("previous value of the same") and item.get("reference") is not None:
            found[key] = (old, item["reference"], Snapshot(taken_at="", incident_id=inc.id, check=inc.check))
        elif diagnosis.get("candidate") is not None and diagnosis.get("k") is not None:
            prov = PowerOfTen(
                k=int(diagnosis["k"]), incident_id=inc.id, check=inc.check, proof=str(proof.get("proof", ""))
            )
            found[key] = (old, diagnosis["candidate"], prov)
        elif item.get("candidate") is not None and proof.get("kind") == "fx_rate":
            prov = FxRate(
                currency=str(proof["currency"]),
                rate=str(proof["rate"]),
                incident_id=inc.id,
                check=inc.check,
                proof=str(proof.get("proof", "")),
            )
            found[key] = (old, item["candidate"], prov)
    return found


def plan(s: Situation) -> Plan:
    inc, pb = s.incident, s.playbook
    if inc.cause == "unmeasurable" or inc.last_result.get("status") == "error":
        return Plan(planner=NAME, actions=[Wait(incident_id=inc.id, reason="could not measure: re-check next run")])
    if pb is None or pb.action != "stage_fix" or pb.allow is None:
        why = "no playbook allows a write" if pb is None else f"playbook {pb.name} says {pb.action}"
        return Plan(planner=NAME, actions=[NotifyOwner(incident_id=inc.id, reason=why)])
    keys = flagged_keys(inc.last_result)
    if not keys:
        return Plan(planner=NAME, actions=[NotifyOwner(incident_id=inc.id, reason="no rows to correct: ask the owner")])
    allowed = set(pb.allow.provenance)
    proposals: dict[str, list[tuple[Any, Any, Any, str]]] = {}
    for other in [inc, *[p for p in s.problem if p.id != inc.id]]:
        for key, (old, new, prov) in candidates(other).items():
            if key in keys and prov.kind in allowed:
                proposals.setdefault(key, []).append((old, new, prov, other.column))
    changes, ambiguous = [], []
    for key in sorted(proposals):
        found = proposals[key]
        values = {str(new) for _, new, _, _ in found}
        if len(values) > 1 or any(col != inc.column for *_, col in found):
            ambiguous.append(key)
            continue
        old, new, prov, _ = found[0]
        changes.append(Change(key=key, field=str(inc.column), old=old, new=new, provenance=prov))
    order = {"power_of_ten": 0, "snapshot": 1, "fx_rate": 2}  # the owner reads the single-row fixes first
    changes.sort(key=lambda c: (order[c.provenance.kind], c.key))
    actions: list[Any] = []
    if changes:
        actions.append(StageFix(incident_id=inc.id, playbook=pb.name, changes=changes))
    rest = len(keys) - len(changes)
    if rest:
        why = f"{rest} flagged row(s) have no single proven value" + (
            f" ({len(ambiguous)} with two)" if ambiguous else ""
        )
        actions.append(NotifyOwner(incident_id=inc.id, reason=why))
    return Plan(planner=NAME, actions=actions)
