"""`expect_suite: path.json`: every expectation of a GX suite file, each reported as its own result.

The file is read and checked at config load (names and kwargs, with the JSON path of a bad entry); each
expectation then runs exactly like an `expect` check: native when Sentinel compiles it, GX otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import model_validator

from sentinel.checks import expect
from sentinel.checks.common import Plan, Spec
from sentinel.yamlmodel import CheckParams


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
    """(type, kwargs) of each expectation; ValueError naming the entry when one is malformed or unknown."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read suite {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: malformed JSON: {exc.msg}") from exc
    items = doc.get("expectations") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"{path}: a GX suite needs an `expectations` list")
    out = []
    for i, item in enumerate(items):
        type_ = item.get("type") or item.get("expectation_type") if isinstance(item, dict) else None
        kwargs = item.get("kwargs", {}) if isinstance(item, dict) else None
        if not isinstance(type_, str) or not isinstance(kwargs, dict):
            raise ValueError(f"{path}: expectations[{i}]: needs `type` and `kwargs`")
        problem = expect.validate_expectation(type_, kwargs)
        if problem:
            raise ValueError(f"{path}: expectations[{i}]: {problem}")
        out.append((type_, kwargs))
    return out


def plan(spec: Spec, ctx) -> list[Plan]:
    suite = load_suite(ctx.root / spec.params.path)
    plans = []
    for type_, kwargs in suite:
        sub = Spec(f"{spec.name}:{expect.expectation_name(type_, kwargs)}", "expect", spec.severity, None)
        plans.append(expect.plan_expectation(sub, ctx, type_, kwargs, spec.params.engine))
    return plans
