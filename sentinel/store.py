"""The state store: runs, results, metric history, incidents and their events, accepted schemas, and the
per-key value snapshots of `magnitude`'s `history_by`.

Any SQLAlchemy URL: a SQLite file by default, PostgreSQL in production. The schema is versioned with
Alembic and upgraded automatically on open (a cheap version probe first, so a normal run never imports
Alembic). Every run is written in one transaction, retried on lock and unique-key conflicts, so two
processes writing at once neither corrupt the store nor lose a write, and a crash leaves no half-written run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import json
import random
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from sentinel.results import JsonText, SnapshotUpdate

HEAD = "0006"  # latest migration id; tests/test_store.py keeps it equal to Alembic's head

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_uid", sa.String),
    sa.Column("dataset", sa.String),
    sa.Column("started_at", TS),
    sa.Column("finished_at", TS),
    sa.Column("status", sa.String),
    sa.Column("host", sa.String),
)
results = sa.Table(
    "results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer),
    sa.Column("dataset", sa.String),
    sa.Column("check_name", sa.String),
    sa.Column("kind", sa.String),
    sa.Column("status", sa.String),
    sa.Column("severity", sa.String),
    sa.Column("observed", sa.JSON),
    sa.Column("expected", sa.JSON),
    sa.Column("evidence", sa.JSON),
    sa.Column("diagnosis", sa.JSON),
)
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer),
    sa.Column("dataset", sa.String),
    sa.Column("check_name", sa.String),
    sa.Column("metric", sa.String),
    sa.Column("value", sa.Float),
    sa.Column("measured_at", TS),
)
incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String),
    sa.Column("fingerprint", sa.String),
    sa.Column("open_fingerprint", sa.String),
    sa.Column("dataset", sa.String),
    sa.Column("check_name", sa.String),
    sa.Column("kind", sa.String),
    sa.Column("cause", sa.String),
    sa.Column("severity", sa.String),
    sa.Column("state", sa.String),
    sa.Column("opened_at", TS),
    sa.Column("updated_at", TS),
    sa.Column("resolved_at", TS),
    sa.Column("occurrences", sa.Integer),
    sa.Column("last_run_id", sa.Integer),
    sa.Column("summary", sa.Text),
    sa.Column("last_result", sa.JSON),
    sa.Column("previous_id", sa.Integer),
    sa.Column("resolution", sa.Text),
)
incident_events = sa.Table(
    "incident_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer),
    sa.Column("at", TS),
    sa.Column("event", sa.String),
    sa.Column("run_id", sa.Integer),
    sa.Column("detail", sa.JSON),
)
schema_snapshots = sa.Table(
    "schema_snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dataset", sa.String),
    sa.Column("columns", sa.JSON),
    sa.Column("accepted_at", TS),
    sa.Column("reason", sa.String),
)
value_snapshots = sa.Table(
    "value_snapshots",
    metadata,
    sa.Column("dataset", sa.String, primary_key=True),
    sa.Column("check_name", sa.String, primary_key=True),
    sa.Column("key_hash", sa.String, primary_key=True),  # key_hash(key): an index entry holds no data value
    sa.Column("key", sa.String),
    sa.Column("bucket", sa.Integer),
    sa.Column("value", sa.Float),
    sa.Column("taken_at", TS),
)
snapshot_buckets = sa.Table(
    "snapshot_buckets",
    metadata,
    sa.Column("dataset", sa.String, primary_key=True),
    sa.Column("check_name", sa.String, primary_key=True),
    sa.Column("bucket", sa.Integer, primary_key=True),
    sa.Column("buckets", sa.Integer),
    sa.Column("digest", sa.String),
)
ticks = sa.Table(
    "ticks",
    metadata,
    sa.Column("dataset", sa.String, primary_key=True),
    sa.Column("tick", TS, primary_key=True),
    sa.Column("run_uid", sa.String),
    sa.Column("host", sa.String),
    sa.Column("done_at", TS),
)
daemons = sa.Table(
    "daemons",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("host", sa.String),
    sa.Column("pid", sa.Integer),
    sa.Column("started_at", TS),
    sa.Column("beat_at", TS),
    sa.Column("stopped_at", TS),
)
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String),
    sa.Column("incident_id", sa.Integer),
    sa.Column("channel", sa.String),
    sa.Column("payload", sa.JSON),
    sa.Column("created_at", TS),
    sa.Column("state", sa.String),
    sa.Column("attempts", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("claimed_by", sa.String),
    sa.Column("claimed_at", TS),
    sa.Column("sent_at", TS),
    sa.Column("next_attempt_at", TS),  # a transient failure waits until then (backoff)
    sa.Column("request_id", sa.Integer),
)
owner_requests = sa.Table(  # "requests" would shadow the HTTP library's name wherever both are imported
    "requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.Text),
    sa.Column("dataset", sa.Text),
    sa.Column("owner", sa.Text),
    sa.Column("state", sa.Text),
    sa.Column("lead_incident_id", sa.Integer),
    sa.Column("opened_at", TS),
    sa.Column("updated_at", TS),
    sa.Column("notified_at", TS),
    sa.Column("reminders", sa.Integer),
    sa.Column("last_reminded_at", TS),
    sa.Column("next_reminder_at", TS),
    sa.Column("escalated_at", TS),
    sa.Column("escalated_to", sa.Text),
    sa.Column("acked_at", TS),
    sa.Column("ack_note", sa.Text),
    sa.Column("snoozed_until", TS),
    sa.Column("resolved_at", TS),
    sa.Column("resolution", sa.Text),
    sa.Column("reopened", sa.Integer),
    sa.Column("version", sa.Integer),
    sa.Column("recipients", sa.JSON),
)
request_incidents = sa.Table(
    "request_incidents",
    metadata,
    sa.Column("request_id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer, primary_key=True),
    sa.Column("added_at", TS),
)
changesets = sa.Table(
    "changesets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("incident_id", sa.Integer),
    sa.Column("open_incident", sa.Integer),
    sa.Column("dataset", sa.Text),
    sa.Column("check_name", sa.Text),
    sa.Column("playbook", sa.Text),
    sa.Column("target", sa.Text),
    sa.Column("object", sa.Text),
    sa.Column("key_column", sa.Text),
    sa.Column("state", sa.Text),
    sa.Column("promote", sa.Text),
    sa.Column("planner", sa.Text),
    sa.Column("plan_hash", sa.Text),
    sa.Column("planned_at", TS),
    sa.Column("updated_at", TS),
    sa.Column("version", sa.Integer),
    sa.Column("claimed_by", sa.Text),
    sa.Column("claimed_at", TS),
    sa.Column("attempts", sa.Integer),
    sa.Column("staging", sa.JSON),
    sa.Column("verification", sa.JSON),
    sa.Column("approved_by", sa.Text),
    sa.Column("approved_at", TS),
    sa.Column("promoted_at", TS),
    sa.Column("checked_at", TS),
    sa.Column("rolled_back_at", TS),
    sa.Column("note", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("request_id", sa.Integer),
)
changeset_rows = sa.Table(
    "changeset_rows",
    metadata,
    sa.Column("changeset_id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("key", sa.Text),
    sa.Column("field", sa.Text),
    sa.Column("old", sa.JSON),
    sa.Column("new", sa.JSON),
    sa.Column("provenance", sa.JSON),
    sa.Column("state", sa.Text),
)
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", TS),
    sa.Column("actor", sa.Text),
    sa.Column("action", sa.Text),
    sa.Column("decision", sa.Text),
    sa.Column("changeset_id", sa.Integer),
    sa.Column("incident_id", sa.Integer),
    sa.Column("detail", sa.JSON),
    sa.Column("prev_hash", sa.Text),
    sa.Column("hash", sa.Text),
)
retention_marks = sa.Table(
    "retention_marks",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("upto", sa.Integer),
    sa.Column("at", TS),
)

T = TypeVar("T")


class Lease(enum.Enum):
    """What `Store.lease_tick` found: the lease is this process's (MINE), another's (HELD), this process's but
    the tick is already written (DONE), or the store did not answer (DOWN)."""

    MINE = "mine"
    HELD = "held"
    DONE = "done"
    DOWN = "down"


def _done(dataset: str, tick: dt.datetime) -> sa.Select:
    return sa.select(ticks.c.run_uid).where(ticks.c.dataset == dataset, ticks.c.tick == tick)


class StoreError(Exception):
    pass


class TickTaken(Exception):
    """Another daemon already completed this dataset's run for this schedule tick."""


def claim_tick(conn: sa.Connection, dataset: str, tick: dt.datetime, run_uid: str, by: str | None = None) -> None:
    """Record the tick as done, inside the run's transaction: the run and its claim commit or vanish together.
    Two replicas racing past the check collide on the primary key; the retry then sees the claim."""
    done = conn.execute(sa.select(ticks.c.run_uid).where(ticks.c.dataset == dataset, ticks.c.tick == tick)).first()
    if done is not None:
        raise TickTaken(f"{dataset} at {tick.isoformat()} was run by {done.run_uid}")
    conn.execute(
        ticks.insert().values(
            dataset=dataset, tick=tick, run_uid=run_uid, host=by or hostname(), done_at=dt.datetime.now(dt.UTC)
        )
    )


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything Sentinel stores is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def dumps(value: Any) -> str:
    """JSON columns' text: `json.dumps`, with a JsonText written as it is, alone or as a value of a top-level
    document (a result's evidence is encoded once for its results row and its incident). The same text
    json.dumps gives the decoded document, byte for byte."""
    if type(value) is JsonText:
        return str(value)
    if type(value) is dict and any(type(v) is JsonText for v in value.values()) and all(type(k) is str for k in value):
        return (
            "{"
            + ", ".join(f"{json.dumps(k)}: {v if type(v) is JsonText else json.dumps(v)}" for k, v in value.items())
            + "}"
        )
    return json.dumps(value)


def writes_text(conn: sa.Connection) -> bool:
    """Whether `conn` writes a JsonText as it is (a Store's engine, created with `dumps`); another engine's
    json.dumps would quote it as a string, so its callers pass the document instead."""
    return getattr(conn.dialect, "_json_serializer", None) is dumps


def _sqlite_engine(url: sa.URL) -> sa.Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30}, json_serializer=dumps)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # take transactions into our hands (pysqlite defers BEGIN)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # writers queue on the database lock up front instead of failing mid-transaction
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Store:
    def __init__(self, url: str):
        self.url = sa.make_url(url)
        if self.url.get_backend_name() == "sqlite":
            self.engine = _sqlite_engine(self.url)
        else:
            self.engine = sa.create_engine(self.url, pool_pre_ping=True, json_serializer=dumps)
        self.migrate()

    # --- schema ----------------------------------------------------------------------------------------

    def version(self) -> str | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        except sa_exc.DBAPIError:
            return None

    def migrate(self) -> None:
        """Upgrade to HEAD if needed; concurrent starters serialise on a lock and only one migrates."""
        if self.version() == HEAD:
            return
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(727001)"))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    # --- transactions ----------------------------------------------------------------------------------

    def transaction(self, fn: Callable[[sa.Connection], T], attempts: int = 8) -> T:
        """Run fn in one transaction; retry the whole of it on lock, serialisation and unique conflicts, with
        random exponential back-off (up to 50 ms before the first retry, doubling to 2 s). tenacity is imported
        only once an attempt has failed (most runs never retry; a fresh `sentinel run` pays for each import)."""

        def attempt() -> T:
            with self.engine.begin() as conn:
                return fn(conn)

        conflicts = (sa_exc.OperationalError, sa_exc.IntegrityError)
        try:
            return attempt()
        except conflicts:
            if attempts <= 1:
                raise
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

        time.sleep(random.uniform(0, 0.05))  # two writers that just collided do not retry at the same instant
        retrying = Retrying(
            retry=retry_if_exception_type(conflicts),
            stop=stop_after_attempt(attempts - 1),
            wait=wait_random_exponential(multiplier=0.1, max=2),  # the later waits: 0.1, 0.2, 0.4 s ... (at most)
            reraise=True,
        )
        return retrying(attempt)

    @contextlib.contextmanager
    def lease(self, name: str) -> Iterator[bool | None]:
        """Whether this process may run `name` now. On PostgreSQL a session advisory lock, held until the block
        ends, so two daemons never measure one dataset at once (it dies with the session, so a killed daemon
        frees it). Elsewhere always True: a SQLite store serves one host, where the scheduler's
        max_instances=1 already holds. None: the store cannot be reached to ask; the caller may measure
        anyway, since the write claims its tick and a second write of the same tick is refused."""
        with self.lease_tick(name, None) as got:
            yield {Lease.MINE: True, Lease.HELD: False, Lease.DOWN: None}[got]

    @contextlib.contextmanager
    def lease_tick(self, name: str, tick: dt.datetime | None) -> Iterator[Lease]:
        """`lease(name)`, and whether `tick` is done, asked on the lease's own connection right after the lock
        is taken: one pool checkout instead of two, no transaction round trips (autocommit), and no race, since
        the check's snapshot is taken after the lock (a run that wrote the tick and let the lock go is seen).
        DONE holds the lock only until the block ends, which should end at once."""
        if self.engine.dialect.name != "postgresql":
            yield Lease.DONE if tick is not None and self.tick_done(name, tick) else Lease.MINE
            return
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except sa_exc.DBAPIError:
            yield Lease.DOWN
            return
        got = False
        # keyed by schema and name: deployments sharing a database in separate schemas do not block each other
        key = "hashtextextended(current_schema() || '/sentinel/' || :name, 0)"
        try:
            try:
                got = bool(conn.execute(sa.text(f"SELECT pg_try_advisory_lock({key})"), {"name": name}).scalar())
                done = got and tick is not None and conn.execute(_done(name, tick)).first() is not None
            except sa_exc.DBAPIError:  # lost between connecting and asking: as down (the claim decides)
                got = False
                state = Lease.DOWN
            else:
                state = Lease.HELD if not got else Lease.DONE if done else Lease.MINE
            yield state
        finally:
            try:
                if got:
                    conn.execute(sa.text(f"SELECT pg_advisory_unlock({key})"), {"name": name})
                conn.close()
            except Exception:
                conn.invalidate()  # never hand a connection that may still hold the lock back to the pool

    def tick_done(self, dataset: str, tick: dt.datetime) -> bool:
        """Whether the tick was completed; False when the store cannot say (the write's claim decides then)."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(_done(dataset, tick)).first() is not None
        except sa_exc.DBAPIError:
            return False

    # --- reads -----------------------------------------------------------------------------------------

    def accepted_schema(self, dataset: str) -> dict[str, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(schema_snapshots.c.columns)
                .where(schema_snapshots.c.dataset == dataset)
                .order_by(schema_snapshots.c.id.desc())
                .limit(1)
            ).first()
        return dict(row[0]) if row else None

    def flagged_buckets(self, dataset: str, limit: int = 500) -> dict[str, set[str]]:
        """Buckets earlier `volume` results flagged, per check: known incidents stay out of baselines."""
        stmt = (
            sa.select(results.c.check_name, results.c.evidence)
            .where(results.c.dataset == dataset, results.c.kind == "volume", results.c.status.in_(("fail", "warn")))
            .order_by(results.c.id.desc())
            .limit(limit)
        )
        out: dict[str, set[str]] = {}
        with self.engine.connect() as conn:
            for check, evidence in conn.execute(stmt):
                for b in (evidence or {}).get("buckets", []):
                    out.setdefault(f"flagged_buckets:{check}", set()).add(b["bucket"])
        return out

    def metric_history(self, dataset: str, check: str, names: tuple[str, ...], limit: int = 60) -> dict[str, list]:
        """The latest `limit` values of each metric of one check, oldest first."""
        out: dict[str, list] = {}
        with self.engine.connect() as conn:
            for name in names:
                rows = conn.execute(
                    sa.select(metrics.c.value)
                    .where(metrics.c.dataset == dataset, metrics.c.check_name == check, metrics.c.metric == name)
                    .order_by(metrics.c.run_id.desc(), metrics.c.id.desc())
                    .limit(limit)
                ).scalars()
                out[name] = list(reversed(list(rows)))
        return out

    def last_shares(self, dataset: str, check: str) -> dict[str, float] | None:
        """Category shares the latest run of a `subschema` check recorded (metrics `share:<value>`)."""
        with self.engine.connect() as conn:
            last = conn.execute(
                sa.select(sa.func.max(metrics.c.run_id)).where(
                    metrics.c.dataset == dataset, metrics.c.check_name == check, metrics.c.metric.like("share:%")
                )
            ).scalar()
            if last is None:
                return None
            rows = conn.execute(
                sa.select(metrics.c.metric, metrics.c.value).where(
                    metrics.c.dataset == dataset,
                    metrics.c.check_name == check,
                    metrics.c.run_id == last,
                    metrics.c.metric.like("share:%"),
                )
            )
            return {m.removeprefix("share:"): float(v) for m, v in rows}

    def snapshots(self, dataset: str, check: str) -> SnapshotReader:
        return SnapshotReader(self, dataset, check)

    def snapshot_digests(self, dataset: str, check: str) -> tuple[int | None, dict[int, str | None]]:
        """How many hash buckets a `history_by` snapshot uses, and each bucket's digest as of its last run."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(snapshot_buckets.c.bucket, snapshot_buckets.c.buckets, snapshot_buckets.c.digest).where(
                    snapshot_buckets.c.dataset == dataset, snapshot_buckets.c.check_name == check
                )
            ).all()
        return (rows[0].buckets if rows else None), {r.bucket: r.digest for r in rows}

    def snapshot_values(self, dataset: str, check: str, buckets: list[int]) -> dict[str, float]:
        """The last accepted value of every key in the given buckets."""
        out: dict[str, float] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(buckets), 500):
                stmt = sa.select(value_snapshots.c.key, value_snapshots.c.value).where(
                    value_snapshots.c.dataset == dataset,
                    value_snapshots.c.check_name == check,
                    value_snapshots.c.bucket.in_(buckets[i : i + 500]),
                )
                out.update((k, v) for k, v in conn.execute(stmt))
        return out

    def list_incidents(self, state: str | None = "open") -> list[dict[str, Any]]:
        """state: 'open' (anything not closed), 'closed', or None for all."""
        stmt = sa.select(incidents).order_by(incidents.c.id)
        if state == "open":
            stmt = stmt.where(incidents.c.open_fingerprint.is_not(None))
        elif state == "closed":
            stmt = stmt.where(incidents.c.open_fingerprint.is_(None))
        with self.engine.connect() as conn:
            return [_incident_dict(r) for r in conn.execute(stmt)]

    def get_incident(self, incident_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).first()
            if row is None:
                return None
            out = _incident_dict(row)
            events = conn.execute(
                sa.select(incident_events)
                .where(incident_events.c.incident_id == incident_id)
                .order_by(incident_events.c.id)
            )
            out["events"] = [
                {"at": utc(e.at).isoformat(), "event": e.event, "run_id": e.run_id, "detail": e.detail} for e in events
            ]
        return out

    def size(self) -> int | None:
        """Bytes the store takes on disk: the SQLite file with its WAL, or on PostgreSQL the total relation size
        (tables, indexes, TOAST) of Sentinel's tables in the current schema; None where neither applies."""
        if self.url.get_backend_name() == "sqlite":
            if not self.url.database or self.url.database == ":memory:":
                return None
            files = [Path(self.url.database + suffix) for suffix in ("", "-wal")]
            return sum(f.stat().st_size for f in files if f.exists())
        if self.engine.dialect.name != "postgresql":
            return None
        stmt = sa.text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname IN :names"
        ).bindparams(sa.bindparam("names", expanding=True))
        with self.engine.connect() as conn:
            return int(conn.execute(stmt, {"names": [*metadata.tables, "alembic_version"]}).scalar())

    def outbox_backlog(self) -> dict[str, int]:
        """Notifications not delivered yet: pending (to be retried) and failed (out of attempts)."""
        stmt = (
            sa.select(outbox.c.state, sa.func.count())
            .where(outbox.c.state.in_(("pending", "failed")))
            .group_by(outbox.c.state)
        )
        with self.engine.connect() as conn:
            return {"pending": 0, "failed": 0, **dict(conn.execute(stmt).all())}

    def count(self, table: sa.Table, *where: sa.ColumnElement) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar())

    def close(self) -> None:
        self.engine.dispose()


@dataclass(frozen=True)
class SnapshotReader:
    """One check's `history_by` snapshot, read lazily: only the buckets that changed are ever loaded."""

    store: Store
    dataset: str
    check: str

    def digests(self) -> tuple[int | None, dict[int, str | None]]:
        return self.store.snapshot_digests(self.dataset, self.check)

    def values(self, buckets: list[int]) -> dict[str, float]:
        return self.store.snapshot_values(self.dataset, self.check, buckets)


def write_snapshot(conn: sa.Connection, dataset: str, check: str, update: SnapshotUpdate, at: dt.datetime) -> None:
    """Replace the updated buckets of one check's snapshot (inside the run's transaction)."""
    mine = sa.and_(value_snapshots.c.dataset == dataset, value_snapshots.c.check_name == check)
    theirs = sa.and_(snapshot_buckets.c.dataset == dataset, snapshot_buckets.c.check_name == check)
    replaced = sorted(update.digests)
    if update.reset:
        conn.execute(value_snapshots.delete().where(mine))
        conn.execute(snapshot_buckets.delete().where(theirs))
    else:
        for i in range(0, len(replaced), 500):
            part = replaced[i : i + 500]
            conn.execute(value_snapshots.delete().where(mine, value_snapshots.c.bucket.in_(part)))
            conn.execute(snapshot_buckets.delete().where(theirs, snapshot_buckets.c.bucket.in_(part)))
    for i in range(0, len(update.values), 5000):
        conn.execute(
            value_snapshots.insert(),
            [
                {
                    "dataset": dataset,
                    "check_name": check,
                    "key_hash": key_hash(k),
                    "key": k,
                    "bucket": b,
                    "value": v,
                    "taken_at": at,
                }
                for k, b, v in update.values[i : i + 5000]
            ],
        )
    kept = [(b, d) for b, d in update.digests.items() if d != ""]
    if kept:
        conn.execute(
            snapshot_buckets.insert(),
            [
                {"dataset": dataset, "check_name": check, "bucket": b, "buckets": update.buckets, "digest": d}
                for b, d in kept
            ],
        )


def key_hash(key: str) -> str:
    """What indexes `value_snapshots` instead of the key itself, which can be any length (the migration 0004
    computes the same)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _incident_dict(r: sa.Row) -> dict[str, Any]:
    return {
        "id": r.id,
        "key": r.key,
        "dataset": r.dataset,
        "check": r.check_name,
        "kind": r.kind,
        "cause": r.cause,
        "severity": r.severity,
        "state": r.state,
        "opened_at": utc(r.opened_at).isoformat(),
        "updated_at": utc(r.updated_at).isoformat(),
        "resolved_at": utc(r.resolved_at).isoformat() if r.resolved_at else None,
        "occurrences": r.occurrences,
        "summary": r.summary,
        "last_result": r.last_result,
        "previous_id": r.previous_id,
        "resolution": r.resolution,
    }


def hostname() -> str:
    return socket.gethostname()
