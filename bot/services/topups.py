"""Wallet top-ups through PayPal: the rules that make every capture and refund move money once.

Whoever learns of a capture first — the return page, a webhook, a redelivered webhook, the
reconciler or another replica — calls `apply_capture` in its own transaction. The top-up row is
locked, the panel's own completion is respected, and `bot_ledger_keys` (primary key
`paypal:capture:<id>` / `paypal:refund:<id>`) decides who moves the money. Nothing here knows
about Slack or HTTP.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bot.db import ledger as ledger_db
from bot.db.ledger import TransactionRow
from bot.db.plain import SqlConnection
from bot.paypal.models import Capture, Order, Refund

BRAND_NAME = "ContainerStacks"
#: A capture in any of these took the payer's money. One read after a refund (the reconciler, the
#: return page) says PARTIALLY_REFUNDED or REFUNDED: the top-up is still credited in full, and the
#: refunds come back out through their own ledger rows (`apply_order_refunds`, refund webhooks).
SETTLED_CAPTURE_STATUSES = frozenset({"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"})


class Outcome(enum.Enum):
    CREDITED = "credited"
    ALREADY_APPLIED = "already_applied"
    PENDING = "pending"
    FAILED = "failed"
    REFUNDED = "refunded"
    UNKNOWN_ORDER = "unknown_order"
    MISMATCH = "mismatch"

    @property
    def is_anomaly(self) -> bool:
        return self in {Outcome.UNKNOWN_ORDER, Outcome.MISMATCH}


@dataclass(frozen=True)
class PaymentResult:
    """What happened, with what the notices need (no Slack types: plain values)."""

    outcome: Outcome
    detail: str
    transaction_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    amount: Decimal | None = None
    currency: str | None = None
    balance_after: Decimal | None = None
    slack: dict[str, Any] = field(default_factory=dict)  # who started the top-up in Slack, if anyone
    user_id: uuid.UUID | None = None  # the ContainerStacks user who started it, if known
    reference: str | None = None  # the PayPal id this result is about (capture, refund or order)


def request_id_for_create(transaction_id: uuid.UUID) -> str:
    return f"csbot-create-{transaction_id}"


def request_id_for_capture(order_id: str) -> str:
    return f"csbot-capture-{order_id}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _result(outcome: Outcome, detail: str, row: TransactionRow | None, **extra: Any) -> PaymentResult:
    if row is None:
        return PaymentResult(outcome, detail, **extra)
    slack = {k: v for k, v in row.metadata.items() if k.startswith("slack_")}
    started_by = row.metadata.get("user_id")
    return PaymentResult(
        outcome,
        detail,
        user_id=uuid.UUID(str(started_by)) if started_by else None,
        transaction_id=row.id,
        organization_id=row.organization_id,
        amount=extra.pop("amount", row.amount),
        currency=row.currency,
        slack=slack,
        **extra,
    )


# -- creating a top-up ------------------------------------------------------------------------


async def create_pending_topup(
    conn: SqlConnection,
    *,
    organization_id: uuid.UUID,
    amount: Decimal,
    currency: str,
    description: str,
    slack_metadata: dict[str, Any],
) -> uuid.UUID:
    """The `pending` row the panel would write, created before the PayPal order so its id can be
    the order's invoice_id (the order id is attached once PayPal answers)."""
    return await ledger_db.insert_transaction(
        conn,
        organization_id=organization_id,
        amount=amount,
        currency=currency,
        payment_method="paypal",
        payment_provider="paypal",
        status="pending",
        description=description,
        metadata=slack_metadata,
    )


async def attach_order(conn: SqlConnection, transaction_id: uuid.UUID, order_id: str) -> None:
    await ledger_db.set_provider_transaction_id(conn, transaction_id, order_id)
    await ledger_db.merge_metadata(conn, transaction_id, {"payment_id": order_id})


async def fail_topup(conn: SqlConnection, transaction_id: uuid.UUID, metadata: dict[str, Any]) -> bool:
    """Mark a top-up `failed` (never once completed); cancellation uses metadata.cancel_reason."""
    return await ledger_db.set_status_unless_completed(
        conn, transaction_id, "failed", {**metadata, "failure_time": _now()}
    )


# -- applying PayPal's answers ----------------------------------------------------------------


def _ids_mismatch(row: TransactionRow, custom_id: str | None, invoice_id: str | None) -> str | None:
    """Our orders carry `custom_id` = organisation (the panel's do too) and, when the bot created
    them, `invoice_id` = our transaction id; PayPal copies both onto captures and refunds."""
    if custom_id != str(row.organization_id):
        return f"custom_id {custom_id!r} is not organisation {row.organization_id}"
    if invoice_id is not None and invoice_id != str(row.id):
        return f"invoice_id {invoice_id!r} is not top-up {row.id}"
    return None


def _mismatch(row: TransactionRow, capture: Capture) -> str | None:
    if problem := _ids_mismatch(row, capture.custom_id, capture.invoice_id):
        return problem
    if capture.currency != row.currency.upper():
        return f"currency {capture.currency} differs from the top-up's {row.currency}"
    if capture.amount != row.amount:
        return f"amount {capture.amount} differs from the top-up's {row.amount}"
    return None


def order_mismatch(row: TransactionRow, order: Order) -> str | None:
    """Why PayPal's copy of an order is not the one we created for this top-up, if it is not."""
    if problem := _ids_mismatch(row, order.custom_id, order.invoice_id):
        return problem
    if order.amount != row.amount or (order.currency or "").upper() != row.currency.upper():
        return f"order {order.amount} {order.currency} differs from the top-up's {row.amount} {row.currency}"
    return None


async def apply_capture(conn: SqlConnection, capture: Capture, *, source: str) -> PaymentResult:
    """Apply a capture's state to its top-up; credits the wallet at most once per capture id."""
    if capture.order_id is None:
        return PaymentResult(Outcome.UNKNOWN_ORDER, f"capture {capture.id} names no order", reference=capture.id)
    row = await ledger_db.topup_by_order_for_update(conn, capture.order_id)
    if row is None:
        return PaymentResult(
            Outcome.UNKNOWN_ORDER, f"no top-up for PayPal order {capture.order_id}", reference=capture.id
        )
    problem = _mismatch(row, capture)
    if problem is not None:
        await ledger_db.merge_metadata(conn, row.id, {"anomaly": problem, "anomaly_capture_id": capture.id})
        return _result(Outcome.MISMATCH, problem, row, reference=capture.id)
    capture_meta = {
        "payment_id": capture.order_id,
        "capture_id": capture.id,
        "capture_status": capture.status,
        "capture_amount": f"{capture.amount:.2f}",
        "capture_currency": capture.currency,
        "capture_update_time": capture.update_time,
        "captured_via": source,
    }
    if capture.status in SETTLED_CAPTURE_STATUSES:
        return await _credit(conn, row, capture, capture_meta)
    if row.status == "completed":
        return _result(Outcome.ALREADY_APPLIED, "top-up already completed", row, reference=capture.id)
    if capture.status == "PENDING":
        await ledger_db.merge_metadata(conn, row.id, {**capture_meta, "capture_reason": capture.reason})
        return _result(
            Outcome.PENDING, f"capture pending ({capture.reason or 'no reason given'})", row, reference=capture.id
        )
    await fail_topup(conn, row.id, {**capture_meta, "capture_reason": capture.reason})
    return _result(Outcome.FAILED, f"capture {capture.status.lower()}", row, reference=capture.id)


async def _credit(
    conn: SqlConnection, row: TransactionRow, capture: Capture, capture_meta: dict[str, Any]
) -> PaymentResult:
    if row.status == "completed":  # we or the panel already credited this order
        await ledger_db.claim_key(conn, f"paypal:capture:{capture.id}", row.organization_id, row.id, row.amount)
        return _result(Outcome.ALREADY_APPLIED, "top-up already completed", row, reference=capture.id)
    after = await ledger_db.credit_topup(
        conn,
        key=f"paypal:capture:{capture.id}",
        organization_id=row.organization_id,
        transaction_id=row.id,
        amount=row.amount,
        metadata=capture_meta,
    )
    if after is None:
        return _result(Outcome.ALREADY_APPLIED, f"capture {capture.id} already applied", row, reference=capture.id)
    return _result(Outcome.CREDITED, "wallet credited", row, balance_after=after, reference=capture.id)


async def apply_refund(conn: SqlConnection, refund: Refund, *, reversal: bool, source: str) -> PaymentResult:
    """A refund or reversal of a captured top-up: one negative ledger row per refund id (its
    `provider_transaction_id`, never the order id: the panel finishes a capture by reading the
    first row with the order id), and the wallet debited by that much even if it goes negative
    (staff are alerted by the caller). `refund` is PayPal's copy; its custom_id/invoice_id, when
    PayPal shows them, must be the top-up's. Refunds never take back more in all than the top-up
    credited: one that would is a mismatch."""
    txn_id = await ledger_db.transaction_of_key(conn, f"paypal:capture:{refund.capture_id}")
    row = await ledger_db.transaction_for_update(conn, txn_id) if txn_id else None
    if row is None:
        return PaymentResult(
            Outcome.UNKNOWN_ORDER, f"no credited top-up for capture {refund.capture_id}", reference=refund.id
        )
    problem = _ids_mismatch(row, refund.custom_id or str(row.organization_id), refund.invoice_id)
    if refund.currency != row.currency.upper() or refund.amount <= 0 or refund.amount > row.amount:
        problem = f"refund {refund.amount} {refund.currency} does not fit top-up {row.amount} {row.currency}"
    if problem is not None:
        await ledger_db.merge_metadata(conn, row.id, {"anomaly": problem, "anomaly_refund_id": refund.id})
        return _result(Outcome.MISMATCH, problem, row, reference=refund.id)
    refund_key = f"paypal:refund:{refund.id}"
    refunded = await ledger_db.refunded_so_far(conn, row.organization_id, row.id)  # the top-up row is locked
    if refunded + refund.amount > row.amount and await ledger_db.transaction_of_key(conn, refund_key) is None:
        problem = (
            f"refund {refund.amount} {refund.currency} would take back {refunded + refund.amount} in all "
            f"from top-up {row.amount} {row.currency}"
        )
        await ledger_db.merge_metadata(conn, row.id, {"anomaly": problem, "anomaly_refund_id": refund.id})
        return _result(Outcome.MISMATCH, problem, row, reference=refund.id)
    if not await ledger_db.claim_key(conn, refund_key, row.organization_id, None, -refund.amount):
        return _result(
            Outcome.ALREADY_APPLIED,
            f"refund {refund.id} already applied",
            row,
            amount=refund.amount,
            reference=refund.id,
        )
    balances = await ledger_db.change_wallet(conn, row.organization_id, -refund.amount)
    if balances is None:
        raise LookupError(f"organisation {row.organization_id} has no wallet")
    before, after = balances
    kind = "reversal" if reversal else "refund"
    refund_txn = await ledger_db.insert_transaction(
        conn,
        organization_id=row.organization_id,
        amount=-refund.amount,
        currency=row.currency,
        payment_method="paypal",
        payment_provider="paypal",
        provider_transaction_id=refund.id,  # never the order id: the panel reads the first row with it
        status="completed",
        description=f"PayPal {kind} of top-up {row.provider_transaction_id}",
        metadata={
            "kind": kind,
            "refund_id": refund.id,
            "order_id": row.provider_transaction_id,
            "capture_id": refund.capture_id,
            "topup_transaction_id": str(row.id),
            "balance_before": f"{before:.2f}",
            "balance_after": f"{after:.2f}",
            "applied_via": source,
        },
    )
    await ledger_db.set_key_transaction(conn, refund_key, refund_txn)
    return _result(
        Outcome.REFUNDED, f"{kind} applied", row, amount=refund.amount, balance_after=after, reference=refund.id
    )


async def record_anomaly(
    conn: SqlConnection, detail: str, reference: str, *, order_id: str | None = None, capture_id: str | None = None
) -> PaymentResult:
    """A notification PayPal's own copy contradicts (forged, garbled or about someone else's money):
    nothing moves; the top-up it claimed to be about, if we have one, keeps a note for staff."""
    row = await ledger_db.topup_by_order_for_update(conn, order_id) if order_id else None
    if row is None and capture_id:
        txn_id = await ledger_db.transaction_of_key(conn, f"paypal:capture:{capture_id}")
        row = await ledger_db.transaction_for_update(conn, txn_id) if txn_id else None
    if row is None:
        return PaymentResult(Outcome.UNKNOWN_ORDER, detail, reference=reference)
    await ledger_db.merge_metadata(conn, row.id, {"anomaly": detail, "anomaly_reference": reference})
    return _result(Outcome.MISMATCH, detail, row, reference=reference)


# -- an order read back from PayPal -----------------------------------------------------------


async def apply_captured_order(conn: SqlConnection, order: Order, *, source: str) -> list[PaymentResult]:
    """Apply a captured order as read from PayPal (reconciler, return page, approved webhook): its
    first capture, then, once that is credited, its refunds. The capture's result comes first."""
    result = await apply_capture(conn, order.captures[0], source=source)
    if result.outcome not in {Outcome.CREDITED, Outcome.ALREADY_APPLIED}:
        return [result]
    return [result, *await apply_order_refunds(conn, order, source=source)]


async def apply_order_refunds(conn: SqlConnection, order: Order, *, source: str) -> list[PaymentResult]:
    """The order's completed refunds, each applied as its webhook would be (same ledger key), so the
    wallet is right even when those webhooks were lost or went dead before the capture was credited,
    and a webhook that still comes is ALREADY_APPLIED. Pending refunds wait for their webhook."""
    return [
        await apply_refund(conn, refund, reversal=False, source=source)
        for refund in order.refunds
        if refund.status == "COMPLETED"
    ]
