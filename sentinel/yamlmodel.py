"""Base pydantic model for everything read from YAML: frozen, and unknown keys are errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from sentinel.timespec import parse_duration


def _check_timezone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except Exception as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc
    return tz


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
Severity = Literal["warn", "error"]


class Model(BaseModel):
    # defer_build: a model's validator is built when first used (loading a config builds the ones it needs
    # once, inside its own), not for each of the ~40 models as its module is imported by every command
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class CheckParams(Model):
    """Keys every check kind accepts inside its own mapping (they may also sit next to the kind key)."""

    severity: Severity | None = None
    name: str | None = None
