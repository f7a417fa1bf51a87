"""A state-store write that fails: the store is down (retry, then spool) or it refused the run (an error result).

A store that cannot be reached will take the run later, so the daemon retries and spools it. A store that
answers and refuses the write (a value too long for its column, a constraint, a trigger) will refuse the same
run every time: retrying or spooling it only hides the fault. Such a run is reported instead: its checks become
`error` results saying the store refused it, and that smaller report is written if the store takes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc

from sentinel.envsubst import redact
from sentinel.results import CheckResult
from sentinel.terminal import visible

if TYPE_CHECKING:
    from sentinel.runner import RunReport

CAUSE, DOWN = "store_refused", "store_down"
MAX_MESSAGE = 300


def is_down(exc: BaseException) -> bool:
    """Whether the write failed because the store could not be reached (worth another try later). Lock and
    serialisation conflicts count as down: they pass."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)


def describe(exc: BaseException) -> str:
    """One line: the driver's exception class and the first line of its message."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    text = redact(f"{type(orig).__name__}: {lines[0] if lines else ''}".rstrip(": "))[:MAX_MESSAGE]
    return visible(text)  # no terminal escapes from values


def refused(report: RunReport, exc: BaseException) -> RunReport:
    """The report as it can still be written: every check an `error` naming the store's refusal, with nothing
    from the data (metrics, snapshots, evidence) that may be what the store refused."""
    down = is_down(exc)
    message = (
        f"not recorded: the state store {'could not be reached' if down else 'refused this run'} ({describe(exc)})"
    )
    cause = DOWN if down else CAUSE
    report.results = [
        CheckResult(
            r.dataset, r.check, r.kind, "error", r.severity, diagnosis={"cause": cause, "message": message}, cause=cause
        )
        for r in report.results
    ]
    report.changes = []
    return report


def settle(store, report: RunReport, exc: BaseException, cfg) -> None:
    """`sentinel run` after a failed write: the report becomes error results, written if the store takes
    them (it was reachable and refused only what the data put in the run)."""
    from sentinel.runner import save

    down = is_down(exc)
    refused(report, exc)
    if not down:
        try:
            save(store, report, cfg)
        except sa_exc.DBAPIError:
            pass


def message(report: RunReport) -> str | None:
    """The one line `sentinel run` prints for a report the store did not take, or None."""
    for r in report.results:
        if r.cause in (CAUSE, DOWN):
            return f"{report.dataset}: {(r.diagnosis or {}).get('message')}"
    return None
