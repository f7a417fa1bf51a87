"""`not_empty`: the table has at least `min_rows` rows. Zero rows always fails, with no history needed."""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import Field

from sentinel.checks.common import Context, Plan, Spec, result
from sentinel.yamlmodel import CheckParams

CAUSES = ("empty", "too_few_rows")  # the `cause` of each failure this kind reports (playbooks' `when.cause`)


class Params(CheckParams):
    min_rows: int = Field(1, gt=0)


def default_name(params: Params) -> str:
    return "not_empty"


def plan(spec: Spec, ctx: Context) -> Plan:
    def finish(values):
        n = int(values["rows"] or 0)
        ok = n >= spec.params.min_rows
        cause = "empty" if n == 0 else "too_few_rows"
        diagnosis = (
            None
            if ok
            else {
                "cause": cause,
                "message": f"{ctx.dataset_name} has {n} rows"
                + ("" if n == 0 else f", fewer than {spec.params.min_rows}"),
            }
        )
        return result(
            spec,
            ctx,
            ok,
            cause=cause,
            observed=n,
            expected={"min_rows": spec.params.min_rows},
            diagnosis=diagnosis,
            metrics={"row_count": n},
        )

    return Plan(finish, {"rows": sa.func.count()})
