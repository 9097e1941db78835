"""The emulator's PayPal account: orders, captures, refunds, disputes and idempotency keys.

All rules about what may happen when live here (approve before capture, one capture per order,
refunds up to the captured amount, ``PayPal-Request-Id`` replays); rendering to JSON is in
``resources`` and HTTP in ``server``, so the test hooks and the API share one set of rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from bot.emulators.paypal import ids
from bot.emulators.paypal.errors import Issue, PayPalError, not_found, unprocessable
from bot.emulators.paypal.money import paypal_fee
from bot.emulators.paypal.validation import OrderRequest, RefundRequest

Clock = Callable[[], float]

CAPTURE_OUTCOMES = ("COMPLETED", "PENDING", "DECLINED", "FAILED", "INSTRUMENT_DECLINED")
IDEMPOTENCY_TTL = 6 * 3600.0  # PayPal keeps PayPal-Request-Id keys for 6 hours


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    email: str


@dataclass(frozen=True)
class Payer:
    email: str
    payer_id: str
    given_name: str = "John"
    surname: str = "Doe"
    country_code: str = "US"


@dataclass(frozen=True)
class Outcome:
    """How the next capture goes; ``INSTRUMENT_DECLINED`` fails the capture call itself with a 422."""

    status: str
    reason: str | None = None


@dataclass
class Order:
    id: str
    request: OrderRequest
    status: str
    create_time: float
    update_time: float | None = None
    payer: Payer | None = None
    capture_id: str | None = None
    buyer_cancelled: bool = False
    outcome: Outcome | None = None

    @property
    def awaiting_buyer_status(self) -> str:
        return "PAYER_ACTION_REQUIRED" if self.request.experience_context else "CREATED"


@dataclass
class Capture:
    id: str
    order_id: str
    currency: str
    amount: Decimal
    status: str
    reason: str | None
    custom_id: str | None
    invoice_id: str | None
    create_time: float
    update_time: float
    refund_ids: list[str] = field(default_factory=list)

    @property
    def fee(self) -> Decimal | None:
        """Fees exist once money moved; PayPal omits the breakdown for pending or failed captures."""
        settled = self.status in {"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"}
        return paypal_fee(self.amount, self.currency) if settled else None


@dataclass
class Refund:
    id: str
    capture_id: str
    currency: str
    amount: Decimal
    total_refunded: Decimal
    custom_id: str | None
    invoice_id: str | None
    note_to_payer: str | None
    create_time: float
    status: str = "COMPLETED"


@dataclass
class Dispute:
    id: str
    capture_id: str
    reason: str
    currency: str
    amount: Decimal
    buyer_transaction_id: str
    create_time: float
    status: str = "WAITING_FOR_SELLER_RESPONSE"
    stage: str = "INQUIRY"


@dataclass(frozen=True)
class Replay:
    """What a ``PayPal-Request-Id`` produced, re-rendered in its latest state when the id repeats."""

    resource_id: str
    representation: bool
    at: float


class Ledger:
    def __init__(self, merchant: Merchant, clock: Clock) -> None:
        self.merchant = merchant
        self.clock = clock
        self.orders: dict[str, Order] = {}
        self.captures: dict[str, Capture] = {}
        self.refunds: dict[str, Refund] = {}
        self.disputes: dict[str, Dispute] = {}
        self.default_outcome = Outcome("COMPLETED")
        self._invoices: dict[str, str] = {}
        self._replays: dict[tuple[str, str], Replay] = {}

    # --- PayPal-Request-Id -------------------------------------------------------------------

    def replay(self, route: str, request_id: str | None) -> Replay | None:
        if not request_id:
            return None
        found = self._replays.get((route, request_id))
        if found is None or self.clock() - found.at > IDEMPOTENCY_TTL:
            return None
        return found

    def remember(self, route: str, request_id: str | None, resource_id: str, representation: bool) -> None:
        if request_id:
            self._replays[(route, request_id)] = Replay(resource_id, representation, self.clock())

    # --- orders --------------------------------------------------------------------------------

    def order(self, order_id: str) -> Order:
        found = self.orders.get(order_id)
        if found is None:
            raise not_found(order_id)
        return found

    def create_order(self, request: OrderRequest) -> Order:
        if request.invoice_id is not None and request.invoice_id in self._invoices:
            pointer = f"/purchase_units/@reference_id=='{request.reference_id}'/invoice_id"
            raise unprocessable("DUPLICATE_INVOICE_ID", field=pointer, value=request.invoice_id)
        order_id = ids.resource_id()
        order = Order(order_id, request, "CREATED", self.clock())
        order.status = order.awaiting_buyer_status
        self.orders[order_id] = order
        if request.invoice_id is not None:
            self._invoices[request.invoice_id] = order_id
        return order

    def approve(self, order_id: str, payer: Payer) -> Order:
        order = self.order(order_id)
        if order.status == "APPROVED":
            return order
        if order.status != order.awaiting_buyer_status:
            raise ValueError(f"order {order_id} is {order.status}; only an order awaiting the buyer can be approved")
        order.status, order.payer, order.buyer_cancelled = "APPROVED", payer, False
        order.update_time = self.clock()
        return order

    def cancel(self, order_id: str) -> Order:
        """The buyer clicked cancel: PayPal leaves the order as it was and redirects to ``cancel_url``."""
        order = self.order(order_id)
        order.buyer_cancelled = True
        return order

    def reverse_approval(self, order_id: str) -> Order:
        """Approved but not captured in time: PayPal voids the order and refunds the buyer."""
        order = self.order(order_id)
        if order.status != "APPROVED":
            raise ValueError(f"order {order_id} is {order.status}; only an APPROVED order can be reversed")
        order.status, order.update_time = "VOIDED", self.clock()
        return order

    def set_outcome(self, order_id: str | None, outcome: Outcome) -> None:
        if outcome.status not in CAPTURE_OUTCOMES:
            raise ValueError(f"capture outcome must be one of {CAPTURE_OUTCOMES}, not {outcome.status!r}")
        if order_id is None:
            self.default_outcome = outcome
        else:
            self.order(order_id).outcome = outcome

    def capture(self, order_id: str, approve_url: str) -> Capture:
        order = self.order(order_id)
        if order.status == "COMPLETED":
            raise unprocessable("ORDER_ALREADY_CAPTURED")
        if order.status != "APPROVED":
            raise unprocessable("ORDER_NOT_APPROVED")
        outcome = order.outcome or self.default_outcome
        if outcome.status == "INSTRUMENT_DECLINED":
            # The buyer must approve again with another funding source; an order-level outcome is one-shot.
            order.status, order.payer, order.update_time = order.awaiting_buyer_status, None, self.clock()
            order.outcome = None
            raise PayPalError(
                422,
                Issue("INSTRUMENT_DECLINED"),
                links=[{"href": approve_url, "rel": "redirect", "method": "GET"}],
            )
        now = self.clock()
        reason = outcome.reason or ("PENDING_REVIEW" if outcome.status == "PENDING" else None)
        unit = order.request
        capture = Capture(
            ids.resource_id(),
            order_id,
            unit.currency,
            unit.value,
            outcome.status,
            reason,
            unit.custom_id,
            unit.invoice_id,
            now,
            now,
        )
        self.captures[capture.id] = capture
        order.status, order.capture_id, order.update_time = "COMPLETED", capture.id, now
        return capture

    # --- captures and refunds ------------------------------------------------------------------

    def capture_of(self, capture_id: str) -> Capture:
        found = self.captures.get(capture_id)
        if found is None:
            raise not_found(capture_id, api="payments/v2")
        return found

    def settle_pending(self, capture_id: str, status: str, reason: str | None = None) -> Capture:
        capture = self.capture_of(capture_id)
        if capture.status != "PENDING":
            raise ValueError(f"capture {capture_id} is {capture.status}, not PENDING")
        capture.status, capture.reason, capture.update_time = status, reason, self.clock()
        return capture

    def refunded(self, capture: Capture) -> Decimal:
        return sum((self.refunds[r].amount for r in capture.refund_ids), Decimal(0))

    def refund(self, capture_id: str, request: RefundRequest, *, pending: bool = False) -> Refund:
        """A refund of (part of) a capture; a `pending` one (an eCheck, a review) holds its amount
        against the capture but leaves the capture's status until it completes."""
        capture = self.capture_of(capture_id)
        if capture.status == "PENDING":
            raise unprocessable("PENDING_CAPTURE", api="payments/v2")
        if capture.status == "REFUNDED":
            raise unprocessable("CAPTURE_FULLY_REFUNDED", api="payments/v2")
        if capture.status not in {"COMPLETED", "PARTIALLY_REFUNDED"}:
            raise unprocessable("REFUND_NOT_ALLOWED", api="payments/v2")
        remaining = capture.amount - self.refunded(capture)
        currency, amount = request.amount or (capture.currency, remaining)
        if currency != capture.currency:
            raise unprocessable("REFUND_CAPTURE_CURRENCY_MISMATCH", field="/amount/currency_code", api="payments/v2")
        if amount > remaining:
            raise unprocessable("REFUND_AMOUNT_EXCEEDED", field="/amount/value", api="payments/v2")
        refund = Refund(
            id=ids.resource_id(),
            capture_id=capture_id,
            currency=currency,
            amount=amount,
            total_refunded=capture.amount - remaining + amount,
            custom_id=request.custom_id or capture.custom_id,
            invoice_id=request.invoice_id or capture.invoice_id,
            note_to_payer=request.note_to_payer,
            create_time=self.clock(),
            status="PENDING" if pending else "COMPLETED",
        )
        self.refunds[refund.id] = refund
        capture.refund_ids.append(refund.id)
        if not pending:
            self._mark_refunded(capture, refund)
        return refund

    def settle_pending_refund(self, refund_id: str, status: str) -> Refund:
        """A pending refund completes (the capture shows it) or fails/is cancelled (its amount is freed)."""
        refund = self.refund_of(refund_id)
        if refund.status != "PENDING":
            raise ValueError(f"refund {refund_id} is {refund.status}, not PENDING")
        refund.status = status
        capture = self.capture_of(refund.capture_id)
        if status == "COMPLETED":
            self._mark_refunded(capture, refund)
        else:
            capture.refund_ids.remove(refund.id)
        return refund

    def _mark_refunded(self, capture: Capture, refund: Refund) -> None:
        capture.status = "REFUNDED" if refund.total_refunded == capture.amount else "PARTIALLY_REFUNDED"
        capture.update_time = self.clock()

    def refund_of(self, refund_id: str) -> Refund:
        found = self.refunds.get(refund_id)
        if found is None:
            raise not_found(refund_id, api="payments/v2")
        return found

    def open_dispute(self, capture_id: str, reason: str) -> Dispute:
        capture = self.capture_of(capture_id)
        dispute = Dispute(
            ids.dispute_id(), capture_id, reason, capture.currency, capture.amount, ids.resource_id(), self.clock()
        )
        self.disputes[dispute.id] = dispute
        return dispute
