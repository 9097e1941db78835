"""The browser side of a PayPal top-up: where PayPal sends the payer back after approving or cancelling.

Each order's return/cancel URL carries `ref=<txn id>.<mac>`, an HMAC of the top-up's id under
BOT_SECRET (domain-separated), so a page only acts when the visitor came from one of our orders
and the `token` PayPal appends is that top-up's order. Anything else gets the same generic answer,
which reveals nothing about any top-up.

Capturing here is safe against the webhook worker and the reconciler doing the same: the capture
carries a deterministic PayPal-Request-Id, and `apply_capture` moves the money once per capture id.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import ledger as ledger_db
from bot.db.ledger import TransactionRow
from bot.paypal.client import PayPalClient, PayPalError
from bot.paypal.models import MalformedResource, Order
from bot.services.audit import record as audit_record
from bot.services.identity import SlackRef
from bot.services.payment_notices import enqueue_payment_notices
from bot.services.topups import Outcome, apply_captured_order, fail_topup, request_id_for_capture
from bot.settings import Settings

log = logging.getLogger(__name__)

_REF_DOMAIN = b"paypal-return\x00"
CANCEL_REASON = "user_cancelled"


# -- the signed reference ---------------------------------------------------------------------------


def _mac(secret: str, transaction_id: uuid.UUID) -> str:
    digest = hmac.new(secret.encode(), _REF_DOMAIN + str(transaction_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_ref(secret: str, transaction_id: uuid.UUID) -> str:
    """`<txn id>.<mac>`: url-safe, proves the URL was made by us for this top-up."""
    return f"{transaction_id}.{_mac(secret, transaction_id)}"


def verify_ref(secret: str, ref: str | None) -> uuid.UUID | None:
    """The top-up id a genuine `ref` names, or None (compared in constant time)."""
    if not ref or len(ref) > 200 or "." not in ref:
        return None
    raw_id, _, mac = ref.partition(".")
    try:
        transaction_id = uuid.UUID(raw_id)
    except ValueError:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(secret, transaction_id).encode()):
        return None
    return transaction_id


def page_urls(public_url: str, secret: str, transaction_id: uuid.UUID) -> tuple[str, str]:
    """The (return, cancel) URLs given to PayPal for one top-up."""
    ref = sign_ref(secret, transaction_id)
    base = public_url.rstrip("/")
    return f"{base}/paypal/return?ref={ref}", f"{base}/paypal/cancel?ref={ref}"


# -- what a page shows ------------------------------------------------------------------------------


class PageKind(enum.Enum):
    UNKNOWN = "unknown"  # not one of our orders (or not this visitor's): the generic page
    UNAVAILABLE = "unavailable"  # PayPal or BOT_SECRET is not configured on this bot
    COMPLETED = "completed"
    PENDING = "pending"
    DECLINED = "declined"
    NOT_APPROVED = "not_approved"
    PROCESSING = "processing"  # PayPal could not be asked now; the webhook/reconciler finishes it
    REVIEW = "review"  # the capture does not match the top-up: staff were alerted
    CANCELLED = "cancelled"
    ALREADY_PAID = "already_paid"  # cancel page for a top-up that was already paid or is being paid


@dataclass(frozen=True)
class TopupPage:
    kind: PageKind
    amount: Decimal | None = None
    currency: str | None = None
    balance: Decimal | None = None


UNKNOWN = TopupPage(PageKind.UNKNOWN)
UNAVAILABLE = TopupPage(PageKind.UNAVAILABLE)
#: PayPal errors that mean the payer's money was refused, not that PayPal had a problem.
DECLINED_ISSUES = frozenset(
    {"INSTRUMENT_DECLINED", "TRANSACTION_REFUSED", "PAYER_CANNOT_PAY", "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED"}
)


def _is_cancelled(row: TransactionRow) -> bool:
    return row.status == "failed" and bool(row.metadata.get("cancel_reason"))


async def _our_topup(engine: AsyncEngine, secret: str, ref: str | None, token: str | None) -> TransactionRow | None:
    """The top-up `ref` names, if genuine and `token` (PayPal's order id) is that top-up's order."""
    transaction_id = verify_ref(secret, ref)
    if transaction_id is None or not token:
        return None
    async with engine.connect() as conn:
        row = await ledger_db.transaction(conn, transaction_id)
    if row is None or row.payment_method != "paypal" or row.amount <= 0:
        return None
    if row.provider_transaction_id is None or not hmac.compare_digest(
        row.provider_transaction_id.encode(), token.encode()
    ):
        return None
    return row


async def _completed(engine: AsyncEngine, row: TransactionRow) -> TopupPage:
    """The completed page, with the balance read after the credit committed."""
    async with engine.connect() as conn:
        wallet = await ledger_db.read_wallet(conn, row.organization_id)
    return TopupPage(PageKind.COMPLETED, row.amount, row.currency, wallet.balance if wallet is not None else None)


def _page_for(kind: PageKind, row: TransactionRow) -> TopupPage:
    return TopupPage(kind, row.amount, row.currency)


async def handle_return(
    engine: AsyncEngine, paypal: PayPalClient | None, settings: Settings, *, ref: str | None, token: str | None
) -> TopupPage:
    """The payer approved (or says so): capture the order and apply its first capture (and, if it
    was refunded since, its refunds)."""
    secret = settings.bot_secret.get_secret_value() if settings.bot_secret else None
    if secret is None or paypal is None:
        return UNAVAILABLE
    row = await _our_topup(engine, secret, ref, token)
    if row is None:
        return UNKNOWN
    if row.status == "completed":
        return await _completed(engine, row)
    if row.status != "pending":  # failed, cancelled or refunded: never capture it from here
        return _page_for(PageKind.CANCELLED if _is_cancelled(row) else PageKind.DECLINED, row)
    order_id = str(row.provider_transaction_id)
    try:
        if row.metadata.get("capture_status") == "PENDING":
            order = await paypal.get_order(order_id)  # already captured: only look again
        else:
            order = await paypal.capture_order(order_id, request_id=request_id_for_capture(order_id))
    except PayPalError as error:
        log.info("paypal_return.paypal_error", extra={"order_id": order_id, "error": str(error)})
        if error.issue == "ORDER_NOT_APPROVED":
            return _page_for(PageKind.NOT_APPROVED, row)
        if error.issue in DECLINED_ISSUES:
            return _page_for(PageKind.DECLINED, row)
        return _page_for(PageKind.PROCESSING, row)
    except MalformedResource:
        log.warning("paypal_return.malformed_order", extra={"order_id": order_id}, exc_info=True)
        return _page_for(PageKind.PROCESSING, row)
    if not order.captures:
        return _page_for(PageKind.PROCESSING, row)
    if row.metadata.get("capture_status") == "PENDING" and order.captures[0].status == "PENDING":
        return _page_for(PageKind.PENDING, row)
    return await _apply(engine, settings, row, order)


async def _apply(engine: AsyncEngine, settings: Settings, row: TransactionRow, order: Order) -> TopupPage:
    async with engine.begin() as conn:
        results = await apply_captured_order(conn, order, source="return_page")
        for each in results:
            await enqueue_payment_notices(conn, each, settings)
    result = results[0]
    log.info(
        "paypal_return.applied",
        extra={
            "transaction_id": str(row.id),
            "outcome": result.outcome.value,
            "capture_id": order.captures[0].id,
            "refund_results": len(results) - 1,
        },
    )
    if result.outcome in {Outcome.CREDITED, Outcome.ALREADY_APPLIED}:
        async with engine.connect() as conn:
            now = await ledger_db.transaction(conn, row.id)
        if now is not None and now.status == "completed":
            return await _completed(engine, now)
        return _page_for(PageKind.PENDING, row)
    if result.outcome is Outcome.PENDING:
        return _page_for(PageKind.PENDING, row)
    if result.outcome is Outcome.FAILED:
        return _page_for(PageKind.DECLINED, row)
    return _page_for(PageKind.REVIEW, row)


async def handle_cancel(engine: AsyncEngine, settings: Settings, *, ref: str | None, token: str | None) -> TopupPage:
    """The payer cancelled at PayPal: the pending top-up becomes `failed` with a cancel reason."""
    secret = settings.bot_secret.get_secret_value() if settings.bot_secret else None
    if secret is None:
        return UNAVAILABLE
    row = await _our_topup(engine, secret, ref, token)
    if row is None:
        return UNKNOWN
    async with engine.begin() as conn:
        locked = await ledger_db.transaction_for_update(conn, row.id)
        if locked is None:
            return UNKNOWN
        if locked.status == "completed" or locked.metadata.get("capture_id"):
            # Paid, or a capture is in flight (e.g. pending review): cancelling would lose track of money.
            return _page_for(PageKind.ALREADY_PAID, locked)
        if locked.status != "pending":
            return _page_for(PageKind.CANCELLED if _is_cancelled(locked) else PageKind.DECLINED, locked)
        await fail_topup(
            conn,
            locked.id,
            {
                "cancel_reason": CANCEL_REASON,
                "cancelled_at": datetime.now(UTC).isoformat(),
                "cancelled_via": "cancel_page",
            },
        )
        await _record_cancel(conn, locked)
    log.info("paypal_cancel.cancelled", extra={"transaction_id": str(row.id)})
    return _page_for(PageKind.CANCELLED, row)


async def _record_cancel(conn: AsyncConnection, row: TransactionRow) -> None:
    meta = row.metadata
    started_by = meta.get("user_id")
    slack = SlackRef(
        enterprise_id=str(meta.get("slack_enterprise_id") or ""),
        team_id=str(meta.get("slack_team_id") or ""),
        user_id=str(meta.get("slack_user_id") or ""),
    )
    await audit_record(
        conn,
        user_id=uuid.UUID(str(started_by)) if started_by else None,  # type: ignore[arg-type]
        slack=slack,
        event_type="wallet.topup.cancel",
        entity_type="payment_transaction" if started_by else "system",
        entity_id=str(row.id),
        organization_id=row.organization_id,
        message=f"Top-up of {row.amount:.2f} {row.currency} cancelled at PayPal",
        status="info",
        channel_id=str(meta.get("slack_channel_id") or "") or None,
        metadata={
            "amount": f"{row.amount:.2f}",
            "currency": row.currency,
            "paypal_order_id": row.provider_transaction_id,
            "cancel_reason": CANCEL_REASON,
            "source": "paypal_cancel_page",
        },
    )
