"""The daemon's schedule ticks (one completed run per dataset and tick, across replicas), heartbeats, and the
notification outbox (written in the transaction of the incident change it reports).

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ticks",
        sa.Column("dataset", sa.String(200), primary_key=True),
        sa.Column("tick", TS, primary_key=True),  # the nominal schedule time, the same on every replica
        sa.Column("run_uid", sa.String(64), nullable=False),
        sa.Column("host", sa.String(200)),
        sa.Column("done_at", TS, nullable=False),
    )
    op.create_table(
        "daemons",
        sa.Column("id", sa.String(100), primary_key=True),  # host:pid:start
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("beat_at", TS, nullable=False),
        sa.Column("stopped_at", TS),
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),  # idempotency key
        sa.Column("incident_id", sa.Integer),
        sa.Column("channel", sa.String(500), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),  # pending | sent | failed | unsupported
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("claimed_at", TS),
        sa.Column("sent_at", TS),
    )
    op.create_index("ix_outbox_state", "outbox", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_state", "outbox")
    op.drop_table("outbox")
    op.drop_table("daemons")
    op.drop_table("ticks")
