"""Change-sets (what a correction writes, row by row, with provenance and the inverse) and the audit log.

- `changesets`: one per planned correction of an incident, with its place in the state machine
  planned -> staged -> verified -> awaiting_approval -> promoted -> checked, or rejected | failed |
  rolled_back. `open_incident` holds the incident id while the change-set is in flight (NULL once it is
  terminal): unique, so an incident never has two change-sets in flight. `version` is bumped by every
  transition and `claimed_by/claimed_at` name the process doing a step (taken over when stale), so two
  daemons never take the same step.
- `changeset_rows`: (key, field, old, new, provenance) with exact values as JSON (decimal strings,
  integers, doubles, text), and per row what the target held when staged and when promoted.
- `audit`: every gateway decision, allowed or refused, and every write it made; `seq` is the chain
  position and `hash = sha256(prev_hash + canonical record)`, so `sentinel audit --verify` finds the first
  row that was changed, inserted or deleted. A primary key on `seq` makes two concurrent appenders collide
  (and retry) instead of forking the chain.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "changesets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, nullable=False),
        sa.Column("open_incident", sa.Integer, unique=True),  # = incident_id while in flight
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("check_name", sa.Text, nullable=False),
        sa.Column("playbook", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),  # the source written (config `sources:` name)
        sa.Column("object", sa.Text, nullable=False),  # table / worksheet / sObject
        sa.Column("key_column", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("promote", sa.Text, nullable=False),  # approval | auto
        sa.Column("planner", sa.Text, nullable=False),
        sa.Column("plan_hash", sa.Text, nullable=False),  # sha256 of the rows: an approval is bound to it
        sa.Column("planned_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claimed_at", TS),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("staging", sa.JSON),  # the target's handle on the staged change (view, branch, copy id)
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
    op.create_index("ix_changesets_state", "changesets", ["state", "updated_at"])
    op.create_index("ix_changesets_incident", "changesets", ["incident_id"])
    op.create_table(
        "changeset_rows",
        sa.Column("changeset_id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("old", sa.JSON),
        sa.Column("new", sa.JSON),
        sa.Column("provenance", sa.JSON, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="planned"),  # planned|staged|promoted|rolled_back
    )
    op.create_table(
        "audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),  # planner:rules | daemon:<id> | cli:<user> | gateway
        sa.Column("action", sa.Text, nullable=False),  # plan | stage | verify | approve | reject | promote | ...
        sa.Column("decision", sa.Text, nullable=False),  # allowed | refused | done | failed | conflict
        sa.Column("changeset_id", sa.Integer),
        sa.Column("incident_id", sa.Integer),
        sa.Column("detail", sa.JSON),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_changeset", "audit", ["changeset_id"])
    op.create_index("ix_audit_incident", "audit", ["incident_id", "action"])


def downgrade() -> None:
    op.drop_index("ix_audit_incident", "audit")
    op.drop_index("ix_audit_changeset", "audit")
    op.drop_table("audit")
    op.drop_table("changeset_rows")
    op.drop_index("ix_changesets_incident", "changesets")
    op.drop_index("ix_changesets_state", "changesets")
    op.drop_table("changesets")
