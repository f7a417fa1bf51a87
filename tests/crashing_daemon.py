"""`sentinel` with a kill point after delivery or after a request step's commit, for tests/test_ladder_crash.py.

With SENTINEL_CRASH_AFTER=commit:<step> (e.g. `commit:notified`, `commit:reopened-1.reminder-1`) the process exits
with 137 right after the transaction that took that step commits (`install_commit`).

With TEST_CRASH_AFTER_DELIVERY=<step> (e.g. `reminder-1`), every channel exits the process with 137 (as kill -9
would: no cleanup) right after it delivered a message of that request step, before the outbox records it:
the window where a channel that cannot dedupe may resend once. The channel code itself runs unchanged.

Wrapped are the deliver functions `sentinel.notify.channels` can reach: the `deliver` of each module registered
in `CHANNELS` (console, outbox file, mailto/mailtos through email.py) and of apprise_channel, the fallback
`channel_for` returns for every other scheme (json://, slack://, ...). `channel_for` looks a module's `deliver`
up at call time, so wrapping it in its module is enough."""

from __future__ import annotations

import os
import sys
from typing import Any

from sentinel.notify import channels
from sentinel.notify.channels import apprise_channel, console, email, outbox_file

MODULES = (console, outbox_file, email, apprise_channel)


def _crashing(send, point: str):  # type: ignore[no-untyped-def]
    def delivered_then_die(url: str, key: str, payload: dict[str, Any], root) -> None:  # type: ignore[no-untyped-def]
        send(url, key, payload, root)
        if payload.get("step") == point:
            os._exit(137)

    return delivered_then_die


def install(point: str) -> None:
    wrapped: dict[int, Any] = {}

    def wrap(send):  # type: ignore[no-untyped-def]
        return wrapped.setdefault(id(send), _crashing(send, point))

    for module in MODULES:
        module.deliver = wrap(module.deliver)
    unwrapped = [s for s, name in channels.CHANNELS.items() if sys.modules[name] not in MODULES]
    assert not unwrapped, f"channels not wrapped: {unwrapped}"


def install_commit(point: str) -> None:
    """Exit with 137 right after the transaction that took request step `commit:<step>` commits: a run's
    (the daemon's `save`, which folds incident changes into requests) or a heartbeat's (`ladder._step_request`,
    reminders, escalation). Wrapped here, so the product has no kill switch."""
    from sentinel import daemon
    from sentinel.notify import ladder

    step = point.removeprefix("commit:")
    save, step_request = daemon.save, ladder._step_request

    def saved_then_die(store, report, *args, **kwargs):  # type: ignore[no-untyped-def]
        changes = save(store, report, *args, **kwargs)
        if step in report.steps:
            os._exit(137)
        return changes

    def stepped_then_die(*args, **kwargs):  # type: ignore[no-untyped-def]
        done = step_request(*args, **kwargs)
        if done == step:
            os._exit(137)
        return done

    daemon.save, ladder._step_request = saved_then_die, stepped_then_die


point = os.environ.get("TEST_CRASH_AFTER_DELIVERY")
if point:
    install(point)
commit_point = os.environ.get("SENTINEL_CRASH_AFTER")
if commit_point:
    install_commit(commit_point)

if __name__ == "__main__":
    from sentinel.cli import app

    sys.argv[0] = "sentinel"
    app()
