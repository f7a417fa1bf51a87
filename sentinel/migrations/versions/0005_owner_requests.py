"""Owner requests (one per problem: incidents of a dataset whose flagged keys overlap) and outbox backoff.

- `requests`: one row per problem sent to an owner, with its place on the reminder ladder
  (notified -> reminded -> escalated -> resolved), acknowledgement and snooze; `version` is bumped by every
  step so two daemons cannot both take the same step (a conditional UPDATE on the version they read).
- `request_incidents`: which incidents make up a request (an incident belongs to one request).
- `outbox.next_attempt_at`: a transient delivery failure is retried after a growing delay, not at once;
  `outbox.request_id` ties a message to the request it belongs to.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text, nullable=False),  # the lead incident's key when the request was opened
        sa.Column("dataset", sa.Text, nullable=False),
        sa.Column("owner", sa.Text),  # owner name in config.yaml; NULL: notify.default
        sa.Column("state", sa.Text, nullable=False),  # notified | reminded | escalated | resolved
        sa.Column("lead_incident_id", sa.Integer),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("notified_at", TS),
        sa.Column("reminders", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_reminded_at", TS),
        sa.Column("next_reminder_at", TS),
        sa.Column("escalated_at", TS),
        sa.Column("escalated_to", sa.Text),
        sa.Column("acked_at", TS),
        sa.Column("ack_note", sa.Text),
        sa.Column("snoozed_until", TS),
        sa.Column("resolved_at", TS),
        sa.Column("resolution", sa.Text),
        sa.Column("reopened", sa.Integer, nullable=False, server_default="0"),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("recipients", sa.JSON),  # every channel URL that got a message of this request
    )
    op.create_index("ix_requests_state", "requests", ["state", "next_reminder_at"])
    op.create_index("ix_requests_dataset", "requests", ["dataset", "state"])
    op.create_table(
        "request_incidents",
        sa.Column("request_id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, primary_key=True),
        sa.Column("added_at", TS, nullable=False),
    )
    op.create_index("ix_request_incidents_incident", "request_incidents", ["incident_id"], unique=True)
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("next_attempt_at", TS))
        batch.add_column(sa.Column("request_id", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("request_id")
        batch.drop_column("next_attempt_at")
    op.drop_index("ix_request_incidents_incident", "request_incidents")
    op.drop_table("request_incidents")
    op.drop_index("ix_requests_dataset", "requests")
    op.drop_index("ix_requests_state", "requests")
    op.drop_table("requests")
