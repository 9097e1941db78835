"""The PayPal inbox worker: claims stored events (SKIP LOCKED, leased), applies them, retries with
backoff, and gives up loudly (dead + staff alert) after too many attempts.

An event that failed only because PayPal cannot say yet (`WaitingOnPayPal`: PayPal unreachable, or
a refund PayPal still holds as PENDING) waits instead: capped backoff, no attempt counted, never
dead for that reason, and one staff alert once it has waited as many rounds as a failing event gets
before it is dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import paypal_events as inbox_db
from bot.db.paypal_events import InboxEvent
from bot.metrics import Metrics
from bot.paypal.models import MalformedResource
from bot.services.payment_notices import alert_staff
from bot.services.paypal_copies import WaitingOnPayPal
from bot.services.paypal_events import PayPalEventProcessor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboxPolicy:
    batch_size: int = 20
    concurrency: int = 4
    lease_seconds: float = 120.0
    max_attempts: int = 10
    backoff_base: float = 5.0
    backoff_cap: float = 3600.0
    idle_poll_seconds: float = 1.0
    #: Waiting for PayPal retries at least this often (and never less often than `backoff_cap`).
    wait_backoff_cap: float = 900.0

    def backoff(self, attempts: int, *, cap: float | None = None) -> float:
        ceiling = min(cap or self.backoff_cap, self.backoff_base * (2 ** max(0, attempts - 1)))
        return ceiling * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security

    def wait_backoff(self, waits: int) -> float:
        return self.backoff(waits + 1, cap=min(self.backoff_cap, self.wait_backoff_cap))


class PayPalEventWorker:
    def __init__(self, processor: PayPalEventProcessor, metrics: Metrics, policy: InboxPolicy | None = None) -> None:
        self._processor = processor
        self._engine: AsyncEngine = processor.engine
        self._metrics = metrics
        self.policy = policy or InboxPolicy()
        self._slots = asyncio.Semaphore(self.policy.concurrency)

    async def run_once(self) -> int:
        events = await inbox_db.claim(
            self._engine, limit=self.policy.batch_size, lease_seconds=self.policy.lease_seconds
        )
        await asyncio.gather(*(self._handle(event) for event in events))
        return len(events)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:
                log.exception("paypal.inbox.round_failed")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.policy.idle_poll_seconds)

    async def _handle(self, event: InboxEvent) -> None:
        async with self._slots:
            try:
                outcome = await self._processor.process(event)
            except Exception as exc:  # recorded on the inbox row; the work itself was rolled back
                await self._failed(event, exc)
                return
        self._metrics.paypal_events_applied.labels(outcome=outcome.split(":", 1)[0]).inc()
        log.info("paypal.event.applied", extra={"event_id": event.event_id, "outcome": outcome})

    async def _failed(self, event: InboxEvent, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, WaitingOnPayPal):
            await self._waiting(event, error, exc.advice)
            return
        dead = isinstance(exc, MalformedResource) or event.attempts >= self.policy.max_attempts
        delay = self.policy.backoff(event.attempts)
        await inbox_db.mark_failed(self._engine, event.event_id, error, delay_seconds=delay, dead=dead)
        self._metrics.paypal_events_applied.labels(outcome="dead" if dead else "retry").inc()
        if not dead:
            log.warning("paypal.event.retry", extra={"event_id": event.event_id, "error": error, "delay": round(delay)})
            return
        log.error("paypal.event.dead", extra={"event_id": event.event_id, "error": error})
        async with self._engine.begin() as conn:
            lines = [f"Event {event.event_id} ({event.event_type})", error, "Replay with `/cs admin payments`."]
            await alert_staff(
                conn, self._processor.settings, "PayPal event failed permanently", lines,
                dedupe_key=f"paypal:dead:{event.event_id}:{event.attempts}",
            )  # fmt: skip

    async def _waiting(self, event: InboxEvent, error: str, advice: str) -> None:
        """PayPal cannot say yet: the event waits (never applied from its body, never dropped)."""
        delay = self.policy.wait_backoff(event.waits)
        await inbox_db.mark_waiting(self._engine, event.event_id, error, delay_seconds=delay)
        self._metrics.paypal_events_applied.labels(outcome="waiting").inc()
        log.warning("paypal.event.waiting", extra={"event_id": event.event_id, "error": error, "delay": round(delay)})
        if event.waits + 1 != self.policy.max_attempts:
            return
        async with self._engine.begin() as conn:
            lines = [
                f"Event {event.event_id} ({event.event_type}) has waited {event.waits + 1} rounds for PayPal.",
                error,
                advice,
            ]
            await alert_staff(
                conn, self._processor.settings, "PayPal event waiting for PayPal", lines,
                dedupe_key=f"paypal:waiting:{event.event_id}",
            )  # fmt: skip
