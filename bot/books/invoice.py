"""What an invoice contains, computed the way the panel's `InvoiceService` computes it.

Read from ContainerStacks' `api/services/invoiceService.ts` and `api/routes/invoices.ts`; our own
code. One item per ledger row (quantity 1, unit price = amount = the signed row amount, a debit is
negative), subtotal = the sum of the amounts, no tax, total = subtotal; the currency of the first
row that names one (upper-cased), else USD; title "Billing Statement"; status "issued". Descriptions
fall back as the panel's two readers do: a NULL becomes "Wallet adjustment" when the rows come from
the wallet listing, and an empty one "Wallet transaction". The description line names the oldest
and newest row (as JavaScript prints a date: `Date.toString()` for the listing, ISO for one
transaction). Amounts stay Decimal here; the stored JSON carries them as numbers like the panel's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.db.invoices import LedgerRow

TITLE = "Billing Statement"
STATUS = "issued"
COMPANY = "ContainerStacks"


@dataclass(frozen=True)
class Item:
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Invoice:
    number: str
    organization_id: uuid.UUID
    items: tuple[Item, ...]
    currency: str
    description: str
    created_at: datetime
    epoch_ms: int

    @property
    def subtotal(self) -> Decimal:
        return sum((item.amount for item in self.items), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return Decimal("0.00")  # the panel charges no tax on wallet statements

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    def data(self) -> dict[str, Any]:
        """The `data` column: the panel stores its invoice object as JSON (numbers, an ISO date)."""
        return {
            "id": f"inv-{self.epoch_ms}",
            "invoiceNumber": self.number,
            "organizationId": str(self.organization_id),
            "title": TITLE,
            "description": self.description,
            "items": [_item(i) for i in self.items],
            "subtotal": _number(self.subtotal),
            "tax": _number(self.tax),
            "total": _number(self.total),
            "currency": self.currency,
            "createdAt": js_iso(self.created_at),
            "status": STATUS,
        }


def _item(item: Item) -> dict[str, Any]:
    return {"description": item.description, "quantity": item.quantity, "unitPrice": _number(item.unit_price),
            "amount": _number(item.amount)}  # fmt: skip


def _number(value: Decimal) -> int | float:
    """A JSON number with the value's exact cents (the panel's JavaScript numbers, without float noise)."""
    return int(value) if value == value.to_integral_value() else float(value)


def js_iso(moment: datetime) -> str:
    """`Date.prototype.toISOString()`: UTC, milliseconds, a `Z`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def js_date_string(moment: datetime) -> str:
    """`Date.prototype.toString()` on a server running in UTC, as a template literal prints a Date."""
    return moment.astimezone(UTC).strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")


def statement(organization_id: uuid.UUID, rows: list[LedgerRow], number: str, now: datetime, epoch_ms: int) -> Invoice:
    """From the wallet listing (newest first): the panel's `POST /api/invoices/from-transactions`."""
    return _invoice(organization_id, rows, number, now, epoch_ms, null_description="Wallet adjustment",
                    when=js_date_string)  # fmt: skip


def single(organization_id: uuid.UUID, row: LedgerRow, number: str, now: datetime, epoch_ms: int) -> Invoice:
    """One transaction: the panel's `POST /api/invoices/from-transaction/:id` (`INV-TXN-…`)."""
    return _invoice(organization_id, [row], number, now, epoch_ms, null_description="Wallet transaction", when=js_iso)


def _invoice(
    organization_id: uuid.UUID, rows: list[LedgerRow], number: str, now: datetime, epoch_ms: int, *,
    null_description: str, when: Any,
) -> Invoice:  # fmt: skip
    items = tuple(
        Item(
            description=(null_description if row.description is None else row.description) or "Wallet transaction",
            quantity=1,
            unit_price=row.amount,
            amount=row.amount,
        )
        for row in rows
    )
    currency = next((r.currency.strip() for r in rows if r.currency and r.currency.strip()), "USD").upper()
    oldest = when(rows[-1].created_at) if rows else "unknown"
    newest = when(rows[0].created_at) if rows else "unknown"
    return Invoice(
        number=number,
        organization_id=organization_id,
        items=items,
        currency=currency,
        description=f"Payment transactions from {oldest} to {newest}",
        created_at=now,
        epoch_ms=epoch_ms,
    )
