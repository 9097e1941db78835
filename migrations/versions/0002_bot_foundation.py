"""Bot-owned tables: the durable Slack outbox, its per-channel pacing and Events API dedupe.

Revision ID: 0002_bot_foundation
Revises: 0001_panel_baseline
"""

from __future__ import annotations

from alembic import op

revision: str = "0002_bot_foundation"
down_revision: str | None = "0001_panel_baseline"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the outbox, pacing and event-dedupe tables (additive: no panel table changes)."""
    op.execute(
        """
        CREATE TABLE bot_outbox (
            id BIGSERIAL,
            channel VARCHAR(64) NOT NULL,
            kind VARCHAR(16) NOT NULL DEFAULT 'post',
            payload JSONB NOT NULL,
            dedupe_key VARCHAR(255),
            status VARCHAR(16) NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            locked_until TIMESTAMPTZ,
            last_error TEXT,
            result JSONB,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            delivered_at TIMESTAMPTZ,
            CONSTRAINT bot_outbox_pkey PRIMARY KEY (id),
            CONSTRAINT bot_outbox_dedupe_key_key UNIQUE (dedupe_key),
            CONSTRAINT bot_outbox_kind_check CHECK (kind IN ('post', 'update', 'ephemeral')),
            CONSTRAINT bot_outbox_status_check CHECK (status IN ('pending', 'sending', 'delivered', 'dead'))
        )
        """
    )
    op.execute(
        "CREATE INDEX idx_bot_outbox_channel_queue ON bot_outbox (channel, id) WHERE status IN ('pending', 'sending')"
    )
    op.execute("CREATE INDEX idx_bot_outbox_dead ON bot_outbox (created_at) WHERE status = 'dead'")
    op.execute(
        """
        CREATE TABLE bot_outbox_pace (
            channel VARCHAR(64) NOT NULL,
            next_at TIMESTAMPTZ NOT NULL,
            CONSTRAINT bot_outbox_pace_pkey PRIMARY KEY (channel)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE bot_slack_events (
            event_id VARCHAR(64) NOT NULL,
            event_type VARCHAR(64),
            received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT bot_slack_events_pkey PRIMARY KEY (event_id)
        )
        """
    )
    op.execute("CREATE INDEX idx_bot_slack_events_received_at ON bot_slack_events (received_at)")


def downgrade() -> None:
    """Drop the bot's tables (panel tables are untouched)."""
    op.execute("DROP TABLE IF EXISTS bot_slack_events, bot_outbox_pace, bot_outbox")
