"""Per-key snapshots of monitored values (magnitude `history_by`) and the digests of their hash buckets.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "value_snapshots",
        sa.Column("dataset", sa.String(200), primary_key=True),
        sa.Column("check_name", sa.String(300), primary_key=True),
        sa.Column("key", sa.String(500), primary_key=True),
        sa.Column("bucket", sa.Integer, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_value_snapshots_bucket", "value_snapshots", ["dataset", "check_name", "bucket"])
    op.create_table(
        "snapshot_buckets",
        sa.Column("dataset", sa.String(200), primary_key=True),
        sa.Column("check_name", sa.String(300), primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True),
        sa.Column("buckets", sa.Integer, nullable=False),  # how many buckets the keys were hashed into
        sa.Column("digest", sa.String(100)),  # NULL: fetch this bucket again next run (it holds a flagged key)
    )


def downgrade() -> None:
    op.drop_table("snapshot_buckets")
    op.drop_index("ix_value_snapshots_bucket", "value_snapshots")
    op.drop_table("value_snapshots")
