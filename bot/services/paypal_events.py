"""Applying verified PayPal webhook events: a webhook is a notification, not proof of payment.

The body names a capture, refund or order; the worker reads PayPal's own copy of it with the bot's
credentials (`bot.services.paypal_copies`) and applies that copy — its status, amount, currency,
`custom_id`/`invoice_id` and order must match the top-up. A copy that refutes the notice (PayPal
has no such resource, or says it never settled) moves nothing and is an anomaly for staff.

Network work (reading the copy, capturing an approved order) happens before the database
transaction; the money movement, the event's `processed` mark and the notices then commit together.
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
from bot.paypal.client import PayPalClient
from bot.paypal.models import Capture, Dispute, MalformedResource, Order, Refund, is_resource_id
from bot.services.payment_notices import alert_staff, enqueue_payment_notices
from bot.services.paypal_copies import (
    EventNotReady,
    Missing,
    WaitingOnPayPal,
    capture_approved,
    capture_copy,
    order_copy,
    refund_copy,
)
from bot.services.topups import (
    SETTLED_CAPTURE_STATUSES,
    Outcome,
    PaymentResult,
    apply_capture,
    apply_captured_order,
    apply_refund,
    fail_topup,
    order_mismatch,
    record_anomaly,
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


class CaptureNotCreditedYet(EventNotReady):
    """A refund or reversal arrived before its capture was credited: PayPal does not order its
    webhooks, so the inbox retries it with backoff; after the last attempt it is dead (staff told)."""


class RefundNotSettledYet(WaitingOnPayPal):
    """PayPal's copy of the refund is still PENDING (an eCheck refund can take days): the money has not
    gone back yet, so the wallet keeps it until PayPal's copy says COMPLETED — asked again every round,
    so a lost completion webhook changes nothing."""

    advice = (
        "The refund is still PENDING at PayPal; the wallet is debited as soon as PayPal completes it "
        "(nothing to do unless it stays pending for weeks)."
    )


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
    # Printable: PayPal's are ASCII, and PostgreSQL's text types cannot hold NUL or lone surrogates.
    if not isinstance(event_id, str) or not event_id or len(event_id) > 128 or not event_id.isprintable():
        raise MalformedResource("event id missing or invalid")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100 or not event_type.isprintable():
        raise MalformedResource("event type missing or invalid")
    if not isinstance(resource, dict):
        raise MalformedResource("resource missing")
    return ParsedEvent(event_id, event_type, resource)


@dataclass(frozen=True)
class Claim:
    """What a body says: which resource to fetch, and the order or capture it claims to be about
    (only to annotate the top-up if PayPal's copy refutes it). Parsing it strictly refuses bodies
    PayPal would never send (e.g. a JSON number for an amount) as malformed."""

    resource_id: str
    order_id: str | None = None
    capture_id: str | None = None


def claim_of(parsed: ParsedEvent) -> Claim | None:
    """The claim of a money event; None for event types that move no money. The resource to fetch
    must be a PayPal id (else the event is malformed); a claimed order or capture id that is not
    one is dropped (it is only ever used to annotate an anomaly)."""
    if parsed.event_type in CAPTURE_EVENTS:
        capture = Capture.parse(parsed.resource)
        return _claim(capture.id, order_id=capture.order_id)
    if parsed.event_type in REFUND_EVENTS:
        refund = Refund.parse(parsed.resource)
        return _claim(refund.id, capture_id=refund.capture_id)
    if parsed.event_type == "CHECKOUT.ORDER.APPROVED":
        order = Order.parse(parsed.resource)
        return _claim(order.id, order_id=order.id)
    if parsed.event_type == "CHECKOUT.PAYMENT-APPROVAL.REVERSED":
        order_id = parsed.resource.get("order_id") or parsed.resource.get("id")
        return _claim(order_id, order_id=order_id)
    return None


def _claim(resource_id: object, *, order_id: object = None, capture_id: object = None) -> Claim:
    if not is_resource_id(resource_id):
        raise MalformedResource("the event names no PayPal resource id")
    return Claim(
        str(resource_id),
        order_id=str(order_id) if is_resource_id(order_id) else None,
        capture_id=str(capture_id) if is_resource_id(capture_id) else None,
    )


#: What the worker applies, read from PayPal before the transaction: PayPal's copy of the resource
#: (an order captured for the buyer if PayPal said APPROVED), a resource PayPal says does not exist,
#: or a result decided without moving anything.
Copy = Capture | Refund | Order | Missing | PaymentResult


@dataclass
class PayPalEventProcessor:
    engine: AsyncEngine
    pool: asyncpg.Pool  # the plain pool: applying events is the hottest money path (see bot.db.plain)
    settings: Settings
    paypal: PayPalClient | None

    async def process(self, event: InboxEvent) -> str:
        """Apply one stored event and mark it processed; returns a short outcome for the inbox.

        The body only names a resource: PayPal's own copy, read first (network outside the
        transaction), is what is applied. Applying is idempotent (ledger keys, conditional
        updates), so the transaction may safely run again after a connection lost during COMMIT.
        """
        parsed = parse_envelope(event.raw_body)
        claim = claim_of(parsed)
        copy = await self._copy(parsed, claim) if claim is not None else None
        source = f"webhook {parsed.event_type}"

        async def apply(conn: PlainConnection) -> str:
            if claim is not None and copy is not None:
                results = await self._apply(conn, parsed, claim, copy, source)
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

    async def _copy(self, parsed: ParsedEvent, claim: Claim) -> Copy:
        """PayPal's copy of what the event names; raises PayPalUnreachable when PayPal cannot say."""
        if parsed.event_type in CAPTURE_EVENTS:
            return await capture_copy(self.paypal, claim.resource_id)
        if parsed.event_type in REFUND_EVENTS:
            return await refund_copy(self.paypal, claim.resource_id)
        order = await order_copy(self.paypal, claim.resource_id)
        if parsed.event_type == "CHECKOUT.ORDER.APPROVED" and isinstance(order, Order) and order.status == "APPROVED":
            return await self._capture_approved(order)
        return order

    async def _capture_approved(self, order: Order) -> Order | PaymentResult:
        """PayPal says the buyer approved, but they may never reach our return page: capture for
        them (idempotently), unless the order is not one we would credit — then no money is taken."""
        row = await plain.read(self.pool, lambda conn: ledger_db.topup_by_order(conn, order.id))
        if row is None:
            return PaymentResult(Outcome.UNKNOWN_ORDER, f"approved order {order.id} is not ours", reference=order.id)
        if row.status in {"completed", "failed"}:
            return PaymentResult(Outcome.ALREADY_APPLIED, f"top-up already {row.status}", reference=order.id)
        if problem := order_mismatch(row, order):
            detail = f"approved order {order.id} does not match its top-up ({problem}); not captured"
            return PaymentResult(Outcome.MISMATCH, detail, organization_id=row.organization_id, reference=order.id)
        captured = await capture_approved(self.paypal, order.id, request_id_for_capture(order.id))
        if not captured.captures:
            raise EventNotReady(f"order {order.id} captured without a capture record yet")
        return captured

    async def _apply(
        self, conn: PlainConnection, parsed: ParsedEvent, claim: Claim, copy: Copy, source: str
    ) -> list[PaymentResult]:
        if isinstance(copy, PaymentResult):
            return [copy]
        if isinstance(copy, Missing):
            anomaly = await record_anomaly(
                conn, copy.detail, copy.resource_id, order_id=claim.order_id, capture_id=claim.capture_id
            )
            return [anomaly]
        if isinstance(copy, Capture):
            return [await self._capture(conn, parsed, copy, source)]
        if isinstance(copy, Refund):
            return [await self._refund(conn, parsed, copy, source)]
        return await self._order(conn, parsed, copy, source)

    async def _capture(
        self, conn: PlainConnection, parsed: ParsedEvent, capture: Capture, source: str
    ) -> PaymentResult:
        """Apply PayPal's copy of the capture. A COMPLETED notice for a capture PayPal says never
        settled (PENDING, DECLINED…) is refuted: captures do not go back, so the notice is false."""
        if parsed.event_type == "PAYMENT.CAPTURE.COMPLETED" and capture.status not in SETTLED_CAPTURE_STATUSES:
            detail = f"a webhook says capture {capture.id} completed; PayPal says it is {capture.status}"
            return await record_anomaly(conn, detail, capture.id, order_id=capture.order_id)
        return await apply_capture(conn, capture, source=source)

    async def _refund(self, conn: PlainConnection, parsed: ParsedEvent, refund: Refund, source: str) -> PaymentResult:
        """Debit PayPal's copy of a completed refund once its capture is credited; until then, raise
        so the inbox retries it. A refund PayPal says failed or was cancelled moves nothing."""
        if refund.status == "PENDING":
            raise RefundNotSettledYet(f"refund {refund.id} is still PENDING at PayPal")
        if refund.status != "COMPLETED":
            detail = f"a webhook says refund {refund.id} was made; PayPal says it is {refund.status}"
            return await record_anomaly(conn, detail, refund.id, capture_id=refund.capture_id)
        reversal = parsed.event_type.endswith("REVERSED")
        result = await apply_refund(conn, refund, reversal=reversal, source=source)
        if result.outcome is Outcome.UNKNOWN_ORDER:  # nothing was written: the transaction only read
            raise CaptureNotCreditedYet(result.detail)
        return result

    async def _order(
        self, conn: PlainConnection, parsed: ParsedEvent, order: Order, source: str
    ) -> list[PaymentResult]:
        """Apply PayPal's copy of an order: captured (by us just now, or before) → its capture and
        refunds; VOIDED → the top-up failed. Anything else contradicts the event: an anomaly."""
        if order.captures:
            return await apply_captured_order(conn, order, source=source)
        if order.status == "COMPLETED":
            raise EventNotReady(f"order {order.id} is COMPLETED without a capture record yet")
        if order.status == "VOIDED":
            return [await self._voided(conn, order.id)]
        verb = "approved" if parsed.event_type == "CHECKOUT.ORDER.APPROVED" else "reversed after approval"
        detail = f"a webhook says order {order.id} was {verb}; PayPal says it is {order.status}"
        return [await record_anomaly(conn, detail, order.id, order_id=order.id)]

    async def _voided(self, conn: PlainConnection, order_id: str) -> PaymentResult:
        """PayPal voided an approved order it could not capture in time; the buyer was refunded."""
        row = await ledger_db.topup_by_order_for_update(conn, order_id)
        if row is None:
            return PaymentResult(Outcome.UNKNOWN_ORDER, f"voided order {order_id} is not ours", reference=order_id)
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
