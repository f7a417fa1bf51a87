"""`sentinel` with a kill point after delivery, for tests/test_ladder_crash.py.

With TEST_CRASH_AFTER_DELIVERY=<step> (e.g. `reminder-1`), every channel exits the process with 137 (as kill -9
would: no cleanup) right after it delivered a message of that request step, before the outbox records it:
the window where a channel that cannot dedupe may resend once. The channel code itself runs unchanged.

Wrapped are the deliver functions `sentinel.notify.channels` can reach: each one registered in `CHANNELS`
(console, outbox file, mailto/mailtos through email.py) and `apprise_channel.deliver`, the fallback
`channel_for` looks up at call time for every other scheme (json://, slack://, ...). Each original function is
wrapped once and put back where it was found (the `CHANNELS` entries and the module's own `deliver`), so
identity checks such as `url_problem`'s `send is email.deliver` still hold."""

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
    for scheme, send in list(channels.CHANNELS.items()):
        channels.CHANNELS[scheme] = wrap(send)
    unwrapped = [s for s, f in channels.CHANNELS.items() if f.__name__ != "delivered_then_die"]
    assert not unwrapped, f"channels not wrapped: {unwrapped}"


point = os.environ.get("TEST_CRASH_AFTER_DELIVERY")
if point:
    install(point)

if __name__ == "__main__":
    from sentinel.cli import app

    sys.argv[0] = "sentinel"
    app()
