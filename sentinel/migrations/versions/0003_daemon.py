"""The daemon's schedule ticks (one completed run per dataset and tick, across replicas) and heartbeats.

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


def downgrade() -> None:
    op.drop_table("daemons")
    op.drop_table("ticks")
