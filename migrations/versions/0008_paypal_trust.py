"""PayPal trust: webhook transmissions seen, events waiting for PayPal, refund rows keyed by refund id.

Revision ID: 0008_paypal_trust
Revises: 0007_billing

* `bot_paypal_transmissions` binds each `PAYPAL-TRANSMISSION-ID` to the SHA-256 of the body it came
  with. PayPal signs only `id|time|webhook id|CRC32(body)`, and CRC32 can be forged, so a genuine
  delivery's headers replayed with another body of the same CRC32 would still verify; the primary
  key makes such a replay visible (and refused) for as long as the transmission time is accepted.
* `bot_paypal_events.waits` counts the times an event waited because PayPal could not be asked for
  its own copy of the resource; those do not count as attempts, so an outage never makes an event
  dead.
* Refund and reversal rows the bot wrote before this revision carried the top-up's order id in
  `provider_transaction_id`; the panel finishes a capture by reading the first row with the order
  id, so they get their refund id instead (kept in their metadata, with the order id beside it).
  Only rows the bot wrote (`metadata.kind` refund/reversal with a `refund_id`) are touched.
"""

from __future__ import annotations

from alembic import op

revision: str = "0008_paypal_trust"
down_revision: str | None = "0007_billing"
branch_labels: str | None = None
depends_on: str | None = None

_STATEMENTS = (
    """
    CREATE TABLE bot_paypal_transmissions (
        transmission_id VARCHAR(128) NOT NULL,
        body_sha256 BYTEA NOT NULL,
        event_id VARCHAR(128) NOT NULL,
        transmission_time TIMESTAMPTZ NOT NULL,
        received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        CONSTRAINT bot_paypal_transmissions_pkey PRIMARY KEY (transmission_id)
    )
    """,
    "CREATE INDEX idx_bot_paypal_transmissions_received_at ON bot_paypal_transmissions (received_at)",
    "ALTER TABLE bot_paypal_events ADD COLUMN waits INTEGER NOT NULL DEFAULT 0",
    """
    UPDATE payment_transactions
    SET provider_transaction_id = metadata->>'refund_id',
        metadata = metadata || jsonb_build_object('order_id', provider_transaction_id)
    WHERE payment_method = 'paypal' AND amount < 0
      AND metadata->>'kind' IN ('refund', 'reversal') AND metadata->>'refund_id' IS NOT NULL
      AND provider_transaction_id IS DISTINCT FROM metadata->>'refund_id'
    """,
)


def upgrade() -> None:
    """Bot tables, one column on a bot table, and the bot's own refund rows re-keyed."""
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop the transmissions table and the waits column; refund rows keep their refund ids."""
    op.execute("ALTER TABLE bot_paypal_events DROP COLUMN IF EXISTS waits")
    op.execute("DROP TABLE IF EXISTS bot_paypal_transmissions")
