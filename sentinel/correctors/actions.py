"""The typed actions a planner may propose, and the one row of a change-set.

A planner (rules by default, an LLM when configured) returns only these models: `extra="forbid"`, so a
proposal cannot smuggle a target, a credential, a URL or a recipient in an unexpected field. Everything a
proposal names is checked again by the gateway (`sentinel/gateway.py`) against the playbook and the stored
evidence before anything is written; a planner never sees a credential.

Values are exact (sentinel/checks/exact.py): decimal strings for DECIMAL columns and for every computed
candidate, JSON numbers for doubles and integers, strings for text.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Exact = str | int | float | None  # a value as evidence carries it


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PowerOfTen(Strict):
    """x / 10^k, where the detector proved the row's ratio to its reference is within noise of 10^k."""

    kind: Literal["power_of_ten"] = "power_of_ten"
    k: int
    incident_id: int  # the incident whose evidence holds the proof for this key
    check: str
    proof: str = ""


class FxRate(Strict):
    """x / rate, the rate of `currency` in config `fx_rates`, where a check proved the rows sit at it."""

    kind: Literal["fx_rate"] = "fx_rate"
    currency: str
    rate: str  # decimal string of the configured rate
    incident_id: int
    check: str
    proof: str = ""


class Snapshot(Strict):
    """The key's previous value, kept in the `history_by` snapshot of an earlier run."""

    kind: Literal["snapshot"] = "snapshot"
    taken_at: str  # ISO time of the snapshot value
    incident_id: int
    check: str
    proof: str = ""


Provenance = Annotated[PowerOfTen | FxRate | Snapshot, Field(discriminator="kind")]
PROVENANCE_KINDS = ("power_of_ten", "fx_rate", "snapshot")


class Change(Strict):
    """One cell: the row `key` (the dataset's key column; the record Id on Salesforce), its `field`, the
    value the evidence saw (`old`) and the value proposed (`new`), and where `new` comes from."""

    key: str
    field: str
    old: Exact
    new: Exact
    provenance: Provenance


class StageFix(Strict):
    """Write `changes` to the target's staging environment (never production) for one incident."""

    action: Literal["stage_fix"] = "stage_fix"
    incident_id: int
    playbook: str
    changes: Annotated[list[Change], Field(min_length=1)]


class NotifyOwner(Strict):
    """Ask the dataset's owner (the request machinery, sentinel/notify/ladder.py). `reason` is planner text
    for the audit log; recipients come from config, never from the plan."""

    action: Literal["notify_owner"] = "notify_owner"
    incident_id: int
    reason: str = ""


class Wait(Strict):
    """Do nothing now: the source could not be measured; the next scheduled run re-checks."""

    action: Literal["wait"] = "wait"
    incident_id: int
    reason: str = ""


Action = Annotated[StageFix | NotifyOwner | Wait, Field(discriminator="action")]


class Plan(Strict):
    """A planner's whole answer for one incident."""

    planner: str
    actions: list[Action]


def provenance_of(doc: dict[str, Any]) -> PowerOfTen | FxRate | Snapshot:
    """A stored provenance (JSON) as its model; ValueError (pydantic's) when it is not one."""
    from pydantic import TypeAdapter

    return TypeAdapter(Provenance).validate_python(doc)
