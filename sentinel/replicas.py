"""Which replica runs a dataset's tick first, so that N daemons on one state store split the work, not race.

Every daemon keeps a job for every dataset (any of them can take any dataset over). At a tick, the dataset's
*owner* runs it at once: datasets sorted by name are dealt round-robin to the live daemons sorted by id (a
heartbeat within 3 heartbeats, not stopped), so each has its share whatever the count. The others note the
tick and its owner. A noted tick is checked (all due ones in one query) and, if still not done, taken over
through the lease by a daemon with a worker free, only when it is *really* late (`late_after`):

- its owner dropped out of the live set (killed, stopped, its heartbeat stale): a GRACE after the tick;
- or, owner alive, the tick is still not done half an interval after it (plus the configured jitter).

Why half an interval: an owner that is alive will run the tick when a worker frees up; taking it over sooner
only races it (under load, N=4 lost two lease round trips a run when a peer took over ticks 2 s late that
their owners were about to start). But a tick not started when the next one is due is lost for good (the
owner's job then runs the next tick), so a peer must start it before that: half an interval leaves the other
half for the peer. Ownership only decides who tries first: the lease and the tick's claim still make a tick
run once, so two daemons that briefly disagree on who is alive cost a lease round trip, not a double run.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from sentinel.store import daemons, ticks, utc

GRACE = dt.timedelta(seconds=2)  # how late a tick may be before a peer of an owner that dropped out takes it


def live_daemons(conn: sa.Connection, now: dt.datetime, heartbeat: dt.timedelta) -> list[str]:
    """Ids of the daemons whose heartbeat is recent and that have not recorded a stop."""
    rows = conn.execute(sa.select(daemons.c.id, daemons.c.beat_at).where(daemons.c.stopped_at.is_(None))).all()
    return [r.id for r in rows if r.beat_at is not None and now - utc(r.beat_at) <= 3 * heartbeat]


class Owners:
    """The owner of each dataset among the live daemons; with none known, this daemon owns everything."""

    def __init__(self, me: str) -> None:
        self.me = me
        self.live: tuple[str, ...] = (me,)
        self.names: tuple[str, ...] = ()
        self.mine_now: frozenset[str] = frozenset()
        self.lock = threading.Lock()

    def update(self, live: Iterable[str] | None = None, names: Iterable[str] | None = None) -> None:
        with self.lock:
            if live is not None:
                self.live = tuple(sorted(set(live) | {self.me}))
            if names is not None:
                self.names = tuple(sorted(set(names)))
            at = self.live.index(self.me)
            self.mine_now = frozenset(n for i, n in enumerate(self.names) if i % len(self.live) == at)

    def mine(self, name: str) -> bool:
        return len(self.live) == 1 or name in self.mine_now or name not in self.names

    def owner(self, name: str) -> str:
        """The live daemon that runs `name` first (this one for a name it does not know)."""
        with self.lock:
            if name not in self.names:
                return self.me
            return self.live[self.names.index(name) % len(self.live)]

    def alive(self, daemon: str) -> bool:
        with self.lock:
            return daemon in self.live


@dataclass(frozen=True)
class Noted:
    """A peer's tick: when to check it if its owner is still alive (`late`), or once it has dropped out."""

    tick: dt.datetime
    owner: str
    dropped: float  # time.monotonic() at which the tick is GRACE late
    late: float  # time.monotonic() at which the tick is really late with its owner alive


class Deferred:
    """Ticks left to their owner, by dataset. An earlier tick not checked yet is kept over a later one: it is
    due first, and whether its owner ran it is what says the owner keeps up (a tick taken over runs the
    current one, daemon.py). Replaced instead, a one-second schedule's entry moved every second and, being
    due 0.75 s after its tick, was seen by a hand-over pass (every 0.5 s) only by luck: under load a killed
    owner's share was not taken over until it left the live set, 3 heartbeats later."""

    def __init__(self) -> None:
        self.items: dict[str, Noted] = {}
        self.lock = threading.Lock()

    def note(self, name: str, tick: dt.datetime, owner: str, late: dt.timedelta) -> None:
        """Measured from the tick, not from now: a jittered or late job still checks on time."""
        base = time.monotonic() - (dt.datetime.now(dt.UTC) - tick).total_seconds()
        with self.lock:
            held = self.items.get(name)
            if held is not None and held.tick < tick:
                return
            self.items[name] = Noted(tick, owner, base + GRACE.total_seconds(), base + late.total_seconds())

    def due(self, alive: Callable[[str], bool] | None = None) -> list[tuple[str, dt.datetime]]:
        """The noted ticks now due for a check, taken out: really late, or GRACE late with their owner gone."""
        now = time.monotonic()
        with self.lock:
            out = [
                (name, n.tick)
                for name, n in self.items.items()
                if n.late <= now or (n.dropped <= now and alive is not None and not alive(n.owner))
            ]
            for name, _ in out:
                del self.items[name]
        return out


def undone(conn: sa.Connection, pairs: list[tuple[str, dt.datetime]]) -> list[tuple[str, dt.datetime]]:
    """The (dataset, tick) pairs with no claim in the store: one indexed query for the whole batch."""
    if not pairs:
        return []
    done = {
        (r.dataset, utc(r.tick))
        for r in conn.execute(
            sa.select(ticks.c.dataset, ticks.c.tick).where(sa.tuple_(ticks.c.dataset, ticks.c.tick).in_(pairs))
        )
    }
    return [(name, tick) for name, tick in pairs if (name, utc(tick)) not in done]


def late_after(interval: dt.timedelta, jitter: dt.timedelta | None = None) -> dt.timedelta:
    """How late a tick must be before a peer takes it over from a live owner: half its interval, and never
    before the owner's jitter plus GRACE (an owner is allowed its jitter). At most three quarters of the
    interval: a tick still not started when the next one is due is not run (the scheduler's coalescing), so
    the peer, which looks every HAND_OVER_EVERY, must get to it before then."""
    wanted = max(interval / 2, GRACE + (jitter or dt.timedelta(0)))
    return min(wanted, interval * 3 / 4)
