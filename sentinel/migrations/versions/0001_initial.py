"""Runs, results, metric history, incidents and their events, accepted schema snapshots.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_uid", sa.String(64), nullable=False, unique=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("host", sa.String(200)),
    )
    op.create_index("ix_runs_dataset_started", "runs", ["dataset", "started_at"])
    op.create_table(
        "results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("check_name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("observed", sa.JSON),
        sa.Column("expected", sa.JSON),
        sa.Column("evidence", sa.JSON),
        sa.Column("diagnosis", sa.JSON),
    )
    op.create_index("ix_results_run", "results", ["run_id"])
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("check_name", sa.String(300), nullable=False),
        sa.Column("metric", sa.String(100), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("measured_at", TS, nullable=False),
    )
    op.create_index("ix_metrics_series", "metrics", ["dataset", "check_name", "metric", "measured_at"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        # equals fingerprint while the incident is open, NULL after: the unique index makes "one open
        # incident per fingerprint" a database guarantee, even with two writers.
        sa.Column("open_fingerprint", sa.String(64), unique=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("check_name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("cause", sa.String(50), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("resolved_at", TS),
        sa.Column("occurrences", sa.Integer, nullable=False, server_default="1"),
        sa.Column("last_run_id", sa.Integer, sa.ForeignKey("runs.id")),
        sa.Column("summary", sa.Text),
        sa.Column("last_result", sa.JSON),
        sa.Column("previous_id", sa.Integer),
        sa.Column("resolution", sa.Text),
    )
    op.create_index("ix_incidents_fingerprint", "incidents", ["fingerprint"])
    op.create_index("ix_incidents_dataset_state", "incidents", ["dataset", "state"])
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
        sa.Column("detail", sa.JSON),
    )
    op.create_index("ix_events_incident", "incident_events", ["incident_id"])
    op.create_table(
        "schema_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("accepted_at", TS, nullable=False),
        sa.Column("reason", sa.String(200)),
    )
    op.create_index("ix_schema_dataset", "schema_snapshots", ["dataset", "id"])
