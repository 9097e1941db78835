"""The panel's books: `billing_invoices` (shared with the panel) and file uploads in the outbox.

Revision ID: 0012_panel_books
Revises: 0009_arrears

`billing_invoices` is not in the panel's migrations: the panel's `InvoiceService` creates it at run
time, with `CREATE TABLE IF NOT EXISTS`, the first time it lists or stores an invoice. The bot
creates the same table (same columns, types, defaults, foreign key and indexes) the same way, so
whichever side comes first, the other finds what it expects and changes nothing; the panel lists
and downloads invoices the bot makes. The downgrade leaves the table: it may be the panel's, and it
holds invoices customers were given.

`bot_outbox` (the bot's own table) may now carry `upload` rows: a file (a chart, an invoice) shared
with files.uploadV2, delivered in order with the channel's other messages.
"""

from __future__ import annotations

from alembic import op

revision: str = "0012_panel_books"
down_revision: str | None = "0010_slack_fit"
branch_labels: str | None = None
depends_on: str | None = None

#: The panel's definition (api/services/invoiceService.ts, ensureInvoiceTable), statement by statement.
INVOICE_TABLE = (
    """
    CREATE TABLE IF NOT EXISTS billing_invoices (
        id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
        organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        invoice_number TEXT NOT NULL,
        html_content TEXT NOT NULL,
        data JSONB NOT NULL DEFAULT '{}',
        total_amount DECIMAL(10,2) NOT NULL DEFAULT 0.00,
        currency TEXT NOT NULL DEFAULT 'USD',
        created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
    )
    """,
    "CREATE INDEX IF NOT EXISTS idx_billing_invoices_org ON billing_invoices(organization_id)",
    "CREATE INDEX IF NOT EXISTS idx_billing_invoices_created_at ON billing_invoices(created_at)",
)


def upgrade() -> None:
    """Create the panel's invoice table if missing; let the outbox carry file uploads."""
    for statement in INVOICE_TABLE:
        op.execute(statement)
    op.execute("ALTER TABLE bot_outbox DROP CONSTRAINT bot_outbox_kind_check")
    op.execute(
        "ALTER TABLE bot_outbox ADD CONSTRAINT bot_outbox_kind_check "
        "CHECK (kind IN ('post', 'update', 'ephemeral', 'upload'))"
    )


def downgrade() -> None:
    """Uploads not yet delivered are dropped; `billing_invoices` stays (see above)."""
    op.execute("DELETE FROM bot_outbox WHERE kind = 'upload'")
    op.execute("ALTER TABLE bot_outbox DROP CONSTRAINT bot_outbox_kind_check")
    op.execute(
        "ALTER TABLE bot_outbox ADD CONSTRAINT bot_outbox_kind_check CHECK (kind IN ('post', 'update', 'ephemeral'))"
    )
