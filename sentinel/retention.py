"""Retention: old rows leave the state store in small batches, and what a detector or an open incident reads
stays.

Deleted once older than their window (`retention:` in config.yaml):
- `results` (raw results and their evidence, 30d) and the `updated` events of incidents (one per run while an
  incident stays open; the incident keeps its count, its opening, reopening and resolution events);
- the category shares of `subschema` runs (`share:*` and `candidate_share:*` metrics, one row per category
  and run), on the results window;
- `runs` and `ticks` (90d), and daemons stopped (or silent) that long;
- delivered (and undeliverable) `outbox` rows (30d); pending and failed ones are the backlog and stay.

Kept whatever their age, because a run or `resolve` reads them (runner.collect, store.py's reads, incidents):
- metric history (the scalar `metrics`), unless `metrics:` sets a window; even then the newest 60 values of
  each series stay (`magnitude` reads its last 60 sums and means);
- the latest 500 failing or warning `volume` results of each dataset (their flagged buckets stay out of the
  baseline, store.flagged_buckets);
- each dataset's latest run with a measured (non-`error`) result, that result, and the run after it: the
  "could not measure since ..." incident dates its outage from them (incidents.unmeasurable);
- each subschema check's latest accepted share set (store.last_shares), and the candidate shares of the last
  run of every open incident (accepted by `resolve`);
- accepted schemas, `history_by` value snapshots, incidents.

Each batch (`batch` rows, 1,000 by default) is its own short transaction, so a run waiting to write waits for
one batch at most; several daemons may prune at once (deleting a row twice is a no-op).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field

from sentinel.yamlmodel import Duration, Model

if TYPE_CHECKING:
    import sqlalchemy as sa

    from sentinel.store import Store

log = logging.getLogger(__name__)

VOLUME_FLAGS_KEPT = 500  # store.flagged_buckets reads this many per dataset
HISTORY_READ = 60  # store.metric_history reads this many values of a series
SHARE_PREFIXES = ("share:", "candidate_share:")


class RetentionConfig(Model):
    """`retention:` in config.yaml: how long each kind of row is kept (what detectors read is always kept)."""

    results: Duration = timedelta(days=30)  # results and evidence, incident update events, category shares
    runs: Duration = timedelta(days=90)  # runs, schedule ticks, stopped daemons
    outbox: Duration = timedelta(days=30)  # delivered notifications
    metrics: Duration | None = None  # metric history; None keeps it all (the newest 60 of a series always stay)
    batch: int = Field(1000, ge=1, le=50_000, description="rows deleted per transaction")


def prune_some(store: Store, policy: RetentionConfig, now: dt.datetime | None = None) -> dict[str, int]:
    """The daemon's daily job: prune, log what went, never raise (the store may be down; tomorrow prunes)."""
    try:
        with store.lease("retention") as mine:
            if mine is False:  # another daemon is pruning this store right now
                return {}
            done = prune(store, policy, now)
    except Exception as exc:
        log.warning("retention: pruning stopped: %s", f"{type(exc).__name__}: {exc}".splitlines()[0])
        return {}
    log.info(
        "retention: pruned %s",
        ", ".join(f"{t} {n}" for t, n in done.items()) or "nothing",
        extra={"event": "pruned", "deleted": done},
    )
    return done


def prune(
    store: Store, policy: RetentionConfig, now: dt.datetime | None = None, dry_run: bool = False
) -> dict[str, int]:
    """Delete what `policy` lets go, in batches; return rows deleted per table (with dry_run, what would be)."""
    now = now or dt.datetime.now(dt.UTC)
    p = _Pruner(store, policy, now, dry_run)
    return {
        "results": p.results(),
        "incident_events": p.events(),
        "metrics": p.metrics(),
        "runs": p.runs(),
        "ticks": p.ticks(),
        "outbox": p.outbox(),
        "daemons": p.daemons(),
    }


class _Pruner:
    """One prune. What stays is looked up per dataset or series as rows come up (cached for the pass), and each
    table is walked only below the first id too young to go, so a daily prune reads one day's rows, not the
    store."""

    def __init__(self, store: Store, policy: RetentionConfig, now: dt.datetime, dry_run: bool) -> None:
        import sqlalchemy as sa

        from sentinel import store as st

        self.sa, self.st, self.store, self.dry_run, self.batch = sa, st, store, dry_run, policy.batch
        self.results_before = now - policy.results
        self.runs_before = now - policy.runs
        self.outbox_before = now - policy.outbox
        self.metrics_before = now - policy.metrics if policy.metrics is not None else None
        self._measured: dict[str, tuple[int, ...]] = {}
        self._flag_floor: dict[str, int] = {}

    def _scalar(self, stmt: Any) -> Any:
        with self.store.engine.connect() as conn:
            return conn.execute(stmt).scalar()

    # --- what stays ------------------------------------------------------------------------------------

    def measured(self, dataset: str) -> tuple[int, ...]:
        """The dataset's latest run with a non-`error` result and the run after it: "could not measure since"
        (incidents.unmeasurable) dates an outage from them."""
        if dataset not in self._measured:
            sa, runs, r = self.sa, self.st.runs, self.st.results
            ok = sa.or_(
                runs.c.status != "error",
                sa.exists().where(r.c.run_id == runs.c.id, r.c.status != "error"),
            )
            with self.store.engine.connect() as conn:
                last = conn.execute(
                    sa.select(runs.c.id, runs.c.started_at)
                    .where(runs.c.dataset == dataset, ok)
                    .order_by(runs.c.started_at.desc())
                    .limit(1)
                ).first()
                after = None
                if last is not None:
                    after = conn.execute(
                        sa.select(runs.c.id)
                        .where(runs.c.dataset == dataset, runs.c.started_at > last.started_at)
                        .order_by(runs.c.started_at)
                        .limit(1)
                    ).scalar()
            self._measured[dataset] = tuple(i for i in (last and last.id, after) if i is not None)
        return self._measured[dataset]

    def flag_floor(self, dataset: str) -> int:
        """The oldest of the dataset's newest VOLUME_FLAGS_KEPT failing or warning volume results (whose flagged
        buckets stay out of the baseline, store.flagged_buckets)."""
        if dataset not in self._flag_floor:
            r = self.st.results
            stmt = (
                self.sa.select(r.c.id)
                .where(r.c.dataset == dataset, r.c.kind == "volume", r.c.status.in_(("fail", "warn")))
                .order_by(r.c.id.desc())
                .offset(VOLUME_FLAGS_KEPT - 1)
                .limit(1)
            )
            self._flag_floor[dataset] = self._scalar(stmt) or 0
        return self._flag_floor[dataset]

    # --- the tables ------------------------------------------------------------------------------------

    def results(self) -> int:
        sa, r, runs = self.sa, self.st.results, self.st.runs
        # results hang off runs: everything of a run older than the results window goes
        recent_run = self._scalar(sa.select(sa.func.min(runs.c.id)).where(runs.c.started_at >= self.results_before))
        upto = None
        if recent_run is not None:
            upto = self._scalar(sa.select(sa.func.min(r.c.id)).where(r.c.run_id >= recent_run))

        def keep(row: Any) -> bool:
            if row.kind == "volume" and row.status in ("fail", "warn") and row.id >= self.flag_floor(row.dataset):
                return True
            return row.run_id in self.measured(row.dataset)

        where = [] if recent_run is None else [r.c.run_id < recent_run]
        return self._by_id(r, where, keep, [r.c.run_id, r.c.dataset, r.c.kind, r.c.status], upto=upto)

    def events(self) -> int:
        e = self.st.incident_events
        upto = self._id_from(e, e.c.at, self.results_before)
        return self._by_id(e, [e.c.event == "updated", e.c.at < self.results_before], upto=upto)

    def metrics(self) -> int:
        """Category shares past the results window, and with `metrics:` set, metric history past it, except
        what a run or `resolve` reads. Old rows that stay sit among the ones that go: a mark per pass remembers
        how far earlier prunes looked, so a daily prune reads only what aged since."""
        sa, m, inc = self.sa, self.st.metrics, self.st.incidents
        with self.store.engine.connect() as conn:
            open_runs = set(
                conn.execute(sa.select(inc.c.last_run_id).where(inc.c.open_fingerprint.is_not(None))).scalars()
            )
        shares = sa.or_(*[m.c.metric.like(p + "%") for p in SHARE_PREFIXES])
        latest: dict[tuple[str, str], int] = {}
        recent: dict[tuple[str, str, str], int] = {}

        def first_read(key: tuple, where: list, offset: int, cache: dict) -> int:
            """The oldest run id a read of the `offset + 1` newest rows of this series still sees."""
            if key not in cache:
                stmt = sa.select(m.c.run_id).where(*where).order_by(m.c.run_id.desc()).offset(offset).limit(1)
                cache[key] = self._scalar(stmt) or 0
            return cache[key]

        def keep_share(row: Any) -> bool:
            if row.metric.startswith("share:"):  # store.last_shares: the latest run's set
                where = [m.c.dataset == row.dataset, m.c.check_name == row.check_name, m.c.metric.like("share:%")]
                return row.run_id >= first_read((row.dataset, row.check_name), where, 0, latest)
            return row.run_id in open_runs  # candidate shares: what resolving the open incident accepts

        def keep_history(row: Any) -> bool:  # store.metric_history reads the newest HISTORY_READ of a series
            where = [m.c.dataset == row.dataset, m.c.check_name == row.check_name, m.c.metric == row.metric]
            key = (row.dataset, row.check_name, row.metric)
            return row.run_id >= first_read(key, where, HISTORY_READ - 1, recent)

        deleted = self._marked("shares", self.results_before, shares, keep_share)
        if self.metrics_before is not None:
            deleted += self._marked("metrics", self.metrics_before, sa.not_(shares), keep_history)
        return deleted

    def _marked(self, name: str, before: dt.datetime, which: Any, keep: Callable[[Any], bool]) -> int:
        m, marks = self.st.metrics, self.st.retention_marks
        start = self._scalar(self.sa.select(marks.c.upto).where(marks.c.name == name))
        upto = self._id_from(m, m.c.measured_at, before)
        reached: list[int] = []
        cols = [m.c.run_id, m.c.dataset, m.c.check_name, m.c.metric]
        where = [m.c.measured_at < before, which]
        deleted = self._by_id(m, where, keep, cols, start=start or 0, upto=upto, reached=reached.append)
        if reached and not self.dry_run:
            self._mark(name, reached[-1])
        return deleted

    def runs(self) -> int:
        runs = self.st.runs
        upto = self._id_from(runs, runs.c.started_at, self.runs_before)
        where = [runs.c.started_at < self.runs_before]
        return self._by_id(runs, where, lambda row: row.id in self.measured(row.dataset), [runs.c.dataset], upto=upto)

    def ticks(self) -> int:
        sa, t = self.sa, self.st.ticks
        after: tuple[Any, str] | None = None
        deleted = 0
        while True:
            stmt = sa.select(t.c.tick, t.c.dataset).where(t.c.tick < self.runs_before)
            if after is not None:
                stmt = stmt.where(sa.tuple_(t.c.tick, t.c.dataset) > sa.tuple_(*after))
            with self.store.engine.connect() as conn:
                rows = conn.execute(stmt.order_by(t.c.tick, t.c.dataset).limit(self.batch)).all()
            if not rows:
                return deleted
            after = tuple(rows[-1])
            pairs = [tuple(r) for r in rows]
            if not self.dry_run:
                self._delete(
                    lambda conn, pairs=pairs: conn.execute(
                        t.delete().where(sa.tuple_(t.c.tick, t.c.dataset).in_(pairs))
                    )
                )
            deleted += len(rows)

    def outbox(self) -> int:
        # finished rows only: `unsupported` ones wait for their channel to arrive, `pending`/`failed` are retried
        o = self.st.outbox
        done = ("sent", "unconfigured", "refused")
        return self._by_id(o, [o.c.state.in_(done), o.c.created_at < self.outbox_before])

    def daemons(self) -> int:
        sa, d = self.sa, self.st.daemons
        gone = sa.or_(d.c.stopped_at < self.runs_before, d.c.beat_at < self.runs_before)
        with self.store.engine.connect() as conn:
            n = conn.execute(sa.select(sa.func.count()).select_from(d).where(gone)).scalar() or 0
        if n and not self.dry_run:
            self._delete(lambda conn: conn.execute(d.delete().where(gone)))
        return int(n)

    # --- batches ---------------------------------------------------------------------------------------

    def _by_id(
        self,
        table: sa.Table,
        where: list,
        keep: Callable[[Any], bool] | None = None,
        columns: list | None = None,
        start: int = 0,
        upto: int | None = None,
        reached: Callable[[int], None] | None = None,
    ) -> int:
        """Walk the rows matching `where` with start < id < upto in id order, `batch` at a time; delete those
        `keep` does not hold."""
        deleted = 0
        bounded = [*where, table.c.id < upto] if upto is not None else where
        for rows in self._batches(table, bounded, columns or [], start):
            ids = [r.id for r in rows if keep is None or not keep(r)]
            if ids and not self.dry_run:
                self._delete(lambda conn, ids=ids: conn.execute(table.delete().where(table.c.id.in_(ids))))
            deleted += len(ids)
            if reached is not None:
                reached(rows[-1].id)
        return deleted

    def _batches(self, table: sa.Table, where: list, columns: list, start: int) -> Iterator[list]:
        after = start
        while True:
            stmt = self.sa.select(table.c.id, *columns).where(*where, table.c.id > after)
            with self.store.engine.connect() as conn:
                rows = conn.execute(stmt.order_by(table.c.id).limit(self.batch)).all()
            if not rows:
                return
            yield rows
            after = rows[-1].id

    def _id_from(self, table: sa.Table, column: sa.Column, when: dt.datetime) -> int | None:
        """The first id whose `column` is at or after `when` (None: there is none), by bisection over the
        primary key: rows are written in time order, so ids and times rise together."""
        sa = self.sa
        lo = self._scalar(sa.select(sa.func.min(table.c.id)))
        hi = self._scalar(sa.select(sa.func.max(table.c.id)))
        if lo is None:
            return None
        hi += 1
        while lo < hi:
            mid = (lo + hi) // 2
            at = self._scalar(sa.select(column).where(table.c.id >= mid).order_by(table.c.id).limit(1))
            if at is None or self.st.utc(at) >= when:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _delete(self, fn: Callable[[sa.Connection], Any]) -> None:
        self.store.transaction(fn)

    def _mark(self, name: str, upto: int) -> None:
        marks = self.st.retention_marks

        def write(conn: sa.Connection) -> None:
            conn.execute(marks.delete().where(marks.c.name == name))
            conn.execute(marks.insert().values(name=name, upto=upto, at=dt.datetime.now(dt.UTC)))

        self.store.transaction(write)
