"""PayPal webhook inbox and the ledger keys that make every capture and refund move money once.

Revision ID: 0004_payments
Revises: 0003_identity_orgs
"""

from __future__ import annotations

from alembic import op

revision: str = "0004_payments"
down_revision: str | None = "0003_identity_orgs"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Bot tables only: payment_transactions itself is untouched (the panel keeps writing it)."""
    op.execute(
        """
        CREATE TABLE bot_paypal_events (
            event_id VARCHAR(128) NOT NULL,
            event_type VARCHAR(100) NOT NULL,
            resource_id VARCHAR(128),
            raw_body BYTEA NOT NULL,
            headers JSONB NOT NULL,
            deliveries INTEGER NOT NULL DEFAULT 1,
            received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            status VARCHAR(16) NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            locked_until TIMESTAMPTZ,
            outcome TEXT,
            last_error TEXT,
            processed_at TIMESTAMPTZ,
            CONSTRAINT bot_paypal_events_pkey PRIMARY KEY (event_id),
            CONSTRAINT bot_paypal_events_status_check
                CHECK (status IN ('pending', 'processing', 'processed', 'failed', 'dead'))
        )
        """
    )
    op.execute(
        "CREATE INDEX idx_bot_paypal_events_due ON bot_paypal_events (next_attempt_at) "
        "WHERE status IN ('pending', 'processing', 'failed')"
    )
    op.execute("CREATE INDEX idx_bot_paypal_events_received_at ON bot_paypal_events (received_at)")
    op.execute(
        """
        CREATE TABLE bot_ledger_keys (
            key VARCHAR(200) NOT NULL,
            organization_id UUID NOT NULL,
            payment_transaction_id UUID,
            amount NUMERIC(10, 2) NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CONSTRAINT bot_ledger_keys_pkey PRIMARY KEY (key),
            CONSTRAINT bot_ledger_keys_organization_id_fkey FOREIGN KEY (organization_id)
                REFERENCES organizations (id) ON DELETE CASCADE,
            CONSTRAINT bot_ledger_keys_payment_transaction_id_fkey FOREIGN KEY (payment_transaction_id)
                REFERENCES payment_transactions (id) ON DELETE SET NULL
        )
        """
    )
    op.execute("CREATE INDEX idx_bot_ledger_keys_payment_transaction_id ON bot_ledger_keys (payment_transaction_id)")


def downgrade() -> None:
    """Drop the inbox and the ledger keys."""
    op.execute("DROP TABLE IF EXISTS bot_ledger_keys, bot_paypal_events")
