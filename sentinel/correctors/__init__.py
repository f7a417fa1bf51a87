"""Correctors: what Sentinel may do about an incident, decided by the `correctors/*.yaml` playbooks, and the
targets a `stage_fix` writes through (one module per source type, registered in `TARGETS`).

Nothing is ever written without a playbook that allows it: `playbook_for` is the one place an incident is
matched to a playbook, and no match means the default, `notify_owner` (ask the dataset's owner). Only the
gateway (sentinel/gateway.py) opens a target.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from sentinel.config import Config, Playbook, playbook_checks

if TYPE_CHECKING:
    from sentinel.correctors.base import Target, Where

# source `type:` -> the module whose `open(where) -> Target` writes it
TARGETS = {
    "sql": "sentinel.correctors.sql",
    "iceberg": "sentinel.correctors.iceberg",
    "gsheets": "sentinel.correctors.gsheets",
    "salesforce": "sentinel.correctors.salesforce",
}


def playbook_for(cfg: Config, dataset: str, check: str, cause: str | None) -> Playbook | None:
    """The playbook handling an incident of `check` (its name) on `dataset` with `cause`, or None for
    `notify_owner`. Validation lets two playbooks match one incident only with distinct `priority:`, so the
    highest priority is the one; a playbook without `when.check`/`when.cause` matches every check/cause."""
    try:
        ds = cfg.dataset(dataset)
    except KeyError:
        return None
    found = [
        pb
        for pb in cfg.playbooks
        if pb.when.dataset == dataset and check in playbook_checks(ds, pb.when.check) and pb.when.cause in (None, cause)
    ]
    return max(found, key=lambda pb: pb.priority or 0, default=None)


def open_target(where: Where) -> Target:
    """The target for `where.source`'s type. Called by the gateway only."""
    kind = where.cfg.main.sources[where.source].type
    if kind not in TARGETS:
        raise ValueError(f"source {where.source!r} ({kind}) cannot be written")
    return importlib.import_module(TARGETS[kind]).open(where)
