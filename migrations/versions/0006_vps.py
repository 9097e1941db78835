"""VPS lifecycle: the durable job table that retries Linode work (rDNS, power-off) outside requests.

Revision ID: 0006_vps
Revises: 0005_tickets
"""

from __future__ import annotations

from alembic import op

revision: str = "0006_vps"
down_revision: str | None = "0005_tickets"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Bot table only: vps_instances and the panel's billing tables are used as the panel defines them."""
    op.execute(
        """
        CREATE TABLE bot_jobs (
            id BIGSERIAL,
            kind VARCHAR(32) NOT NULL,
            payload JSONB NOT NULL DEFAULT '{}'::jsonb,
            dedupe_key VARCHAR(255),
            status VARCHAR(16) NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL DEFAULT 8,
            next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            locked_until TIMESTAMPTZ,
            last_error TEXT,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            finished_at TIMESTAMPTZ,
            CONSTRAINT bot_jobs_pkey PRIMARY KEY (id),
            CONSTRAINT bot_jobs_dedupe_key_key UNIQUE (dedupe_key),
            CONSTRAINT bot_jobs_status_check CHECK (status IN ('pending', 'running', 'done', 'dead'))
        )
        """
    )
    op.execute("CREATE INDEX idx_bot_jobs_due ON bot_jobs (next_attempt_at) WHERE status IN ('pending', 'running')")
    op.execute("CREATE INDEX idx_bot_jobs_dead ON bot_jobs (created_at) WHERE status = 'dead'")


def downgrade() -> None:
    """Drop the job table (pending jobs are lost)."""
    op.execute("DROP TABLE IF EXISTS bot_jobs")
