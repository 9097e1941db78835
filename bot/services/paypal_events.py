"""Applying verified PayPal webhook events: the event type decides what happens to which top-up.

Network work (capturing an approved order) happens before the database transaction; the money
movement, the event's `processed` mark and the notices then commit together.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import ledger as ledger_db
from bot.db import paypal_events as inbox_db
from bot.db import plain
from bot.db.paypal_events import InboxEvent
from bot.db.plain import PlainConnection
from bot.paypal.client import PayPalClient, PayPalError
from bot.paypal.models import Capture, Dispute, MalformedResource, Order, Refund
from bot.services.payment_notices import alert_staff, enqueue_payment_notices
from bot.services.topups import (
    Outcome,
    PaymentResult,
    apply_capture,
    apply_captured_order,
    apply_refund,
    fail_topup,
    request_id_for_capture,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

CAPTURE_EVENTS = {
    "PAYMENT.CAPTURE.COMPLETED",
    "PAYMENT.CAPTURE.PENDING",
    "PAYMENT.CAPTURE.DENIED",
    "PAYMENT.CAPTURE.DECLINED",
}
REFUND_EVENTS = {"PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"}
ORDER_EVENTS = {"CHECKOUT.ORDER.APPROVED", "CHECKOUT.PAYMENT-APPROVAL.REVERSED"}


def is_handled(event_type: str) -> bool:
    """Whether the worker has anything to do for this event type (others are stored as processed)."""
    return (
        event_type in CAPTURE_EVENTS
        or event_type in REFUND_EVENTS
        or event_type in ORDER_EVENTS
        or event_type.startswith("CUSTOMER.DISPUTE.")
    )


class EventNotReady(Exception):
    """The event cannot be applied yet (e.g. PayPal is unreachable); retry later."""


class CaptureNotCreditedYet(EventNotReady):
    """A refund or reversal arrived before its capture was credited: PayPal does not order its
    webhooks, so the inbox retries it with backoff; after the last attempt it is dead (staff told)."""


@dataclass(frozen=True)
class ParsedEvent:
    event_id: str
    event_type: str
    resource: dict[str, Any]


def parse_envelope(raw_body: bytes) -> ParsedEvent:
    """The fields every PayPal webhook envelope has; raises MalformedResource otherwise."""
    try:
        envelope = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedResource("body is not JSON") from exc
    if not isinstance(envelope, dict):
        raise MalformedResource("body is not a JSON object")
    event_id, event_type, resource = envelope.get("id"), envelope.get("event_type"), envelope.get("resource")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 128:
        raise MalformedResource("event id missing or invalid")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise MalformedResource("event type missing or invalid")
    if not isinstance(resource, dict):
        raise MalformedResource("resource missing")
    return ParsedEvent(event_id, event_type, resource)


@dataclass
class PayPalEventProcessor:
    engine: AsyncEngine
    pool: asyncpg.Pool  # the plain pool: applying events is the hottest money path (see bot.db.plain)
    settings: Settings
    paypal: PayPalClient | None

    async def process(self, event: InboxEvent) -> str:
        """Apply one stored event and mark it processed; returns a short outcome for the inbox.

        Applying is idempotent (ledger keys, conditional status updates), so the transaction may
        safely run again after a connection lost during COMMIT.
        """
        parsed = parse_envelope(event.raw_body)
        captured = await self._capture_for(parsed)
        source = f"webhook {parsed.event_type}"

        async def apply(conn: PlainConnection) -> str:
            if isinstance(captured, PaymentResult):
                results = [captured]
            elif isinstance(captured, Order):
                results = await apply_captured_order(conn, captured, source=source)
            elif captured is not None:
                results = [await apply_capture(conn, captured, source=source)]
            elif parsed.event_type in REFUND_EVENTS:
                results = [await self._refund(conn, parsed)]
            elif parsed.event_type == "CHECKOUT.PAYMENT-APPROVAL.REVERSED":
                results = [await self._approval_reversed(conn, parsed.resource)]
            elif parsed.event_type.startswith("CUSTOMER.DISPUTE."):
                await self._dispute(conn, parsed, Dispute.parse(parsed.resource))
                await inbox_db.mark_processed(conn, event.event_id, "staff alerted")
                return "staff alerted"
            else:
                await inbox_db.mark_processed(conn, event.event_id, "ignored: not an event the bot handles")
                return "ignored"
            for result in results:
                await enqueue_payment_notices(conn, result, self.settings)
            outcome = "; ".join(f"{result.outcome.value}: {result.detail}" for result in results)
            await inbox_db.mark_processed(conn, event.event_id, outcome)
            return outcome

        return await plain.transaction(self.pool, apply)

    async def _capture_for(self, parsed: ParsedEvent) -> Capture | Order | PaymentResult | None:
        """What the event says was captured: the capture itself, or the approved order once we
        captured it (with any refunds PayPal shows on it), or a result when there is nothing to apply."""
        if parsed.event_type in CAPTURE_EVENTS:
            return Capture.parse(parsed.resource)
        if parsed.event_type != "CHECKOUT.ORDER.APPROVED":
            return None
        return await self._capture_approved(Order.parse(parsed.resource))

    async def _capture_approved(self, order: Order) -> Order | PaymentResult:
        """The buyer approved but may never reach our return page: capture for them (idempotently),
        unless the order is not one we would credit — then no money is taken at all."""
        row = await plain.read(self.pool, lambda conn: ledger_db.topup_by_order(conn, order.id))
        if row is None:
            return PaymentResult(Outcome.UNKNOWN_ORDER, f"approved order {order.id} is not ours", reference=order.id)
        if row.status in {"completed", "failed"}:
            return PaymentResult(Outcome.ALREADY_APPLIED, f"top-up already {row.status}", reference=order.id)
        if (
            order.amount != row.amount
            or (order.currency or "").upper() != row.currency.upper()
            or (order.custom_id is not None and order.custom_id != str(row.organization_id))
        ):
            detail = f"approved order {order.id} does not match its top-up; not captured"
            return PaymentResult(Outcome.MISMATCH, detail, organization_id=row.organization_id, reference=order.id)
        if self.paypal is None:
            raise EventNotReady("PayPal credentials are not configured, cannot capture")
        try:
            captured = await self.paypal.capture_order(order.id, request_id=request_id_for_capture(order.id))
        except PayPalError as error:
            if error.transient:
                raise EventNotReady(str(error)) from error
            raise
        if not captured.captures:
            raise EventNotReady(f"order {order.id} captured without a capture record yet")
        return captured

    async def _refund(self, conn: PlainConnection, parsed: ParsedEvent) -> PaymentResult:
        """Debit a refund once its capture is credited; until then, raise so the inbox retries it."""
        refund = Refund.parse(parsed.resource)
        reversal = parsed.event_type.endswith("REVERSED")
        result = await apply_refund(conn, refund, reversal=reversal, source=f"webhook {parsed.event_type}")
        if result.outcome is Outcome.UNKNOWN_ORDER:  # nothing was written: the transaction only read
            raise CaptureNotCreditedYet(result.detail)
        return result

    async def _approval_reversed(self, conn: PlainConnection, resource: dict[str, Any]) -> PaymentResult:
        """PayPal voided an approved order it could not capture in time; the buyer was refunded."""
        order_id = str(resource.get("order_id") or resource.get("id") or "")
        if not order_id:
            raise MalformedResource("approval reversal names no order")
        row = await ledger_db.topup_by_order_for_update(conn, order_id)
        if row is None:
            return PaymentResult(
                Outcome.UNKNOWN_ORDER, f"approval reversed for unknown order {order_id}", reference=order_id
            )
        moved = await fail_topup(conn, row.id, {"paypal_order_status": "VOIDED", "reason": "APPROVAL_REVERSED"})
        if not moved:
            return PaymentResult(Outcome.ALREADY_APPLIED, "top-up already final", reference=order_id)
        return PaymentResult(
            Outcome.FAILED, "PayPal reversed the approval before capture", transaction_id=row.id,
            organization_id=row.organization_id, amount=row.amount, currency=row.currency,
            slack={k: v for k, v in row.metadata.items() if k.startswith("slack_")}, reference=order_id,
        )  # fmt: skip

    async def _dispute(self, conn: PlainConnection, parsed: ParsedEvent, dispute: Dispute) -> None:
        lines = [
            f"Event: {parsed.event_type}",
            f"Dispute: {dispute.id} ({dispute.reason}, {dispute.status})",
            f"Stage: {dispute.stage}",
            f"Amount: {dispute.amount} {dispute.currency}",
            f"Captures: {', '.join(dispute.capture_ids) or 'unknown'}",
        ]
        await alert_staff(conn, self.settings, "PayPal dispute", lines, dedupe_key=f"paypal:dispute:{parsed.event_id}")
