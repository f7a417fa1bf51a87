"""`expect_suite: path.json`: every expectation of a GX suite file, each reported as its own result.

The file is read and checked at config load (names and kwargs, with the JSON path of a bad entry); each
expectation then runs exactly like an `expect` check: native when Sentinel compiles it, GX otherwise.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import model_validator

from sentinel.checks import expect, expect_rules
from sentinel.checks.common import CannotMeasure, Plan, Spec, error
from sentinel.results import CheckResult
from sentinel.yamlmodel import CheckParams

CAUSES = ("violation",)  # the `cause` of each failure this kind reports (playbooks' `when.cause`)


class Params(CheckParams):
    path: str
    engine: Literal["auto", "native", "gx"] = "auto"

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


def default_name(params: Params) -> str:
    return Path(params.path).stem


def load_suite(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(type, kwargs) of each expectation; ValueError naming every entry that is malformed, unknown or lacks
    what it needs (the same rules as an `expect` check)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read suite {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from exc
    items = doc.get("expectations") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"{path}: a GX suite needs an `expectations` list")
    out, bad = [], []
    for i, item in enumerate(items):
        type_ = item.get("type") or item.get("expectation_type") if isinstance(item, dict) else None
        kwargs = item.get("kwargs", {}) if isinstance(item, dict) else None
        if not isinstance(type_, str) or not isinstance(kwargs, dict):
            bad.append(f"expectations[{i}]: needs `type` and `kwargs`")
            continue
        bad += [
            f"expectations[{i}]{expect_rules.dotted(loc)}: {message}"
            for loc, message in expect_rules.problems(type_, kwargs)
        ]
        out.append((type_, kwargs))
    if bad:  # every problem of the file at once, each with its JSON path
        raise ValueError(f"{path}: " + "; ".join(bad))
    return out


def plan(spec: Spec, ctx) -> list[Plan]:
    """One plan per expectation, each carrying its own spec: an expectation that cannot be planned (a missing
    column, bounds of the wrong type) is an `error` result of its own, not of the whole suite."""
    suite = load_suite(ctx.root / spec.params.path)
    plans = []
    for type_, kwargs in suite:
        sub = Spec(f"{spec.name}:{expect.expectation_name(type_, kwargs)}", "expect", spec.severity, None)
        try:
            made = expect.plan_expectation(sub, ctx, type_, kwargs, spec.params.engine)
        except CannotMeasure as exc:
            made = Plan(partial(_failed, sub, ctx.dataset_name, exc.cause, exc.message))
        made.spec = sub
        plans.append(made)
    return plans


def _failed(spec: Spec, dataset: str, cause: str, message: str, _values: dict[str, Any]) -> CheckResult:
    return error(spec, dataset, cause, message)
