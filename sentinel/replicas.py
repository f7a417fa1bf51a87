"""Which replica runs a dataset's tick first, so that N daemons on one state store split the work, not race.

Every daemon keeps a job for every dataset (any of them can take any dataset over). At a tick, the dataset's
*owner* runs it at once: datasets sorted by name are dealt round-robin to the live daemons sorted by id (a
heartbeat within 3 heartbeats, not stopped), so each has its share whatever the count. The others note the
tick and, once its grace has passed, ask the store in one query which noted ticks are still not done; one
that is not (its owner is late, overloaded or gone) is taken over through the lease, as before, by a daemon
with a worker free. Ownership only decides who tries first: the lease and the tick's claim still make a
tick run once, so two daemons that briefly disagree on who is alive cost a lease round trip, not a double
run. Before this, all N daemons raced for every tick, and the losers' lease round trips grew with N.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable

import sqlalchemy as sa

from sentinel.store import daemons, ticks, utc

GRACE = dt.timedelta(seconds=2)  # how late an owner may be before a peer takes its tick over


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


class Deferred:
    """Ticks left to their owner: dataset -> (tick, when to check it). A later tick replaces an earlier one."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[dt.datetime, float]] = {}
        self.lock = threading.Lock()

    def note(self, name: str, tick: dt.datetime, grace: dt.timedelta) -> None:
        with self.lock:
            self.items[name] = (tick, time.monotonic() + grace.total_seconds())

    def due(self) -> list[tuple[str, dt.datetime]]:
        """The noted ticks whose grace has passed, taken out."""
        now = time.monotonic()
        with self.lock:
            out = [(name, tick) for name, (tick, at) in self.items.items() if at <= now]
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


def grace_for(every: dt.timedelta | None) -> dt.timedelta:
    """Half an interval schedule's period, at most GRACE: a peer checks a tick before the next one is due."""
    return GRACE if every is None else min(GRACE, every / 2)
