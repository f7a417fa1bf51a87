"""`schema`: columns and types against the last accepted snapshot.

The first run accepts what it sees. A drift fails until it is accepted (`sentinel resolve ID` on the
incident accepts the current columns), so a revert back to the accepted schema passes again.
`columns:` pins the expected schema in YAML instead (names -> type text, or a list of names).
"""

from __future__ import annotations

from pydantic import Field

from sentinel.checks.common import Context, Plan, Spec, result
from sentinel.yamlmodel import CheckParams

CAUSES = ("drift",)  # the `cause` of each failure this kind reports (playbooks' `when.cause`)


class Params(CheckParams):
    columns: dict[str, str] | list[str] | None = None
    ignore_types: bool = Field(False, description="compare names only")


def default_name(params: Params) -> str:
    return "schema"


def plan(spec: Spec, ctx: Context) -> Plan:
    current = {name: info.type for name, info in ctx.columns.items()}
    p = spec.params
    if p.columns is not None:
        accepted = dict.fromkeys(p.columns, None) if isinstance(p.columns, list) else dict(p.columns)
        baseline = "declared in YAML"
    else:
        accepted, baseline = ctx.schema_snapshot, "last accepted snapshot"

    def finish(_values):
        if accepted is None:
            return result(
                spec, ctx, True, observed=current, expected={"baseline": "first run: accepted"}, accept_schema=current
            )
        added = [c for c in current if c not in accepted]
        removed = [c for c in accepted if c not in current]
        retyped = [
            {"column": c, "was": accepted[c], "now": current[c]}
            for c in current
            if c in accepted
            and accepted[c] is not None
            and not p.ignore_types
            and accepted[c].upper() != current[c].upper()
        ]
        ok = not (added or removed or retyped)
        evidence = {} if ok else {"added": added, "removed": removed, "retyped": retyped}
        parts = [f"added {', '.join(added)}"] if added else []
        parts += [f"removed {', '.join(removed)}"] if removed else []
        changed = [f"{r['column']} {r['was']} -> {r['now']}" for r in retyped]
        parts += [f"retyped {', '.join(changed)}"] if retyped else []
        diagnosis = (
            None if ok else {"cause": "drift", "message": "schema drift: " + "; ".join(parts) + f" (vs the {baseline})"}
        )
        return result(
            spec, ctx, ok, cause="drift", observed=current, expected=accepted, evidence=evidence, diagnosis=diagnosis
        )

    return Plan(finish)
