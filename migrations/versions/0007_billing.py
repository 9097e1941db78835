"""Hourly billing: unpaid hours, arrears episodes, billing runs, and the scheduler's job slots.

Revision ID: 0007_billing
Revises: 0006_vps

Bot tables only. The panel's `vps_billing_cycles` stays as the panel defines it (no unique key:
adopted data may hold duplicates); exactly-once per (server, hour) comes from the primary key of
`bot_ledger_keys` (`vps:<server id>:hour:<index>`) and, for unpaid hours, of `bot_billing_failures`.
"""

from __future__ import annotations

from alembic import op

revision: str = "0007_billing"
down_revision: str | None = "0006_vps"
branch_labels: str | None = None
depends_on: str | None = None

_STATEMENTS = (
    """
    CREATE TABLE bot_billing_failures (
        vps_instance_id UUID NOT NULL,
        hour_index BIGINT NOT NULL,
        organization_id UUID NOT NULL,
        cycle_id UUID NOT NULL,
        period_start TIMESTAMPTZ NOT NULL,
        amount NUMERIC(10, 2) NOT NULL,
        first_failed_at TIMESTAMPTZ NOT NULL,
        collected_at TIMESTAMPTZ,
        payment_transaction_id UUID,
        CONSTRAINT bot_billing_failures_pkey PRIMARY KEY (vps_instance_id, hour_index),
        CONSTRAINT bot_billing_failures_vps_instance_id_fkey FOREIGN KEY (vps_instance_id)
            REFERENCES vps_instances (id) ON DELETE CASCADE,
        CONSTRAINT bot_billing_failures_organization_id_fkey FOREIGN KEY (organization_id)
            REFERENCES organizations (id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX idx_bot_billing_failures_open ON bot_billing_failures (organization_id) WHERE collected_at IS NULL",
    """
    CREATE TABLE bot_billing_arrears (
        organization_id UUID NOT NULL,
        since TIMESTAMPTZ NOT NULL,
        notice_day INTEGER NOT NULL DEFAULT -1,
        CONSTRAINT bot_billing_arrears_pkey PRIMARY KEY (organization_id),
        CONSTRAINT bot_billing_arrears_organization_id_fkey FOREIGN KEY (organization_id)
            REFERENCES organizations (id) ON DELETE CASCADE
    )
    """,
    """
    CREATE TABLE bot_billing_runs (
        id BIGSERIAL,
        run_at TIMESTAMPTZ NOT NULL,
        source VARCHAR(32) NOT NULL,
        hours_charged INTEGER NOT NULL DEFAULT 0,
        amount_charged NUMERIC(14, 2) NOT NULL DEFAULT 0,
        hours_failed INTEGER NOT NULL DEFAULT 0,
        organizations INTEGER NOT NULL DEFAULT 0,
        started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        finished_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT bot_billing_runs_pkey PRIMARY KEY (id)
    )
    """,
    "CREATE INDEX idx_bot_billing_runs_finished_at ON bot_billing_runs (finished_at)",
    """
    CREATE TABLE bot_job_runs (
        job VARCHAR(64) NOT NULL,
        slot TIMESTAMPTZ NOT NULL,
        status VARCHAR(16) NOT NULL DEFAULT 'claimed',
        covers_from TIMESTAMPTZ,
        claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        finished_at TIMESTAMPTZ,
        detail JSONB NOT NULL DEFAULT '{}'::jsonb,
        CONSTRAINT bot_job_runs_pkey PRIMARY KEY (job, slot),
        CONSTRAINT bot_job_runs_status_check CHECK (status IN ('claimed', 'done'))
    )
    """,
)


def upgrade() -> None:
    """Bot tables for billing state and scheduler slots (the panel's tables are untouched)."""
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop the billing tables (unpaid-hour bookkeeping and run history are lost; money rows stay)."""
    for table in ("bot_job_runs", "bot_billing_runs", "bot_billing_arrears", "bot_billing_failures"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
