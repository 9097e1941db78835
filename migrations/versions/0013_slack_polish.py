"""Slack polish: reactions through the outbox, and when the bot saw each ticket status.

Revision ID: 0013_slack_polish
Revises: 0012_panel_books

`bot_outbox.kind` gains `reaction` (a ✓ on a thread message once it is stored as a ticket reply,
delivered like every other Slack call: durably, in order, retried). `bot_ticket_threads` gains
`status_seen_at`, when the bot noted the ticket's status in that thread: a customer reply written
after the bot saw the ticket `resolved` reopens it. Bot tables only; the panel's are untouched.
"""

from __future__ import annotations

from alembic import op

revision: str = "0013_slack_polish"
down_revision: str | None = "0012_panel_books"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Allow reaction rows in the outbox; remember when each thread saw its ticket's status."""
    op.execute("ALTER TABLE bot_outbox DROP CONSTRAINT bot_outbox_kind_check")
    op.execute(
        "ALTER TABLE bot_outbox ADD CONSTRAINT bot_outbox_kind_check "
        "CHECK (kind IN ('post', 'update', 'ephemeral', 'upload', 'reaction'))"
    )
    op.execute("ALTER TABLE bot_ticket_threads ADD COLUMN status_seen_at TIMESTAMPTZ NOT NULL DEFAULT now()")


def downgrade() -> None:
    """Drop the column and the reaction kind (queued reactions are dropped: a ✓ is not worth a failure)."""
    op.execute("ALTER TABLE bot_ticket_threads DROP COLUMN status_seen_at")
    op.execute("DELETE FROM bot_outbox WHERE kind = 'reaction'")
    op.execute("ALTER TABLE bot_outbox DROP CONSTRAINT bot_outbox_kind_check")
    op.execute(
        "ALTER TABLE bot_outbox ADD CONSTRAINT bot_outbox_kind_check "
        "CHECK (kind IN ('post', 'update', 'ephemeral', 'upload'))"
    )
