"""Who hears about a payment result and what the audit trail records, written in the same
transaction as the money movement (through the outbox), so a crash loses neither."""

from __future__ import annotations

import logging

from bot.db import notify_targets
from bot.db.identities import organization
from bot.db.outbox import enqueue
from bot.db.plain import SqlConnection
from bot.services import notices
from bot.services.audit import record as audit_record
from bot.services.identity import SlackRef
from bot.services.topups import Outcome, PaymentResult
from bot.settings import Settings

log = logging.getLogger(__name__)

ACTIVITY_EVENT = {
    Outcome.CREDITED: ("wallet.topup.complete", "success"),
    Outcome.PENDING: ("wallet.topup.pending", "info"),
    Outcome.FAILED: ("wallet.topup.failed", "warning"),
    Outcome.REFUNDED: ("wallet.refund", "warning"),
    Outcome.MISMATCH: ("payment.anomaly", "error"),
    Outcome.UNKNOWN_ORDER: ("payment.anomaly", "error"),
}


async def enqueue_payment_notices(conn: SqlConnection, result: PaymentResult, settings: Settings) -> None:
    """Queue the DMs, channel posts and staff alerts for `result`, and write its activity row."""
    if result.outcome is Outcome.ALREADY_APPLIED:
        return
    key = f"payment:{result.outcome.value}:{result.transaction_id}:{result.reference}"
    payer = result.slack.get("slack_user_id")
    amount, currency = result.amount, result.currency or "USD"
    billing = (
        await notify_targets.bound_channels(conn, result.organization_id, "billing")
        if result.organization_id and result.outcome in {Outcome.CREDITED, Outcome.REFUNDED}
        else []
    )
    needs_name = payer or billing or result.outcome.is_anomaly or result.outcome is Outcome.REFUNDED
    org = await organization(conn, result.organization_id) if result.organization_id and needs_name else None
    org_name = org.name if org else "your organisation"
    if result.outcome is Outcome.CREDITED and amount is not None and result.balance_after is not None:
        if payer:
            await enqueue(conn, payer, notices.topup_completed_dm(amount, currency, result.balance_after, org_name),
                          dedupe_key=key + ":payer")  # fmt: skip
        for channel in billing:
            message = notices.topup_completed_channel(amount, currency, result.balance_after, org_name, payer)
            await enqueue(conn, channel, message, dedupe_key=f"{key}:{channel}")
    elif result.outcome is Outcome.PENDING and payer and amount is not None:
        await enqueue(conn, payer, notices.topup_pending_dm(amount, currency, result.detail), dedupe_key=key + ":payer")
    elif result.outcome is Outcome.FAILED and payer and amount is not None:
        message = notices.topup_failed_dm(amount, currency, settings.slack_command)
        await enqueue(conn, payer, message, dedupe_key=key + ":payer")
    elif result.outcome is Outcome.REFUNDED and amount is not None and result.balance_after is not None:
        reversal = "reversal" in result.detail
        message = notices.topup_refunded_channel(amount, currency, result.balance_after, org_name, reversal=reversal)
        for channel in billing:
            await enqueue(conn, channel, message, dedupe_key=f"{key}:{channel}")
        lines = [f"Organisation: {org_name}", f"Amount: {amount} {currency}", f"Balance now: {result.balance_after}"]
        title = "PayPal reversal (chargeback)" if reversal else "PayPal refund"
        await alert_staff(conn, settings, title + (" — wallet is negative" if result.balance_after < 0 else ""),
                          lines, dedupe_key=key + ":staff")  # fmt: skip
    elif result.outcome.is_anomaly:
        lines = [result.detail, f"Organisation: {org_name}", f"PayPal reference: {result.reference or 'unknown'}",
                 "No money was moved."]  # fmt: skip
        await alert_staff(conn, settings, "Payment anomaly", lines, dedupe_key=key + ":staff")
    await _record_activity(conn, result)


async def alert_staff(
    conn: SqlConnection, settings: Settings, title: str, lines: list[str], *, dedupe_key: str | None = None
) -> None:
    """Post to ADMIN_CHANNEL through the outbox; without one, the alert only reaches the log."""
    log.warning("payments.staff_alert", extra={"title": title, "details": " | ".join(lines)})
    if settings.admin_channel:
        await enqueue(conn, settings.admin_channel, notices.payments_alert(title, lines), dedupe_key=dedupe_key)


async def _record_activity(conn: SqlConnection, result: PaymentResult) -> None:
    event = ACTIVITY_EVENT.get(result.outcome)
    if event is None:
        return
    event_type, status = event
    metadata = {
        "reference": result.reference,
        "amount": f"{result.amount:.2f}" if result.amount is not None else None,
        "currency": result.currency,
        "detail": result.detail,
    }
    slack = SlackRef(
        enterprise_id=str(result.slack.get("slack_enterprise_id") or ""),
        team_id=str(result.slack.get("slack_team_id") or ""),
        user_id=str(result.slack.get("slack_user_id") or ""),
    )
    await audit_record(
        conn,
        user_id=result.user_id,  # type: ignore[arg-type]
        slack=slack,
        event_type=event_type,
        entity_type="payment_transaction" if result.user_id else "system",
        entity_id=str(result.transaction_id) if result.transaction_id else result.reference,
        organization_id=result.organization_id,
        message=f"{event_type}: {result.detail}",
        status=status,
        metadata=metadata,
    )
