"""The PayPal inbox worker: claims stored events (SKIP LOCKED, leased), applies them, retries with
backoff, and gives up loudly (dead + staff alert) after too many attempts."""

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

    def backoff(self, attempts: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempts - 1)))
        return ceiling * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security


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
