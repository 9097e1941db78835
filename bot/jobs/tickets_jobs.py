"""Periodic ticket jobs as plain async functions of `now` (tests drive them with a chosen clock).

They run as scheduler ticks (one replica per period, see `bot.jobs.scheduler.slotted`); each is
also idempotent on its own, so a second run of a period would post nothing twice.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.jobs.scheduler import PeriodicJob
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


def start_ticket_listener(
    engine: AsyncEngine, database_url: str, settings: Settings, stop: asyncio.Event, *, listen: bool = True
) -> list[asyncio.Task[None]]:
    """The LISTEN loop as a task (started from `bot.app` workers); it reconciles on every connect."""
    if not listen:
        return []
    listener = TicketListener(engine, database_url, default_channel=settings.support_channel)
    return [asyncio.create_task(listener.run(stop), name="tickets-listener")]


def ticket_periodic_jobs(
    engine: AsyncEngine,
    settings: Settings,
    *,
    sync_seconds: float = 30.0,
    sla_seconds: float = 60.0,
    digest_seconds: float = 300.0,
) -> list[PeriodicJob]:
    """The reconciler, SLA reminders and the digest as scheduler ticks."""
    return [
        PeriodicJob("tickets-reconciler", sync_seconds, partial(reconcile_tickets, engine, settings)),
        PeriodicJob("tickets-sla", sla_seconds, partial(ticket_sla_reminders, engine, settings)),
        PeriodicJob("tickets-digest", digest_seconds, partial(ticket_digest, engine, settings)),
    ]
