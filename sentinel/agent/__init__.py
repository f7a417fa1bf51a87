"""Planners: given an incident and what is known about it, propose typed actions (sentinel/correctors/actions.py).

A planner proposes; it never writes, holds no credential and names no target, recipient or URL: the gateway
(sentinel/gateway.py) checks every proposal against the playbook and the stored evidence, and the targets and
recipients come from config. `rules` (sentinel/agent/rules.py) is the default and needs no API key. A new
planner is one module with `plan(situation) -> Plan`, registered in `PLANNERS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentinel.config import Playbook
    from sentinel.correctors.actions import Plan

PLANNERS = {"rules": "sentinel.agent.rules"}


@dataclass(frozen=True)
class Incident:
    id: int
    dataset: str
    check: str
    kind: str
    cause: str
    last_result: dict[str, Any]
    column: str | None = None  # the column the check judges (magnitude `column`, subschema `value_column`)


@dataclass(frozen=True)
class Situation:
    """What a planner sees: the incident, the other open incidents of its problem (same dataset, overlapping
    flagged keys), the playbook that matched (None: notify_owner), the dataset's owner notes, and how earlier
    incidents of the same check ended (memory)."""

    incident: Incident
    problem: list[Incident] = field(default_factory=list)
    playbook: Playbook | None = None
    context: str | None = None
    past: list[dict[str, Any]] = field(default_factory=list)


def plan(name: str, situation: Situation) -> Plan:
    if name not in PLANNERS:
        raise ValueError(f"unknown planner {name!r} (known: {', '.join(PLANNERS)})")
    return importlib.import_module(PLANNERS[name]).plan(situation)
