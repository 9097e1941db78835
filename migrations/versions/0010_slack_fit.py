"""Slack fit: an outbox message Slack refused for its blocks is sent as plain text, and the row says why.

Revision ID: 0010_slack_fit
Revises: 0009_arrears

`bot_outbox` gains `plain_fallback`: Slack's error (`invalid_blocks`, `msg_too_long`, …) when the
message's blocks were dropped and its words sent as plain text instead of the row going dead.
Bot table only; the panel's tables are untouched.
"""

from __future__ import annotations

from alembic import op

revision: str = "0010_slack_fit"
down_revision: str | None = "0009_arrears"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the column that records why a message went out as plain text."""
    op.execute("ALTER TABLE bot_outbox ADD COLUMN plain_fallback TEXT")


def downgrade() -> None:
    """Drop it (the plain payloads stay as they were delivered)."""
    op.execute("ALTER TABLE bot_outbox DROP COLUMN plain_fallback")
