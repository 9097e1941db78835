"""Finishing top-ups nobody told us about: asks PayPal about top-ups still pending after a while
(lost webhooks, a closed browser tab, outages longer than PayPal's 3 days of retries)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import ledger as ledger_db
from bot.db.ledger import TransactionRow
from bot.paypal.client import PayPalClient, PayPalError
from bot.paypal.models import MalformedResource
from bot.services.payment_notices import enqueue_payment_notices
from bot.services.topups import Outcome, PaymentResult, apply_captured_order, fail_topup, request_id_for_capture
from bot.settings import Settings

log = logging.getLogger(__name__)

#: PayPal's approval window: 3 h to redirect the payer plus 3 h to approve.
APPROVAL_WINDOW = timedelta(hours=6)
UNAPPROVED_STATUSES = {"CREATED", "SAVED", "PAYER_ACTION_REQUIRED"}


@dataclass
class TopUpReconciler:
    engine: AsyncEngine
    settings: Settings
    paypal: PayPalClient
    older_than_minutes: int = 15
    batch_size: int = 50

    async def run_once(self, now: datetime | None = None) -> list[PaymentResult]:
        """Reconcile one batch of stale pending top-ups; returns what happened to each (a captured
        top-up's refunds, applied with it, follow its own result)."""
        now = now or datetime.now(UTC)
        async with self.engine.connect() as conn:
            stale = await ledger_db.stale_pending_topups(
                conn, older_than_minutes=self.older_than_minutes, limit=self.batch_size
            )
        results = []
        for row in stale:
            try:
                results.extend(await self._reconcile(row, now))
            except (PayPalError, MalformedResource) as error:  # one odd order must not stop the batch
                log.warning("paypal.reconcile.failed", extra={"transaction_id": str(row.id), "error": str(error)})
        return results

    async def _reconcile(self, row: TransactionRow, now: datetime) -> list[PaymentResult]:
        order_id = row.provider_transaction_id or ""
        try:
            order = await self.paypal.get_order(order_id)
        except PayPalError as error:
            if error.status == 404:
                return [await self._fail(row, {"reason": "order_not_found", "paypal_status_code": 404})]
            raise
        if order.status == "APPROVED":
            order = await self.paypal.capture_order(order.id, request_id=request_id_for_capture(order.id))
        if order.captures:
            async with self.engine.begin() as conn:
                results = await apply_captured_order(conn, order, source="reconciler")
                for result in results:
                    await enqueue_payment_notices(conn, result, self.settings)
            return results
        if order.status == "VOIDED" or (order.status in UNAPPROVED_STATUSES and now - row.created_at > APPROVAL_WINDOW):
            return [await self._fail(row, {"reason": "abandoned", "paypal_order_status": order.status})]
        return [PaymentResult(Outcome.PENDING, f"order {order.id} still {order.status}", transaction_id=row.id)]

    async def _fail(self, row: TransactionRow, metadata: dict[str, object]) -> PaymentResult:
        async with self.engine.begin() as conn:
            moved = await fail_topup(conn, row.id, metadata)
            result = PaymentResult(
                Outcome.FAILED if moved else Outcome.ALREADY_APPLIED, f"top-up {metadata['reason']}",
                transaction_id=row.id, organization_id=row.organization_id, amount=row.amount, currency=row.currency,
                slack={k: v for k, v in row.metadata.items() if k.startswith("slack_")},
                reference=row.provider_transaction_id,
            )  # fmt: skip
            await enqueue_payment_notices(conn, result, self.settings)
        return result
