"""The durable job worker: runs ``bot_jobs`` rows by kind (rDNS, power-off), retried with backoff.

Several replicas may run it: claims use ``FOR UPDATE SKIP LOCKED`` and a lease, so a crashed
worker's job is picked up again once its lease expires. A handler raises ``RetryLater`` (or any
exception) to be retried; after ``max_attempts`` the job is dead, which staff are told about.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import jobs as jobs_db
from bot.db.jobs import Job, RetryLater

log = logging.getLogger(__name__)
JobHandler = Callable[[dict[str, Any]], Awaitable[None]]
DeadHandler = Callable[[Job, str], Awaitable[None]]


@dataclass(frozen=True)
class JobPolicy:
    batch_size: int = 20
    lease_seconds: float = 120.0
    backoff_base: float = 15.0
    backoff_cap: float = 1800.0
    idle_poll_seconds: float = 2.0

    def backoff(self, attempts: int) -> float:
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempts - 1)))
        return ceiling * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security


class JobWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        handlers: Mapping[str, JobHandler],
        policy: JobPolicy | None = None,
        on_dead: DeadHandler | None = None,
    ) -> None:
        self._engine = engine
        self._handlers = dict(handlers)
        self.policy = policy or JobPolicy()
        self._on_dead = on_dead

    async def run_once(self) -> int:
        batch = await jobs_db.claim(self._engine, limit=self.policy.batch_size, lease_seconds=self.policy.lease_seconds)
        for job in batch:
            await self._run(job)
        return len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                attempted = await self.run_once()
            except Exception:
                log.exception("jobs.round_failed")
                attempted = 0
            if attempted == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.policy.idle_poll_seconds)

    async def _run(self, job: Job) -> None:
        handler = self._handlers.get(job.kind)
        extra = {"job_id": job.id, "kind": job.kind, "attempts": job.attempts}
        if handler is None:
            await self._dead(job, f"no handler for job kind {job.kind!r}")
            return
        try:
            await handler(job.payload)
        except RetryLater as later:
            await self._retry(job, str(later), later.delay_seconds)
            return
        except Exception as exc:  # every failure is settled durably below
            log.warning("jobs.failed", exc_info=True, extra=extra)
            await self._retry(job, f"{type(exc).__name__}: {exc}", None)
            return
        await jobs_db.mark_done(self._engine, job.id)
        log.info("jobs.done", extra=extra)

    async def _retry(self, job: Job, error: str, delay: float | None) -> None:
        if job.attempts >= job.max_attempts:
            await self._dead(job, error)
            return
        delay = self.policy.backoff(job.attempts) if delay is None else delay
        await jobs_db.retry_later(self._engine, job.id, delay_seconds=delay, error=error)
        log.info("jobs.retry", extra={"job_id": job.id, "kind": job.kind, "delay": round(delay, 2), "error": error})

    async def _dead(self, job: Job, error: str) -> None:
        await jobs_db.mark_dead(self._engine, job.id, error)
        log.error("jobs.dead", extra={"job_id": job.id, "kind": job.kind, "error": error})
        if self._on_dead is not None:
            try:
                await self._on_dead(job, error)
            except Exception:
                log.exception("jobs.dead_notice_failed", extra={"job_id": job.id})
