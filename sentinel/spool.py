"""Runs the state store could not take, kept as JSON files under `.sentinel/spool/` until it can.

A spool file is data, never code: it is JSON validated by a pydantic model on read (the spool used to be
pickles, and unpickling a crafted file runs it). A file that cannot be read or does not validate, and any
`.pickle` left by an older version, is moved to `spool/bad/` by the daemon with a log line; it never stops the
daemon from starting.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from sentinel.results import CheckResult, SnapshotUpdate, jsonable
from sentinel.runner import RunReport
from sentinel.store import utc

SUFFIX = ".json"
MAX_BYTES = 256 * 1024 * 1024  # a larger file is not a run this daemon wrote


class SpoolError(Exception):
    pass


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpooledSnapshot(_Model):
    buckets: int
    digests: dict[int, str | None]
    values: list[tuple[str, int, float]]
    reset: bool = False


class SpooledResult(_Model):
    dataset: str
    check: str
    kind: str
    status: Literal["pass", "warn", "fail", "error"]
    severity: str
    observed: Any = None
    expected: Any = None
    evidence: dict[str, Any] = {}
    diagnosis: dict[str, Any] | None = None
    cause: str | None = None
    metrics: dict[str, float] = {}
    accept_schema: dict[str, str] | None = None
    snapshot: SpooledSnapshot | None = None


class SpooledRun(_Model):
    version: Literal[1] = 1
    tick: dt.datetime
    run_uid: str
    dataset: str
    started_at: dt.datetime
    finished_at: dt.datetime
    results: list[SpooledResult]
    recipients: list[str] = []


def _number(v: float) -> float | str:
    return v if math.isfinite(v) else str(v)  # JSON has no NaN or infinity; pydantic reads "nan"/"inf" back


def dump(report: RunReport, tick: dt.datetime) -> str:
    """The run as one JSON document. Result documents are what the store keeps anyway (results.jsonable)."""
    results = []
    for r in report.results:
        doc = r.to_json()
        snap = r.snapshot
        results.append(
            {
                **doc,
                "cause": r.cause,
                "metrics": {k: _number(float(v)) for k, v in r.metrics.items()},
                "accept_schema": jsonable(r.accept_schema),
                "snapshot": None
                if snap is None
                else {
                    "buckets": snap.buckets,
                    "digests": {str(k): v for k, v in snap.digests.items()},
                    "values": [[str(k), int(b), _number(float(v))] for k, b, v in snap.values],
                    "reset": snap.reset,
                },
            }
        )
    run = {
        "version": 1,
        "tick": tick.isoformat(),
        "run_uid": report.run_uid,
        "dataset": report.dataset,
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat(),
        "results": results,
        "recipients": list(report.recipients),
    }
    return json.dumps(run, allow_nan=False)


def load(path: Path) -> tuple[RunReport, dt.datetime]:
    """The run in a spool file; SpoolError if it is not one (unreadable, not JSON, not the model)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SpoolError(f"larger than {MAX_BYTES} bytes")
        run = SpooledRun.model_validate_json(path.read_bytes())
    except SpoolError:
        raise
    except Exception as exc:  # OSError, pydantic's ValidationError (also for invalid JSON)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise SpoolError(f"{type(exc).__name__}: {first}") from None
    results = [
        CheckResult(
            r.dataset,
            r.check,
            r.kind,
            r.status,
            r.severity,
            observed=r.observed,
            expected=r.expected,
            evidence=r.evidence,
            diagnosis=r.diagnosis,
            cause=r.cause,
            metrics=r.metrics,
            accept_schema=r.accept_schema,
            snapshot=None if r.snapshot is None else SnapshotUpdate(**r.snapshot.model_dump()),
        )
        for r in run.results
    ]
    report = RunReport(
        run.run_uid, run.dataset, utc(run.started_at), utc(run.finished_at), results, recipients=run.recipients
    )
    return report, utc(run.tick)


def write(folder: Path, report: RunReport, tick: dt.datetime) -> Path:
    """Write atomically (a crash leaves the old file or the new one, never half of one), readable by the
    daemon's user only: it holds results. Two replicas spooling the same run write their own temporary files
    and the last rename wins whole."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{report.run_uid}{SUFFIX}"
    tmp = folder / f"{report.run_uid}.{os.getpid()}.tmp"  # per process: two daemons on one folder never share one
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(dump(report, tick))
    os.replace(tmp, final)
    return final


def waiting(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{SUFFIX}"))


def strays(folder: Path) -> list[Path]:
    """Files in the spool folder that are not spool files this version reads (old pickles, anything else)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix not in (SUFFIX, ".tmp"))


def move_aside(path: Path) -> Path:
    """Move a file that is not a readable run to `bad/`, keeping it for a person to look at."""
    bad = path.parent / "bad"
    bad.mkdir(exist_ok=True)
    target = bad / path.name
    n = 1
    while target.exists():
        target = bad / f"{path.stem}.{n}{path.suffix}"
        n += 1
    os.replace(path, target)
    return target
