"""Invoices: made from the ledger exactly as the panel makes them, stored in `billing_invoices` (so
the panel lists and downloads them), and handed over in Slack as the HTML file.

Three ways to choose what an invoice lists: the panel's default (the organisation's latest 50
completed transactions, `INV-<ms>`), a period (its completed transactions, newest first, the same
document), or transactions picked by hand (one: the panel's single-transaction invoice `INV-TXN-<ms>`;
several: the statement over them). Members may make and read invoices, as in the panel.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.books import invoice as document
from bot.books import invoice_html
from bot.db import invoices as invoices_db
from bot.db.invoices import InvoiceRow
from bot.db.plain import SqlConnection
from bot.errors import UserError
from bot.services import deliveries
from bot.services.audit import record_for_actor
from bot.services.identity import Actor
from bot.services.permissions import Action

PANEL_LIMIT = 50  # the panel's invoice of "recent transactions"
PERIOD_LIMIT = 500
PICK_LIMIT = 100
NOTHING = "No transactions found to create invoice."
NOT_FOUND = "No such invoice in this organisation. Type `{command} billing invoices` to see them."


class NoOrganisation(UserError):
    """Choose an organisation first (`/cs org use <slug>`)."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    def label(self) -> str:
        last = self.end - timedelta(days=1)
        return f"{self.start:%Y-%m-%d} – {last:%Y-%m-%d}"


@dataclass(frozen=True)
class Made:
    id: uuid.UUID
    number: str
    items: int
    total: str
    currency: str
    delivered_to: deliveries.Destination


def _org(actor: Actor) -> uuid.UUID:
    if actor.org is None:
        raise NoOrganisation()
    actor.require(Action.VIEW)
    return actor.org.id


def parse_period(words: list[str], today: date) -> Period:
    """`2025-10` (a month), `2025-10-01 2025-10-15` (both days included), or `this-month`/`last-month`."""
    try:
        if len(words) == 1 and words[0] in ("this-month", "last-month"):
            first = today.replace(day=1)
            if words[0] == "last-month":
                first = (first - timedelta(days=1)).replace(day=1)
            return Period(first, (first + timedelta(days=32)).replace(day=1))
        if len(words) == 1:
            first = datetime.strptime(words[0], "%Y-%m").date()
            return Period(first, (first + timedelta(days=32)).replace(day=1))
        if len(words) == 2:
            start = datetime.strptime(words[0], "%Y-%m-%d").date()
            last = datetime.strptime(words[1], "%Y-%m-%d").date()
            if last >= start and (last - start).days <= 366:
                return Period(start, last + timedelta(days=1))
    except ValueError:
        pass
    raise UserError(
        "Give a month (`2025-10`), two days (`2025-10-01 2025-10-15`, at most a year apart), "
        "`this-month` or `last-month`."
    )


async def create(
    engine: AsyncEngine,
    actor: Actor,
    now: datetime,
    *,
    period: Period | None = None,
    transaction_ids: list[uuid.UUID] | None = None,
    channel_id: str | None = None,
) -> Made:
    """Make, store and queue for delivery one invoice; the number is unique among invoices."""
    org_id = _org(actor)
    async with engine.begin() as conn:
        if transaction_ids is not None:
            rows = await invoices_db.chosen(conn, org_id, transaction_ids[:PICK_LIMIT])
            if len(rows) != len(set(transaction_ids)):
                raise UserError("Some of those transactions are not this organisation's.")
        elif period is not None:
            start = datetime.combine(period.start, datetime.min.time(), tzinfo=UTC)
            end = datetime.combine(period.end, datetime.min.time(), tzinfo=UTC)
            rows = await invoices_db.completed_between(conn, org_id, start, end, PERIOD_LIMIT)
        else:
            rows = await invoices_db.latest_completed(conn, org_id, PANEL_LIMIT)
        if not rows:
            raise UserError(NOTHING)
        single = transaction_ids is not None and len(rows) == 1
        prefix = "INV-TXN-" if single else "INV-"
        epoch_ms = await invoices_db.free_number(conn, prefix, int(now.timestamp() * 1000))
        number = f"{prefix}{epoch_ms}"
        when = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
        if single:
            made = document.single(org_id, rows[0], number, when, epoch_ms)
        else:
            made = document.statement(org_id, rows, number, when, epoch_ms)
        html = invoice_html.render(made, when)
        invoice_id, _ = await invoices_db.insert(
            conn, org_id, number=number, html=html, data=made.data(), total=made.total, currency=made.currency
        )
        await record_for_actor(
            conn, actor, event_type="billing.invoice.create", entity_type="invoice", entity_id=str(invoice_id),
            message=f"Created invoice {number}", organization_id=org_id, channel_id=channel_id,
            metadata={"invoiceNumber": number, "items": len(made.items), "total": f"{made.total:.2f}",
                      "currency": made.currency},
        )  # fmt: skip
        where = await deliveries.destination(conn, org_id, "billing", channel_id, actor.slack.user_id)
        await _deliver(conn, where, number, html, f"{made.currency} {invoice_html.money(made.total)}")
    return Made(invoice_id, number, len(made.items), invoice_html.money(made.total), made.currency, where)


async def _deliver(conn: SqlConnection, where: deliveries.Destination, number: str, html: str, total: str) -> None:
    await deliveries.share_file(
        conn,
        where.target,
        filename=f"invoice-{number}.html",
        title=f"Invoice {number}",
        comment=f"Invoice {number} ({total}). It is also in the panel's invoice list, where it downloads too.",
        content_text=html,
    )


async def recent(engine: AsyncEngine, actor: Actor, limit: int = 25) -> list[InvoiceRow]:
    org_id = _org(actor)
    async with engine.connect() as conn:
        return await invoices_db.listing(conn, org_id, limit)


async def deliver_again(
    engine: AsyncEngine, actor: Actor, invoice_id: uuid.UUID, *, channel_id: str | None, command: str
) -> tuple[InvoiceRow, deliveries.Destination]:
    """Send a stored invoice's file again (the panel's download), to the same places a new one goes."""
    org_id = _org(actor)
    async with engine.begin() as conn:
        found = await invoices_db.one(conn, org_id, invoice_id)
        if found is None or found.html_content is None:
            raise UserError(NOT_FOUND.format(command=command))
        where = await deliveries.destination(conn, org_id, "billing", channel_id, actor.slack.user_id)
        total = f"{found.currency} {invoice_html.money(found.total_amount)}"
        await _deliver(conn, where, found.invoice_number, found.html_content, total)
    return found, where


async def pickable(engine: AsyncEngine, actor: Actor) -> list[invoices_db.LedgerRow]:
    """The latest completed transactions, offered in the picker."""
    org_id = _org(actor)
    async with engine.connect() as conn:
        return await invoices_db.latest_completed(conn, org_id, PICK_LIMIT)
