"""Periodic ticket jobs as plain async functions of `now` (tests drive them with a chosen clock).

`bot.app` runs them with `_every` until the scheduler issue replaces those loops with
database-decided ticks; each job is idempotent, so running it on several replicas is harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.jobs.tickets_listener import TicketListener
from bot.services import tickets_sla, tickets_sync
from bot.settings import Settings


async def reconcile_tickets(engine: AsyncEngine, settings: Settings, now: datetime) -> int:
    """Mirror whatever the LISTEN loop missed (downtime, dropped connection, roots just delivered)."""
    del now  # mirroring does not depend on the time; the signature matches the other jobs
    return await tickets_sync.reconcile(engine, default_channel=settings.support_channel)


async def ticket_sla_reminders(engine: AsyncEngine, settings: Settings, now: datetime) -> int:
    return await tickets_sla.remind_first_response(engine, default_channel=settings.support_channel, now=now)


async def ticket_digest(engine: AsyncEngine, settings: Settings, now: datetime) -> bool:
    return await tickets_sla.post_digest(
        engine, default_channel=settings.support_channel, timezone=settings.timezone, now=now
    )


def wall_clock() -> datetime:
    return datetime.now(UTC)


Every = Callable[[float, Callable[[], Awaitable[object]], asyncio.Event], Awaitable[None]]


def start_ticket_workers(
    engine: AsyncEngine,
    database_url: str,
    settings: Settings,
    stop: asyncio.Event,
    every: Every,
    *,
    listen: bool = True,
    periodic: bool = True,
    sync_seconds: float = 30.0,
    sla_seconds: float = 60.0,
    digest_seconds: float = 300.0,
) -> list[asyncio.Task[None]]:
    """The LISTEN loop and the periodic ticket jobs as tasks (started from `bot.app` workers)."""
    tasks: list[asyncio.Task[None]] = []
    if listen:
        listener = TicketListener(engine, database_url, default_channel=settings.support_channel)
        tasks.append(asyncio.create_task(listener.run(stop), name="tickets-listener"))
    if periodic:
        for name, job, seconds in (
            ("tickets-reconciler", reconcile_tickets, sync_seconds),
            ("tickets-sla", ticket_sla_reminders, sla_seconds),
            ("tickets-digest", ticket_digest, digest_seconds),
        ):
            tick = partial(_tick, job, engine, settings)
            tasks.append(asyncio.create_task(every(seconds, tick, stop), name=name))
    return tasks


async def _tick(
    job: Callable[[AsyncEngine, Settings, datetime], Awaitable[object]], engine: AsyncEngine, settings: Settings
) -> object:
    return await job(engine, settings, wall_clock())
