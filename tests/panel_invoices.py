"""A model of the panel's invoices, to check the bot's against (like `tests/panel_biller.py`).

Written from reading ContainerStacks' `api/services/invoiceService.ts`, `api/routes/invoices.ts`
and `PayPalService.getWalletTransactions`; nothing is copied. It computes the way JavaScript does:
amounts are IEEE doubles (`parseFloat`), summed left to right, printed with `toFixed(2)`, and dates
print as `Date.toString()` on a server in UTC (the statement's description) or `toISOString()`.

* `POST /api/invoices/from-transactions`: the organisation's completed rows, newest first
  (`created_at DESC, id DESC`), at most 50; number `INV-<Date.now()>`.
* `POST /api/invoices/from-transaction/:id`: that one row (any status); number `INV-TXN-<Date.now()>`.
* The invoice: one item per row (quantity 1, unit price = amount = the signed amount, description
  falling back to "Wallet adjustment" for NULL in the listing, then "Wallet transaction" for empty),
  subtotal = sum, tax 0, total = subtotal, currency = the first row's that has one, upper-cased,
  else USD; title "Billing Statement"; status "issued".
* `GET /api/invoices`: `SELECT … FROM billing_invoices WHERE organization_id = $1 ORDER BY
  created_at DESC LIMIT 50`; `GET /api/invoices/:id/download` answers `html_content`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_LISTING = text(
    "SELECT amount, currency, description, created_at FROM payment_transactions "
    "WHERE organization_id = :org AND status = 'completed' ORDER BY created_at DESC, id DESC LIMIT 50"
)
_ONE = text("SELECT amount, currency, description, created_at FROM payment_transactions WHERE id = :id AND "
            "organization_id = :org")  # fmt: skip
_PANEL_LIST = text(
    "SELECT id, organization_id, invoice_number, total_amount, currency, created_at FROM billing_invoices "
    "WHERE organization_id = :org ORDER BY created_at DESC LIMIT 50"
)


@dataclass(frozen=True)
class PanelInvoice:
    items: list[dict[str, Any]]
    subtotal: float
    total: float
    currency: str
    description: str
    title: str = "Billing Statement"
    status: str = "issued"

    def printed(self) -> list[str]:
        """What the panel's document prints for the items and totals, in order."""
        lines = []
        for item in self.items:
            lines += [item["description"], str(item["quantity"]), to_fixed(item["unitPrice"]), to_fixed(item["amount"])]
        return [*lines, f"Subtotal:{to_fixed(self.subtotal)}", f"Total:{self.currency} {to_fixed(self.total)}"]


def to_fixed(value: float) -> str:
    """`'$' + n.toFixed(2)` (JavaScript rounds the double's exact value half away from zero)."""
    return "$" + str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def js_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")


def js_iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _invoice(rows: list[Any], null_description: str, when: Any) -> PanelInvoice:
    items = []
    for row in rows:
        amount = float(row.amount)  # parseFloat of the numeric column's text
        description = null_description if row.description is None else row.description
        items.append({"description": description or "Wallet transaction", "quantity": 1, "unitPrice": amount,
                      "amount": amount})  # fmt: skip
    subtotal = 0.0
    for item in items:
        subtotal += item["amount"]
    currency = next((r.currency for r in rows if r.currency and r.currency.strip()), "USD").upper()
    oldest = when(rows[-1].created_at) if rows else "unknown"
    newest = when(rows[0].created_at) if rows else "unknown"
    return PanelInvoice(items, subtotal, subtotal + 0, currency, f"Payment transactions from {oldest} to {newest}")


async def from_transactions(engine: AsyncEngine, organization_id: uuid.UUID) -> PanelInvoice:
    async with engine.connect() as conn:
        rows = (await conn.execute(_LISTING, {"org": organization_id})).all()
    return _invoice(rows, "Wallet adjustment", js_date)


async def from_transaction(engine: AsyncEngine, organization_id: uuid.UUID, transaction_id: uuid.UUID) -> PanelInvoice:
    async with engine.connect() as conn:
        rows = (await conn.execute(_ONE, {"id": transaction_id, "org": organization_id})).all()
    return _invoice(rows, "Wallet transaction", js_iso)


async def panel_list(engine: AsyncEngine, organization_id: uuid.UUID) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in (await conn.execute(_PANEL_LIST, {"org": organization_id})).all()]
