"""How a CLI process ends: the same way whatever its threads are doing.

The speculative scan (prefetch.py) runs DuckDB and psycopg statements in daemon threads that hold no GIL. If
the interpreter finalises while one of them is still inside DuckDB, the thread is torn down inside C++ and the
process aborts ("terminate called after throwing", exit 134) instead of exiting 2 on a usage error. And Ctrl-C
cannot reach the main thread while it waits inside a DuckDB statement: Python runs signal handlers only
between bytecodes. So:

- `finish(code)` stops the speculative scan before every exit and leaves with `os._exit` if a scan thread
  is still inside the database after a bounded wait. Otherwise it freezes the garbage collector's objects
  first: finalisation then skips walking them (atexit handlers and module teardown still run).
- `watch()` routes SIGINT through a wakeup pipe to a small thread that interrupts every statement in flight
  (DuckDB `interrupt()`, psycopg `cancel()`, sqlite3 `interrupt()`), so the main thread's statement returns
  and the handler raises `Interrupted` there. The process then prints one line and exits 130; a watchdog
  exits 130 anyway one second after the signal.
- `guarded()` marks the state store's write of a run: a Ctrl-C during it waits for the transaction to end
  (milliseconds), so a run is written whole or not at all and the message says which.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
EXIT_INTERRUPTED = 130
DEADLINE = 0.8  # seconds from Ctrl-C to exit, whatever the main thread is doing
SCAN_JOIN = 2.0  # seconds to wait for the speculative scan to leave the database before os._exit


class Interrupted(BaseException):
    """Ctrl-C in the main thread. Not a KeyboardInterrupt, which typer turns into a silent exit 130, and not an
    Exception, which `except Exception` blocks on the run path would swallow as a check error."""


_inflight: dict[int, Any] = {}  # id -> DBAPI connection running a statement now
_state = {
    "signalled": 0.0,
    "guard": 0,
    "pending": False,
    "written": False,
    "writing": False,
    "command": "",
    "interrupted": False,
}
_end_lock = threading.Lock()
_ended = False


def message(command: str) -> str:
    if command != "run":
        return "interrupted"
    if _state["writing"]:
        return "interrupted while writing a run: it is written whole or not at all"
    if _state["written"]:
        return "interrupted: the datasets finished before it are written, nothing else"
    return "interrupted, nothing written"


def end_interrupted() -> None:
    """Print the one line and leave now: exit 130. Called by the main thread or by the watchdog, once."""
    global _ended
    with _end_lock:
        if not _ended:
            _ended = True
            try:
                sys.stdout.flush()
            except Exception:
                pass
            try:
                sys.stderr.write(message(_state["command"]) + "\n")
                sys.stderr.flush()
            except Exception:
                pass
            os._exit(EXIT_INTERRUPTED)


def finish(code: int) -> None:
    """Exit with `code` once the speculative scan has left the database (see the module docstring)."""
    from sentinel import prefetch

    try:
        prefetch.shutdown(timeout=SCAN_JOIN)
    except BaseException:
        pass
    if prefetch.busy():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)
    import gc

    gc.freeze()  # the interpreter's last collections would walk every object the run made: ~0.1 CPU-s, for nothing
    sys.exit(code)


# --- Ctrl-C ----------------------------------------------------------------------------------------------


def watch(command: str) -> None:
    """Install the SIGINT path for this process (main thread, before anything slow starts)."""
    _state["command"] = command
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    signal.signal(signal.SIGINT, _on_sigint)
    sys.unraisablehook = _unraisable
    threading.Thread(target=_watcher, args=(read,), daemon=True, name="sentinel-sigint").start()


def track_statements() -> None:
    """Remember which DBAPI connections are running a statement, so Ctrl-C can interrupt them."""
    import sqlalchemy as sa

    if sa.event.contains(sa.engine.Engine, "before_cursor_execute", _before):
        return
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", _before)
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", _after)
    sa.event.listen(sa.engine.Engine, "handle_error", _error)


def _before(conn, *_args) -> None:
    dbapi = conn.connection.dbapi_connection
    _inflight[id(dbapi)] = dbapi


def _after(conn, *_args) -> None:
    _inflight.pop(id(conn.connection.dbapi_connection), None)


def _error(ctx) -> None:
    try:
        _inflight.pop(id(ctx.connection.connection.dbapi_connection), None)
    except Exception:  # no connection any more: an entry left behind is only interrupted needlessly
        pass
    if _state["interrupted"]:  # the statement failed because Ctrl-C interrupted it: not a check error
        raise Interrupted


def _on_sigint(_signum: int, _frame: Any) -> None:
    # remembered as well as raised: DuckDB checks for signals inside a statement and may replace the
    # exception with its own; the next store write or failed statement raises it again
    _state["interrupted"] = True
    if _state["guard"]:  # the store is writing a run: let the transaction end first
        _state["pending"] = True
        return
    raise Interrupted


def _unraisable(unraisable: Any, default: Callable[[Any], None] = sys.unraisablehook) -> None:
    """Python runs a signal handler wherever the main thread is, also inside a callback that cannot raise (a
    weakref's): there `Interrupted` is dropped, not printed. The flag it set stays, so the next statement or
    store write raises it again, and the watchdog ends the process in any case."""
    if not isinstance(unraisable.exc_value, Interrupted):
        default(unraisable)


def _watcher(fd: int) -> None:
    while True:
        try:
            data = os.read(fd, 64)
        except OSError:
            return
        if not data:
            return
        if signal.SIGINT not in data or signal.getsignal(signal.SIGINT) is not _on_sigint:
            continue  # another command took SIGINT over (the daemon stops gracefully)
        if _state["signalled"]:  # a second Ctrl-C: no more waiting
            end_interrupted()
        _state["signalled"] = time.monotonic()
        _state["interrupted"] = True
        _interrupt_all()
        threading.Thread(target=_watchdog, daemon=True, name="sentinel-watchdog").start()


def _interrupt_all() -> None:
    from sentinel import prefetch

    prefetch.interrupt()
    if _state["guard"]:
        return  # the run's own write finishes; the sources are done by then
    for conn in list(_inflight.values()):
        try:
            (getattr(conn, "interrupt", None) or conn.cancel)()
        except Exception:
            pass


def _watchdog() -> None:
    time.sleep(DEADLINE)
    _state["writing"] = bool(_state["guard"])
    end_interrupted()


@contextmanager
def guarded() -> Iterator[None]:
    """A state-store write that Ctrl-C lets finish (see the module docstring)."""
    if _state["interrupted"] and not _state["guard"]:
        raise Interrupted
    _state["guard"] += 1
    try:
        yield
        _state["written"] = True
    finally:
        _state["guard"] -= 1
        if _state["pending"] and not _state["guard"]:
            _state["pending"] = False
            raise Interrupted


class GuardedStore:
    """The state store as `sentinel run` hands it to the runner: every transaction is guarded()."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def transaction(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with guarded():
            return self._store.transaction(fn, *args, **kwargs)
