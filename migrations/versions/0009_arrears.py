"""Arrears: unpaid hours outlive their server, so deleting a server never erases a debt.

Revision ID: 0009_arrears
Revises: 0007_billing

`bot_billing_failures` loses its cascading foreign key to `vps_instances` (a server row is removed
after its final charge, as the panel removes it; the hours it owed stay on record) and gains the
server's `label`, so an hour owed by a server that is gone can still be described in the ledger.
Bot table only; the panel's tables are untouched.
"""

from __future__ import annotations

from alembic import op

revision: str = "0009_arrears"
down_revision: str | None = "0008_paypal_trust"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Drop the cascade from unpaid hours to their server and remember the server's label."""
    op.execute("ALTER TABLE bot_billing_failures DROP CONSTRAINT bot_billing_failures_vps_instance_id_fkey")
    op.execute("ALTER TABLE bot_billing_failures ADD COLUMN label VARCHAR(255)")
    op.execute("UPDATE bot_billing_failures f SET label = v.label FROM vps_instances v WHERE v.id = f.vps_instance_id")


def downgrade() -> None:
    """Restore the cascade (rows of servers already removed are dropped: they cannot reference them)."""
    op.execute("DELETE FROM bot_billing_failures f WHERE NOT EXISTS (SELECT 1 FROM vps_instances v "
               "WHERE v.id = f.vps_instance_id)")  # fmt: skip
    op.execute("ALTER TABLE bot_billing_failures DROP COLUMN label")
    op.execute(
        "ALTER TABLE bot_billing_failures ADD CONSTRAINT bot_billing_failures_vps_instance_id_fkey "
        "FOREIGN KEY (vps_instance_id) REFERENCES vps_instances (id) ON DELETE CASCADE"
    )
