"""No value from the data can fail a store write, and old rows can be pruned (sentinel.retention).

- PostgreSQL: every VARCHAR(n) becomes TEXT. `metrics.metric` holds `share:<category label>` and
  `value_snapshots.key` a `history_by` key, both straight from the data; names, hosts and run ids are
  lengthened too (a dataset name over 31 characters overflowed `runs.run_uid`). SQLite never enforced n.
- Indexes never hold a value from the data: a B-tree entry is limited to ~2.7 KB on PostgreSQL, so
  `value_snapshots` is keyed by a digest of the key (the key itself stays readable next to it), and the metric
  series index becomes (dataset, check_name, run_id), which serves the same reads.
- The foreign keys to `runs` are dropped (PostgreSQL enforced them; SQLite never did): retention deletes runs
  after 90 days while metric history, incidents and their events keep the run id as a plain number.
- Indexes for retention's batches and for the volume check's read of earlier flagged buckets, and
  `retention_marks`: how far retention has looked through a table whose old rows are partly kept forever.

Revision ID: 0004
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

TS = sa.DateTime(timezone=True)
_TEXT_COLUMNS = {  # table -> columns declared VARCHAR(n) by 0001-0003
    "runs": ["run_uid", "dataset", "status", "host"],
    "results": ["dataset", "check_name", "kind", "status", "severity"],
    "metrics": ["dataset", "check_name", "metric"],
    "incidents": [
        "key",
        "fingerprint",
        "open_fingerprint",
        "dataset",
        "check_name",
        "kind",
        "cause",
        "severity",
        "state",
    ],
    "incident_events": ["event"],
    "schema_snapshots": ["dataset", "reason"],
    "value_snapshots": ["dataset", "check_name", "key"],
    "snapshot_buckets": ["dataset", "check_name", "digest"],
    "ticks": ["dataset", "run_uid", "host"],
    "daemons": ["id", "host"],
    "outbox": ["key", "channel", "state", "claimed_by"],
}


def key_hash(key: str) -> str:
    """The indexed stand-in for a `history_by` key (sentinel.store.key_hash computes the same)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    if pg:
        inspector = sa.inspect(bind)
        for table in ("results", "metrics", "incidents", "incident_events"):
            for fk in inspector.get_foreign_keys(table):
                if fk["referred_table"] == "runs" and fk.get("name"):
                    op.drop_constraint(fk["name"], table, type_="foreignkey")
        for table, columns in _TEXT_COLUMNS.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.Text)

    op.drop_index("ix_metrics_series", "metrics")
    op.create_index("ix_metrics_check_run", "metrics", ["dataset", "check_name", "run_id"])

    # value_snapshots: keyed by (dataset, check_name, key_hash); the key stays as a plain column
    op.add_column("value_snapshots", sa.Column("key_hash", sa.String(32)))
    if pg:
        op.execute("UPDATE value_snapshots SET key_hash = left(encode(sha256(convert_to(key, 'UTF8')), 'hex'), 32)")
        op.execute("ALTER TABLE value_snapshots DROP CONSTRAINT IF EXISTS value_snapshots_pkey")
        op.alter_column("value_snapshots", "key_hash", nullable=False)
        op.create_primary_key("value_snapshots_pkey", "value_snapshots", ["dataset", "check_name", "key_hash"])
    else:
        bind.connection.driver_connection.create_function("sentinel_key_hash", 1, key_hash, deterministic=True)
        op.execute("UPDATE value_snapshots SET key_hash = sentinel_key_hash(key)")
        op.drop_index("ix_value_snapshots_bucket", "value_snapshots")
        op.rename_table("value_snapshots", "value_snapshots_0003")
        op.create_table(
            "value_snapshots",
            sa.Column("dataset", sa.Text, primary_key=True),
            sa.Column("check_name", sa.Text, primary_key=True),
            sa.Column("key_hash", sa.String(32), primary_key=True),
            sa.Column("key", sa.Text, nullable=False),
            sa.Column("bucket", sa.Integer, nullable=False),
            sa.Column("value", sa.Float, nullable=False),
            sa.Column("taken_at", TS, nullable=False),
        )
        op.execute(
            "INSERT INTO value_snapshots (dataset, check_name, key_hash, key, bucket, value, taken_at) "
            "SELECT dataset, check_name, key_hash, key, bucket, value, taken_at FROM value_snapshots_0003"
        )
        op.drop_table("value_snapshots_0003")
        op.create_index("ix_value_snapshots_bucket", "value_snapshots", ["dataset", "check_name", "bucket"])

    op.create_index("ix_runs_started", "runs", ["started_at"])
    op.create_index("ix_ticks_tick", "ticks", ["tick"])
    op.create_index("ix_events_at", "incident_events", ["at"])
    op.create_index("ix_results_flagged", "results", ["dataset", "kind", "status", "run_id"])
    op.create_table(
        "retention_marks",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("upto", sa.Integer, nullable=False),  # rows with a lower id were pruned or are kept on purpose
        sa.Column("at", TS, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("0004 widens columns and drops foreign keys; restore a backup to go back")
