"""`sentinel daemon`: every dataset's checks on its YAML schedule, through faults, restarts and replicas.

- APScheduler 3.11 `BlockingScheduler`, jobs rebuilt from YAML at boot and on SIGHUP (no pickled job store).
  One job per dataset; `coalesce=True` (a backlog runs once), `max_instances=1` plus a per-dataset lock (a
  catch-up run and a tick never overlap), `misfire_grace_time=None`: a run that starts late still runs, and
  its lateness is reported as schedule lag. `daemon.jitter` spreads runs after their tick.
- Each run belongs to a *nominal tick* (sentinel/scheduler.py), the same on every replica. Under a
  PostgreSQL advisory lock (store.lease) the daemon checks the tick is not done, measures, and writes the run
  together with the tick's claim in one transaction: a second daemon skips the dataset while it runs, and
  cannot write that tick again. On boot, a dataset whose latest tick is not done runs at once.
- Replicas split the datasets (sentinel/replicas.py): a tick is run at once by its dataset's owner among the
  live daemons; the others check it once it is really late (half an interval, or 2 s once its owner dropped
  out of the live set), all their due ticks in one query, and take over the ones still not done when they
  have a worker free. The lease and the tick-done check share one connection (store.lease_tick); the
  heartbeat that tells the peers this daemon is alive has a thread of its own.
- A source that cannot be reached is retried with backoff within the run; after `unmeasurable_after` of
  nothing but errors, one "could not measure" incident opens (sentinel/incidents.py). A store that is down
  is retried for `store_retry_for`, then the run is spooled under `.sentinel/spool/` and written later.
  A check that raises is an `error` result; a job that raises is logged; neither stops the daemon.
- SIGTERM/SIGINT: no new runs; running ones finish; exit 0. SIGHUP: reload; an invalid config is reported
  and the old one keeps running.
- `--http HOST:PORT` serves `/healthz` and Prometheus `/metrics` from a few threads (endpoint.py); idle
  connections are closed. `/healthz` is 503 while the store refuses writes (storefault.py).
- Spooled runs are JSON files (spool.py); a file that is not one is moved to `spool/bad/`.
- The heap is frozen for the garbage collector (`settle_heap`) after the first run (modules, config and the
  drivers and check kinds the run imported) and after each reload, when no other job is running.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import exc as sa_exc

from sentinel import replicas, retention, spool, storefault
from sentinel.config import Config, ConfigError, DatasetConfig, load_config
from sentinel.endpoint import BoundedHTTPServer
from sentinel.envsubst import RedactFilter
from sentinel.notify import ladder
from sentinel.notify.outbox import NOTIFY_ON, configured_channels, dispatch
from sentinel.runner import RunReport, collect, save
from sentinel.scheduler import HOURLY, nominal_tick, trigger
from sentinel.store import Lease, Store, TickTaken, daemons, hostname, incidents

log = logging.getLogger("sentinel.daemon")
RETRYABLE = {"unreachable", "timeout"}  # source errors worth another attempt within the run
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
HAND_OVER_EVERY = 0.5  # seconds between checks of the ticks left to peers (no query when none is due)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter("sentinel_runs", "Dataset runs written, by outcome", ["dataset", "status"], registry=r)
        self.failures = Counter(
            "sentinel_check_failures", "Checks that failed or warned", ["dataset", "check"], registry=r
        )
        self.errors = Counter("sentinel_check_errors", "Checks that could not measure", ["dataset"], registry=r)
        self.skipped = Counter(
            "sentinel_runs_skipped",
            "Ticks not run here, by reason: peer (its owner ran it), running, leased, done, superseded (a peer's "
            "tick taken over after its next tick was due: the current one is run instead); taken (measured, but "
            "another daemon had written it)",
            ["reason"],
            registry=r,
        )
        self.lag = Histogram(
            "sentinel_schedule_lag_seconds", "Run start minus its nominal tick", buckets=LAG_BUCKETS, registry=r
        )
        self.seconds = Histogram("sentinel_run_seconds", "Duration of a dataset run", registry=r)
        self.open_incidents = Gauge("sentinel_open_incidents", "Incidents open in the state store", registry=r)
        self.reloads = Counter("sentinel_config_reloads", "SIGHUP reloads, by result", ["result"], registry=r)
        self.spooled = Gauge("sentinel_spooled_runs", "Runs waiting for the state store", registry=r)
        self.refused = Counter(
            "sentinel_store_refused_runs",
            "Runs the state store refused (reported as errors, not spooled)",
            ["dataset"],
            registry=r,
        )
        self.adopted = Counter(
            "sentinel_runs_adopted", "Ticks a peer owned, still not done when really late, taken over here", registry=r
        )
        self.bad_spool = Counter("sentinel_spool_files_set_aside", "Spool files moved to spool/bad/", registry=r)
        self.outbox_pending = Gauge("sentinel_outbox_pending", "Notifications waiting to be delivered", registry=r)
        self.outbox_failed = Gauge("sentinel_outbox_failed", "Notifications that failed for good", registry=r)


class Daemon:
    def __init__(self, config_path: Path, http: str | None = None, stopping: threading.Event | None = None) -> None:
        self.path = config_path
        self.cfg: Config = load_config(config_path)
        self.store = Store(self.cfg.state_url)
        started = dt.datetime.now(dt.UTC)
        self.id = f"{hostname()}:{os.getpid()}:{started:%Y%m%dT%H%M%S}"
        self.started = started
        self.metrics = Metrics()
        self.stopping = stopping or threading.Event()
        self.locks: dict[str, threading.Lock] = {}
        self.locks_guard = threading.Lock()
        # server-database source engines kept between runs, by source name (dropped when it cannot be reached)
        self.engines: dict[str, dict[str, sa.Engine]] = {}
        self.engines_lock = threading.Lock()
        self.spool_lock = threading.Lock()
        self.spool_pending = True  # files may be waiting from before a restart; known after the first replay
        self.last_beat: dt.datetime | None = None
        self.refusing: str | None = None  # the last write the store refused, until it takes a run again
        self.http = http
        self.server: BoundedHTTPServer | None = None
        self.owners = replicas.Owners(self.id)  # which datasets this daemon runs first; the rest when late
        self.deferred = replicas.Deferred()
        self.in_flight = 0  # jobs submitted to the workers and not finished: adopt peers' ticks only below `workers`
        self.in_flight_lock = threading.Lock()
        self.resettle = True  # settle the heap after the next run (`_settle_if_alone`)
        d = self.cfg.main.daemon
        self.workers = ThreadPoolExecutor(d.workers)
        # the heartbeat has a thread of its own: queued behind the runs of an overloaded daemon it came late, the
        # peers dropped this daemon from the live set for a moment and dealt the datasets again, and for that
        # moment two daemons ran the same ticks (bench/daemon.py, N=4: most of the lease races)
        self.beater = ThreadPoolExecutor(1)
        self.stopper = threading.Thread(target=self._stop_when_asked, name="stopper", daemon=True)
        self.signal: int | None = None
        self.scheduler = BlockingScheduler(
            timezone="UTC",
            executors={"default": self.workers, "beat": self.beater},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> int:
        self.stopper.start()
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)
        self._install(self.cfg)
        self.scheduler.add_job(
            self.beat,
            IntervalTrigger(seconds=self.cfg.main.daemon.heartbeat.total_seconds()),
            id="heartbeat",
            executor="beat",
        )
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)  # retention: daily, the first soon after start
        prune = lambda: retention.prune_some(self.store, self.cfg.main.retention)  # noqa: E731
        self.scheduler.add_job(prune, IntervalTrigger(days=1), id="prune", next_run_time=soon)
        self.scheduler.add_job(self.hand_over, IntervalTrigger(seconds=HAND_OVER_EVERY), id="hand-over")
        self.scheduler.add_listener(self._count_jobs, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self.beat()
        self._replay_spool()
        self._catch_up()
        if self.http:
            self._serve(self.http)
        log.info("daemon started", extra={"event": "started", "daemon": self.id, "datasets": len(self.cfg.datasets)})
        self.scheduler.add_listener(self._stop_if_asked, EVENT_SCHEDULER_STARTED)
        try:
            if not self.stopping.is_set():  # a signal during start-up: stop before the first run
                self.scheduler.start()  # blocks until shutdown
        finally:
            if not self.stopping.is_set():  # start() failed: the stopper still has to let the workers finish
                self.stopping.set()
            self.stopper.join()  # the running checks have finished
            self._stopped()
        return 0

    def _on_stop(self, signum: int, _frame: Any) -> None:
        """Only raise the flag: the signal may land while the main thread holds a lock a worker needs (a log
        handler's, the scheduler's), so waiting here for the workers deadlocked (seen under load: a daemon
        that never exited after SIGTERM). The stopper thread does the rest."""
        if not self.stopping.is_set():
            self.signal = signum
            self.stopping.set()

    def _stop_when_asked(self) -> None:
        """No new runs once the flag is up; start() returns when the running ones have finished."""
        self.stopping.wait()
        log.info("stopping: letting running checks finish", extra={"event": "stopping", "signal": self.signal})
        try:
            self.scheduler.shutdown(wait=False)  # start()'s loop ends; holds no lock while the workers finish
        except SchedulerNotRunningError:  # not started yet (start() will not start it) or already shut down
            pass
        self.workers.shutdown(wait=True)
        self.beater.shutdown(wait=True)  # no heartbeat after the stop is recorded

    def _stop_if_asked(self, _event: Any) -> None:
        """A stop asked for after start-up's check but before the scheduler was running could not shut it down
        (the stopper found it not started), and start() would block until the next signal: shut it down now,
        when it is running and before its loop starts any job."""
        if self.stopping.is_set():
            try:
                self.scheduler.shutdown(wait=False)
            except SchedulerNotRunningError:  # the signal's own shutdown came first
                pass

    def _on_reload(self, _signum: int, _frame: Any) -> None:
        threading.Thread(target=self.reload, daemon=True).start()

    def _stopped(self) -> None:
        if self.server is not None:
            self.server.shutdown()
        try:
            self.store.transaction(
                lambda conn: conn.execute(
                    daemons.update().where(daemons.c.id == self.id).values(stopped_at=dt.datetime.now(dt.UTC))
                )
            )
        except Exception:
            log.warning("could not record the stop in the state store")
        for pools in self.engines.values():
            dispose(pools)
        self.store.close()
        log.info("daemon stopped", extra={"event": "stopped", "daemon": self.id})

    def reload(self) -> bool:
        try:
            new = load_config(self.path)
        except ConfigError as exc:
            self.metrics.reloads.labels("rejected").inc()
            log.error(
                "config reload rejected; the previous config keeps running:\n%s",
                "\n".join(str(i) for i in exc.issues),
                extra={"event": "reload_rejected", "errors": [str(i) for i in exc.issues]},
            )
            return False
        except Exception as exc:  # unreadable file, ...
            self.metrics.reloads.labels("rejected").inc()
            log.error("config reload failed (%s); the previous config keeps running", exc)
            return False
        if new.state_url != self.cfg.state_url:
            log.warning("`state:` changed; it takes effect at the next restart")
        self._install(new)
        self.cfg = new
        with self.engines_lock:
            old, self.engines = self.engines, {}  # a changed URL or credential must take effect
        for pools in old.values():
            dispose(pools)
        self.metrics.reloads.labels("applied").inc()
        log.info("config reloaded", extra={"event": "reloaded", "datasets": len(new.datasets)})
        self.resettle = True  # the old config's objects are garbage now
        return True

    def _install(self, cfg: Config) -> None:
        d = cfg.main.daemon
        wanted = {f"dataset:{ds.name}": ds for ds in cfg.datasets}
        self.owners.update(names=[ds.name for ds in cfg.datasets])
        for job in self.scheduler.get_jobs():
            if job.id.startswith("dataset:") and job.id not in wanted:
                job.remove()
        for job_id, ds in wanted.items():
            self.scheduler.add_job(
                self.run_tick,
                trigger(ds.schedule, d.timezone, d.jitter, ds.name),
                args=[ds.name],
                id=job_id,
                name=ds.name,
                replace_existing=True,
            )

    def _catch_up(self) -> None:
        """Datasets whose latest tick was not completed (the daemon was down, or killed mid-run) run now."""
        now = dt.datetime.now(dt.UTC)
        for ds in self.cfg.datasets:
            tick = nominal_tick(ds.schedule, now, self.cfg.main.daemon.timezone, ds.name)
            if not self.store.tick_done(ds.name, tick):
                self.scheduler.add_job(
                    self.run_tick, args=[ds.name, True], id=f"catch-up:{ds.name}", replace_existing=True
                )

    def beat(self) -> None:
        now = dt.datetime.now(dt.UTC)
        try:

            def write(conn: sa.Connection) -> tuple[int, list[str]]:
                done = conn.execute(daemons.update().where(daemons.c.id == self.id).values(beat_at=now)).rowcount
                if not done:
                    conn.execute(
                        daemons.insert().values(
                            id=self.id, host=hostname(), pid=os.getpid(), started_at=self.started, beat_at=now
                        )
                    )
                open_count = conn.execute(
                    sa.select(sa.func.count()).select_from(incidents).where(incidents.c.open_fingerprint.is_not(None))
                ).scalar_one()
                return open_count, replicas.live_daemons(conn, now, self.cfg.main.daemon.heartbeat)

            open_count, live = self.store.transaction(write, attempts=2)
            self.metrics.open_incidents.set(open_count)
            self.owners.update(live=live)
            self.last_beat = now
        except Exception as exc:
            log.warning("heartbeat not written: %s", str(exc).splitlines()[0])
            return
        try:
            ladder.step(self.store, self.cfg, now)  # reminders and escalations due: outbox rows, sent just below
        except Exception as exc:  # the requests keep their place: the next beat takes the step
            log.warning("owner requests not advanced: %s", str(exc).splitlines()[0])
        self._dispatch()  # retries deliveries that failed, and rows a dead daemon had claimed
        self.drive_changes()  # change-sets: staged, verified, promoted beside the runs (sentinel/changesets.py)

    def drive_changes(self) -> None:
        """Take every step a change-set in flight can take now; claims keep replicas from taking one twice."""
        from sentinel import changesets

        try:
            if changesets.drive(self.cfg, self.store, f"daemon:{self.id}"):
                self._dispatch()  # the owner's yes/no question goes out now, not at the next beat
        except Exception as exc:  # each change-set keeps its place: the next pass takes the step
            log.warning("change-sets not advanced: %s", str(exc).splitlines()[0])

    # --- one run ---------------------------------------------------------------------------------------

    def _lock(self, name: str) -> threading.Lock:
        with self.locks_guard:
            return self.locks.setdefault(name, threading.Lock())

    def run_tick(self, name: str, adopt: bool = False, tick: dt.datetime | None = None) -> None:
        """One scheduled run of dataset `name` (`adopt`: whoever owns it; `tick`: a peer's tick taken over, else
        the current one); never raises (a job that raises only logs, but be explicit)."""
        try:
            self._run_tick(name, adopt, tick)
        except Exception:
            log.exception("run of %s failed", name, extra={"event": "run_crashed", "dataset": name})

    def _run_tick(self, name: str, adopt: bool, tick: dt.datetime | None = None) -> None:
        if self.stopping.is_set():
            return
        cfg = self.cfg
        ds = next((d for d in cfg.datasets if d.name == name), None)
        if ds is None:  # removed by a reload
            return
        now = dt.datetime.now(dt.UTC)
        current = nominal_tick(ds.schedule, now, cfg.main.daemon.timezone, name)
        if tick is not None and tick != current:
            # the peer's tick was still not run when the next one came due: its owner is gone (and not yet out
            # of the live set: a killed daemon stays in it for 3 heartbeats, which on a short schedule is
            # several ticks) or cannot keep up. The past tick is not run (a backlog is coalesced into the
            # latest, as the scheduler does); this daemon takes the current one, which its owner has as much
            # reason to miss. The lease and the tick's claim still keep it to one run.
            self.metrics.skipped.labels("superseded").inc()
        tick = current
        if not adopt and not self.owners.mine(name):  # its owner runs it now; checked when really late
            late = replicas.late_after(interval(ds, tick, cfg.main.daemon.timezone), cfg.main.daemon.jitter)
            self.deferred.note(name, tick, self.owners.owner(name), late)
            return
        lock = self._lock(name)
        if not lock.acquire(blocking=False):
            self.metrics.skipped.labels("running").inc()
            return
        try:
            # the lease and the tick's claim checked on one connection (store.lease_tick)
            with self.store.lease_tick(name, tick) as lease:
                if lease is Lease.HELD:  # DOWN: the store is down; measure anyway, the write will claim the tick
                    self.metrics.skipped.labels("leased").inc()
                    return
                if lease is Lease.DONE:
                    self.metrics.skipped.labels("done").inc()
                    return
                self.metrics.lag.observe((now - tick).total_seconds())
                report = self._measure(cfg, ds, tick)
                if report is not None:
                    self._save(report, tick)
        finally:
            lock.release()
        report = None  # garbage before the heap is frozen
        self._settle_if_alone()

    def _settle_if_alone(self) -> None:
        """`settle_heap` once the first run has finished (the drivers and check kinds it imported are alive for
        good) or after a reload (the old config is garbage), when no other job is running: a run
        frozen halfway would keep its reference cycles from the collector."""
        with self.in_flight_lock:
            if not self.resettle or self.in_flight > 1:  # this job is one
                return
            self.resettle = False
        settle_heap()

    def hand_over(self) -> None:
        """Peers' ticks really late, or late with their owner gone (replicas.py): the ones still not done run
        here, as many as there are free workers."""
        due = self.deferred.due(self.owners.alive)
        if not due or self.stopping.is_set():
            return
        try:
            with self.store.engine.connect() as conn:
                late = replicas.undone(conn, due)
        except sa_exc.DBAPIError as exc:  # the store is down: the owners' writes wait too; check the next ticks
            log.warning("peers' ticks not checked: %s", str(exc).splitlines()[0])
            return
        self.metrics.skipped.labels("peer").inc(len(due) - len(late))
        with self.in_flight_lock:
            free = self.cfg.main.daemon.workers - (self.in_flight - 1)  # this job holds one worker
        for name, tick in late[: max(free, 0)]:
            self.metrics.adopted.inc()
            self.scheduler.add_job(self.run_tick, args=[name, True, tick], id=f"adopt:{name}", replace_existing=True)

    def _count_jobs(self, event: Any) -> None:
        if event.job_id == "heartbeat":  # its own thread: not one of the workers
            return
        with self.in_flight_lock:
            self.in_flight += 1 if event.code == EVENT_JOB_SUBMITTED else -1

    def _measure(self, cfg: Config, ds: DatasetConfig, tick: dt.datetime) -> RunReport | None:
        d = cfg.main.daemon
        run_uid = hashlib.sha256(f"{ds.name}@{tick.isoformat()}".encode()).hexdigest()[:32]
        wait = d.retry_backoff.total_seconds()
        for attempt in range(d.source_retries + 1):
            with self.engines_lock:
                pools = self.engines.setdefault(ds.source, {})
            report = collect(cfg, self.store, ds, run_uid=run_uid, engines=pools)
            causes = {r.cause for r in report.results}
            if not report.results or any(r.status != "error" for r in report.results) or not causes <= RETRYABLE:
                return report
            self._forget(ds.source, pools)
            if attempt < d.source_retries:
                log.warning(
                    "%s: source unavailable (%s), retrying in %.0fs",
                    ds.name,
                    ", ".join(sorted(c or "?" for c in causes)),
                    wait,
                    extra={"event": "source_retry", "dataset": ds.name, "attempt": attempt + 1},
                )
                if self.stopping.wait(wait):
                    break
                wait *= 2
        return report

    def _forget(self, source: str, pools: dict[str, sa.Engine]) -> None:
        """A source that could not be reached: its kept connections are dropped, so the next attempt connects
        afresh. A pooled connection can outlive its server: a Spark Connect session whose server restarted
        fails every later statement on that session (seen: NO_ACTIVE_SESSION, run after run), as would any
        driver whose broken connection the pool cannot recognise. Connections in use by other runs finish
        their statements; they are closed when given back."""
        with self.engines_lock:
            if self.engines.get(source) is pools:
                del self.engines[source]
        dispose(pools)

    def _save(self, report: RunReport, tick: dt.datetime) -> None:
        d = self.cfg.main.daemon
        deadline = dt.datetime.now(dt.UTC) + d.store_retry_for
        wait = 1.0
        while True:
            try:
                save(self.store, report, self.cfg, tick, self.id)
                break
            except TickTaken:  # measured for nothing: another daemon wrote the tick (the lease should prevent it)
                self.metrics.skipped.labels("taken").inc()
                return
            except sa_exc.DBAPIError as exc:
                if not storefault.is_down(exc):  # it answered and refused: the same run would be refused again
                    self._refused(report, tick, exc)
                    return
                if dt.datetime.now(dt.UTC) >= deadline or self.stopping.is_set():
                    self._spool(report, tick, exc)
                    return
                log.warning("state store unavailable, retrying: %s", str(exc).splitlines()[0])
                self.stopping.wait(wait)
                wait = min(wait * 2, 30.0)
        self.refusing = None
        self._record(report)
        if self.spool_pending:  # the store took this run: it can take the spooled ones too
            self._replay_spool()
        if any(c.change in NOTIFY_ON for c in report.changes):
            self._dispatch()

    def _dispatch(self) -> None:
        try:
            dispatch(self.store, self.id, self.cfg.root, configured_channels(self.cfg))
            backlog = self.store.outbox_backlog()
            self.metrics.outbox_pending.set(backlog["pending"])
            self.metrics.outbox_failed.set(backlog["failed"])
        except Exception as exc:  # the outbox keeps the rows: the next dispatch sends them
            log.warning("notifications not dispatched: %s", str(exc).splitlines()[0])

    def _record(self, report: RunReport) -> None:
        m = self.metrics
        m.runs.labels(report.dataset, report.status).inc()
        m.seconds.observe((report.finished_at - report.started_at).total_seconds())
        for r in report.results:
            if r.status in ("fail", "warn"):
                m.failures.labels(report.dataset, r.check).inc()
            elif r.status == "error":
                m.errors.labels(report.dataset).inc()
        log.info(
            "%s: %s",
            report.dataset,
            report.status,
            extra={
                "event": "run",
                "dataset": report.dataset,
                "status": report.status,
                "run_uid": report.run_uid,
                "incidents": [c.to_json() for c in report.changes],
            },
        )

    # --- spool: runs the store could not take ---------------------------------------------------------

    @property
    def spool_dir(self) -> Path:
        return self.cfg.root / ".sentinel" / "spool"

    def _refused(self, report: RunReport, tick: dt.datetime, exc: Exception) -> None:
        """A write the store refused for a reason other than connectivity (storefault.py): reported as error
        results, written if the store takes those; counted; /healthz is 503 until a run is written whole."""
        what = storefault.describe(exc)
        self.refusing = f"{report.dataset}: {what}"
        self.metrics.refused.labels(report.dataset).inc()
        log.error(
            "state store refused run %s of %s (not retried, not spooled; its checks are reported as errors): %s",
            report.run_uid,
            report.dataset,
            what,
            extra={"event": "store_refused", "dataset": report.dataset, "run_uid": report.run_uid, "error": what},
        )
        storefault.refused(report, exc)
        try:
            save(self.store, report, self.cfg, tick, self.id)
        except TickTaken:
            return
        except sa_exc.DBAPIError as again:
            log.error(
                "state store refused the error results of %s too: %s",
                report.dataset,
                storefault.describe(again),
                extra={"event": "store_refused", "dataset": report.dataset, "run_uid": report.run_uid},
            )
            self.metrics.errors.labels(report.dataset).inc(len(report.results))
            return
        self._record(report)

    def _spool(self, report: RunReport, tick: dt.datetime, exc: Exception) -> None:
        spool.write(self.spool_dir, report, tick)
        with self.spool_lock:  # after any replay in progress has counted what it left
            self.spool_pending = True
        self.metrics.spooled.set(len(spool.waiting(self.spool_dir)))
        log.error(
            "state store unavailable; run %s of %s spooled: %s",
            report.run_uid,
            report.dataset,
            str(exc).splitlines()[0],
            extra={"event": "spooled", "dataset": report.dataset, "run_uid": report.run_uid},
        )

    def _set_aside(self, path: Path, why: str) -> None:
        try:
            moved: Path | str = spool.move_aside(path)
        except OSError as exc:
            moved = f"nowhere ({exc}); it is skipped"
        self.metrics.bad_spool.inc()
        log.error(
            "spool file %s is not a run this daemon can replay (%s); moved to %s",
            path.name,
            why,
            moved,
            extra={"event": "spool_set_aside", "file": str(path), "reason": why, "moved_to": str(moved)},
        )

    def _replay_spool(self) -> None:
        with self.spool_lock:  # one replayer at a time: workers finishing together must not write a file twice
            for path in spool.strays(self.spool_dir):
                self._set_aside(path, "not a JSON spool file; older pickle spools are never unpickled")
            for path in spool.waiting(self.spool_dir):
                try:
                    report, tick = spool.load(path)
                except spool.SpoolError as exc:
                    if path.exists():  # else a replica sharing this folder replayed it meanwhile
                        self._set_aside(path, str(exc))
                    continue
                try:
                    save(self.store, report, self.cfg, tick, self.id)
                    self._record(report)
                except TickTaken:
                    pass
                except sa_exc.DBAPIError as exc:
                    if storefault.is_down(exc):
                        return  # still down: try again after the next run
                    self._set_aside(path, f"the state store refused it: {storefault.describe(exc)}")
                    continue
                path.unlink(missing_ok=True)  # a replica on this host may have replayed it too (its tick was taken)
            left = len(spool.waiting(self.spool_dir))
            self.spool_pending = left > 0
            self.metrics.spooled.set(left)

    # --- HTTP --------------------------------------------------------------------------------------------

    def health(self) -> tuple[int, dict[str, Any]]:
        beat_ok = (
            self.last_beat is not None
            and dt.datetime.now(dt.UTC) - self.last_beat <= 3 * self.cfg.main.daemon.heartbeat
        )
        ok = self.scheduler.running and not self.stopping.is_set() and beat_ok and self.refusing is None
        body = {
            "status": "ok" if ok else "unhealthy",
            "daemon": self.id,
            "scheduler_running": self.scheduler.running,
            "stopping": self.stopping.is_set(),
            "last_heartbeat": self.last_beat.isoformat() if self.last_beat else None,
            "datasets": len(self.cfg.datasets),
            "store_refusing": self.refusing,
        }
        return (200 if ok else 503), body

    def _serve(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        daemon = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                if self.path == "/healthz":
                    code, body = daemon.health()
                    payload, ctype = json.dumps(body).encode(), "application/json"
                elif self.path == "/metrics":
                    code, payload, ctype = 200, generate_latest(daemon.metrics.registry), "text/plain; version=0.0.4"
                else:
                    code, payload, ctype = 404, b"not found\n", "text/plain"
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:  # quiet: the daemon's log is for runs
                pass

        self.server = BoundedHTTPServer((host or "127.0.0.1", int(port)), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True, name="http").start()
        log.info("serving /healthz and /metrics on %s", address, extra={"event": "http", "address": address})


def settle_heap() -> None:
    """Collect, then freeze what is alive (modules, config, scheduler): Python's full collections walk every
    tracked object, and a run's own objects set them off every few runs. Frozen, a collection walks only
    what came after. Unfrozen first, so what was frozen before and is garbage now is collected. Measured
    warm on the 10M-row DuckDB suite of bench/speed.py: the collector's time 14.6 ms -> 4.4 ms a run (0.3 s)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def dispose(pools: dict[str, sa.Engine]) -> None:
    for engine in pools.values():
        try:
            engine.dispose()
        except Exception as exc:  # a driver that fails to close a dead connection: nothing is left to release
            log.debug("engine not disposed cleanly: %s", exc)


def interval(ds: DatasetConfig, tick: dt.datetime, tz: str) -> dt.timedelta:
    """The time from `tick` to the dataset's next tick (a cron schedule's gaps differ)."""
    schedule = ds.schedule or HOURLY
    if schedule.every is not None:
        return schedule.every
    following = trigger(schedule, tz).get_next_fire_time(tick, tick + dt.timedelta(microseconds=1))
    return following - tick


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's structured `extra` fields."""

    PLAIN = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update({k: v for k, v in record.__dict__.items() if k not in self.PLAIN})
        if record.exc_info or record.exc_text:
            doc["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    """One line a record for a terminal or journal: a message built from data (a label, a key) shows its
    control characters as escapes instead of writing them (tracebacks keep their own lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - the stdlib's name
        from sentinel.terminal import visible

        return visible(super().formatMessage(record))


def configure_logging(fmt: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactFilter())  # no value taken from the environment reaches a log line
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
