"""`sentinel` with a kill point after delivery, for tests/test_ladder_crash.py.

With TEST_CRASH_AFTER_DELIVERY=<step> (e.g. `reminder-1`), every channel exits the process with 137 (as kill -9
would: no cleanup) right after it delivered a message of that request step, before the outbox records it:
the window where a channel that cannot dedupe may resend once. The channel code itself runs unchanged."""

from __future__ import annotations

import os
import sys

from sentinel.notify import channels

point = os.environ.get("TEST_CRASH_AFTER_DELIVERY")
if point:
    for scheme, send in list(channels.CHANNELS.items()):

        def delivered_then_die(rest, key, payload, root, _send=send):  # type: ignore[no-untyped-def]
            _send(rest, key, payload, root)
            if payload.get("step") == point:
                os._exit(137)

        channels.CHANNELS[scheme] = delivered_then_die

if __name__ == "__main__":
    from sentinel.cli import app

    sys.argv[0] = "sentinel"
    app()
