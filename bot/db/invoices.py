"""SQL for the panel's `billing_invoices` and the ledger rows an invoice is made of.

The transactions an invoice lists are read the way the panel reads them for invoices
(`PayPalService.getWalletTransactions`): completed rows of the organisation, newest first
(`created_at DESC, id DESC`). Invoice numbers are the panel's (`INV-<epoch ms>`, `INV-TXN-<epoch ms>`
for one transaction); the bot takes a transaction-scoped advisory lock and moves past a number
already taken, so two invoices made at the same millisecond never share one.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

#: `hashtext('billing_invoices.number')`-style key, fixed so every replica takes the same lock.
NUMBER_LOCK = 0x1B17_1A7C


@dataclass(frozen=True)
class LedgerRow:
    id: uuid.UUID
    amount: Decimal
    currency: str | None
    description: str | None
    status: str
    created_at: datetime


@dataclass(frozen=True)
class InvoiceRow:
    id: uuid.UUID
    organization_id: uuid.UUID
    invoice_number: str
    total_amount: Decimal
    currency: str
    created_at: datetime
    html_content: str | None = None
    data: dict[str, Any] | None = None


_LEDGER = "id, amount, currency, description, coalesce(status, 'pending') AS status, created_at"
_LATEST = text(
    f"SELECT {_LEDGER} FROM payment_transactions WHERE organization_id = :org AND status = 'completed' "
    "ORDER BY created_at DESC, id DESC LIMIT :limit"
)
_IN_PERIOD = text(
    f"SELECT {_LEDGER} FROM payment_transactions WHERE organization_id = :org AND status = 'completed' "
    "AND created_at >= :start AND created_at < :end ORDER BY created_at DESC, id DESC LIMIT :limit"
)
_CHOSEN = text(
    f"SELECT {_LEDGER} FROM payment_transactions WHERE organization_id = :org AND id = ANY(CAST(:ids AS uuid[])) "
    "ORDER BY created_at DESC, id DESC"
)
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_TAKEN = text("SELECT invoice_number FROM billing_invoices WHERE invoice_number LIKE :prefix || '%'")
_INSERT = text(
    """
    INSERT INTO billing_invoices (organization_id, invoice_number, html_content, data, total_amount, currency)
    VALUES (:org, :number, :html, CAST(:data AS jsonb), :total, :currency)
    RETURNING id, created_at
    """
)
_COLUMNS = "id, organization_id, invoice_number, total_amount, currency, created_at"
_LIST = text(
    f"SELECT {_COLUMNS} FROM billing_invoices WHERE organization_id = :org ORDER BY created_at DESC LIMIT :limit"
)
_ONE = text(f"SELECT {_COLUMNS}, html_content, data FROM billing_invoices WHERE id = :id AND organization_id = :org")


def _ledger(rows: Any) -> list[LedgerRow]:
    return [LedgerRow(r.id, Decimal(r.amount), r.currency, r.description, r.status, r.created_at) for r in rows]


async def latest_completed(conn: AsyncConnection, organization_id: uuid.UUID, limit: int) -> list[LedgerRow]:
    return _ledger((await conn.execute(_LATEST, {"org": organization_id, "limit": limit})).all())


async def completed_between(
    conn: AsyncConnection, organization_id: uuid.UUID, start: datetime, end: datetime, limit: int
) -> list[LedgerRow]:
    params = {"org": organization_id, "start": start, "end": end, "limit": limit}
    return _ledger((await conn.execute(_IN_PERIOD, params)).all())


async def chosen(conn: AsyncConnection, organization_id: uuid.UUID, ids: list[uuid.UUID]) -> list[LedgerRow]:
    """The organisation's own rows among ``ids`` (any status, as the panel's one-transaction invoice)."""
    return _ledger((await conn.execute(_CHOSEN, {"org": organization_id, "ids": [str(i) for i in ids]})).all())


async def free_number(conn: AsyncConnection, prefix: str, epoch_ms: int) -> int:
    """The first millisecond at or after ``epoch_ms`` whose ``prefix<ms>`` no invoice carries yet.
    Holds a transaction-scoped advisory lock until the caller's transaction ends."""
    await conn.execute(_LOCK, {"key": NUMBER_LOCK})
    taken = {r.invoice_number for r in (await conn.execute(_TAKEN, {"prefix": prefix})).all()}
    while f"{prefix}{epoch_ms}" in taken:
        epoch_ms += 1
    return epoch_ms


async def insert(
    conn: AsyncConnection,
    organization_id: uuid.UUID,
    *,
    number: str,
    html: str,
    data: dict[str, Any],
    total: Decimal,
    currency: str,
) -> tuple[uuid.UUID, datetime]:
    params = {"org": organization_id, "number": number, "html": html, "data": json.dumps(data),
              "total": total, "currency": currency}  # fmt: skip
    row = (await conn.execute(_INSERT, params)).one()
    return row.id, row.created_at


async def listing(conn: AsyncConnection, organization_id: uuid.UUID, limit: int) -> list[InvoiceRow]:
    rows = (await conn.execute(_LIST, {"org": organization_id, "limit": limit})).all()
    return [InvoiceRow(r.id, r.organization_id, r.invoice_number, Decimal(r.total_amount), r.currency, r.created_at)
            for r in rows]  # fmt: skip


async def one(conn: AsyncConnection, organization_id: uuid.UUID, invoice_id: uuid.UUID) -> InvoiceRow | None:
    r = (await conn.execute(_ONE, {"id": invoice_id, "org": organization_id})).first()
    if r is None:
        return None
    data = r.data if isinstance(r.data, dict) else json.loads(r.data or "{}")
    return InvoiceRow(r.id, r.organization_id, r.invoice_number, Decimal(r.total_amount), r.currency, r.created_at,
                      r.html_content, data)  # fmt: skip
