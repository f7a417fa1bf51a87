"""Base pydantic model for everything read from YAML: frozen, and unknown keys are errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from sentinel.timespec import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Severity = Literal["warn", "error"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CheckParams(Model):
    """Keys every check kind accepts inside its own mapping (they may also sit next to the kind key)."""

    severity: Severity | None = None
    name: str | None = None
