"""APScheduler 3.11 as a ticker: every replica runs the same in-memory scheduler, and each tick
decides from PostgreSQL what is due (`bot_job_runs`, ledger keys), so N replicas act once.

Every periodic job of the bot is a tick (`async def tick(now) -> object`): billing and summaries
claim their own slots; the other periodic jobs (PayPal reconciler, VPS sync, ticket reconciler,
SLA reminders, digest, housekeeping) are wrapped by `slotted`, so one replica runs each slot.
Continuous workers (outbox, PayPal inbox, durable jobs, the tickets LISTEN loop) are not ticks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, system_clock
from bot.db.billing_reports import claim_slot, finish_slot
from bot.jobs.ticks import billing_tick, summary_tick
from bot.settings import Settings

log = logging.getLogger(__name__)

Tick = Callable[[datetime], Awaitable[object]]

BILLING_EVERY_SECONDS = 300.0
SUMMARY_EVERY_SECONDS = 300.0
JITTER_SECONDS = 20


@dataclass(frozen=True)
class PeriodicJob:
    """A periodic job for the ticker: `run(now)` every `every_seconds`, first after `first_after_seconds`."""

    name: str
    every_seconds: float
    run: Tick
    first_after_seconds: float = 0.0


def slot_of(now: datetime, every_seconds: float) -> datetime:
    """The start of the period `now` falls in (periods are aligned to the epoch, so replicas agree)."""
    seconds = now.timestamp()
    return datetime.fromtimestamp(seconds - seconds % every_seconds, tz=UTC)


def slotted(engine: AsyncEngine, job: PeriodicJob) -> Tick:
    """Run `job` at most once per period across replicas: whoever claims the slot runs it."""

    async def tick(now: datetime) -> object:
        slot = slot_of(now, job.every_seconds)
        async with engine.begin() as conn:
            if await claim_slot(conn, job.name, slot, fallback_from=slot, floor=slot) is None:
                return None  # another replica has this period
        result = await job.run(now)
        async with engine.begin() as conn:
            await finish_slot(conn, job.name, slot, {"result": str(result)[:200]})
        return result

    return tick


class Ticker:
    """An `AsyncIOScheduler` (UTC, memory store) whose jobs call ticks with the current time of `clock`."""

    def __init__(self, clock: Clock = system_clock) -> None:
        self._clock = clock
        self.scheduler = AsyncIOScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
        )
        self._running: set[asyncio.Task[None]] = set()

    def add(self, name: str, tick: Tick, *, every_seconds: float, first_after_seconds: float = 0.0) -> None:
        self.scheduler.add_job(
            self._run_tick,
            "interval",
            args=(name, tick),
            id=name,
            name=name,
            seconds=every_seconds,
            jitter=JITTER_SECONDS if every_seconds > JITTER_SECONDS * 3 else None,
            next_run_time=datetime.now(tz=UTC) + timedelta(seconds=first_after_seconds),
        )

    def start(self) -> None:
        """Start on the running event loop (AsyncIOScheduler needs one)."""
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop ticking now; APScheduler cancels ticks still running (use `stop` to let them finish)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Pause, wait up to `grace_seconds` for running ticks (each commits or rolls back whole), shut down."""
        if self.scheduler.running:
            self.scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=grace_seconds)
        self.shutdown()

    @property
    def names(self) -> list[str]:
        return [job.id for job in self.scheduler.get_jobs()]

    async def _run_tick(self, name: str, tick: Tick) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await tick(self._clock())
        except Exception:
            log.exception("scheduler.tick_failed", extra={"tick": name})
        finally:
            if task is not None:
                self._running.discard(task)


def start_scheduler(
    engine: AsyncEngine,
    settings: Settings,
    *,
    first_after_seconds: float = 60.0,
    periodic: Sequence[PeriodicJob] = (),
    clock: Clock = system_clock,
) -> Ticker | None:
    """The ticker for `csbot serve`: billing (unless BILLING_ENABLED is false), summaries and the
    other features' periodic jobs; None when SCHEDULER_ENABLED is false. Billing and summaries first
    tick `first_after_seconds` after start."""
    if not settings.scheduler_enabled:
        return None
    ticker = Ticker(clock)
    for job in periodic:
        ticker.add(job.name, slotted(engine, job), every_seconds=job.every_seconds,
                   first_after_seconds=job.first_after_seconds)  # fmt: skip
    if settings.billing_enabled:
        ticker.add("billing", partial(billing_tick, engine, settings), every_seconds=BILLING_EVERY_SECONDS,
                   first_after_seconds=first_after_seconds)  # fmt: skip
    ticker.add("summaries", partial(summary_tick, engine, settings), every_seconds=SUMMARY_EVERY_SECONDS,
               first_after_seconds=first_after_seconds)  # fmt: skip
    ticker.start()
    log.info("scheduler.started", extra={"ticks": ",".join(ticker.names)})
    return ticker
