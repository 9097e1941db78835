"""Periodic ticket jobs as plain async functions of `now` (tests drive them with a chosen clock).

They run as scheduler ticks (one replica per period, see `bot.jobs.scheduler.slotted`); each is
also idempotent on its own, so a second run of a period would post nothing twice.
"""

from __future__ import annotations

import asyncio
import zoneinfo
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import tickets as tickets_db
from bot.db.outbox import enqueue
from bot.db.tickets import TicketRow
from bot.jobs.scheduler import PeriodicJob
from bot.jobs.tickets_listener import TicketListener
from bot.rendering import tickets as render
from bot.services import tickets_sla, tickets_sync
from bot.settings import Settings


async def reconcile_tickets(engine: AsyncEngine, settings: Settings, now: datetime) -> int:
    """Mirror whatever the LISTEN loop missed (downtime, dropped connection, roots just delivered)."""
    del now  # mirroring does not depend on the time; the signature matches the other jobs
    return await tickets_sync.reconcile(engine, default_channel=settings.support_channel)


FIRST_RESPONSE = "first_response"
BATCH = 100
DIGEST_OLDEST = 10
#: From this many breaches in one run, the triage channel also gets them in one batched message.
BATCHED_FROM = 3
Overdue = tuple[TicketRow, int, str | None]  # the ticket, its SLA hours, its assignee's Slack id


async def ticket_sla_reminders(engine: AsyncEngine, settings: Settings, now: datetime) -> int:
    """Remind about each ticket past its first-response SLA, once: in its card's thread, in one batched
    triage message when several breach together (or a ticket has no card), and one DM per assignee.

    A breach is claimed with a unique (ticket, kind) row before anything is queued, so each ticket gets
    one reminder per breach however many replicas or ticks see it: never one top-level post per ticket.
    """
    async with engine.begin() as conn:
        hours = await tickets_sla.sla_hours(conn)
        channel = await tickets_sync.triage_channel(conn, settings.support_channel)
        breaches = await tickets_db.sla_breaches(conn, now=now, hours=hours, kind=FIRST_RESPONSE, limit=BATCH)
        overdue: list[Overdue] = []
        unthreaded = 0
        for ticket in breaches:
            limit = hours.get(ticket.priority, tickets_sla.DEFAULT_SLA_HOURS["medium"])
            due = ticket.created_at + timedelta(hours=limit)
            if not await tickets_db.claim_sla_reminder(conn, ticket.id, FIRST_RESPONSE, due, now):
                continue
            assignee = await tickets_sync.assignee_slack(conn, ticket)
            overdue.append((ticket, limit, assignee))
            card = await tickets_db.triage_card(conn, ticket.id)
            if card is None:
                unthreaded += 1
                continue
            reminder = render.render_sla_reminder(ticket, limit, assignee, card.ts)
            await enqueue(conn, card.channel, reminder, dedupe_key=f"ticket-sla:{ticket.id}:{FIRST_RESPONSE}")
        if not overdue:
            return 0
        run = f"{now.isoformat()}:{overdue[0][0].id}"
        if channel and (unthreaded or len(overdue) >= BATCHED_FROM):
            await enqueue(conn, channel, render.render_sla_batch(overdue), dedupe_key=f"ticket-sla-batch:{run}")
        for assignee, theirs in _by_assignee(overdue).items():
            dm = render.render_sla_batch(theirs, assigned=True)
            await enqueue(conn, assignee, dm, dedupe_key=f"ticket-sla-dm:{assignee}:{run}")
    return len(overdue)


def _by_assignee(overdue: list[Overdue]) -> dict[str, list[Overdue]]:
    grouped: dict[str, list[Overdue]] = {}
    for item in overdue:
        if item[2]:
            grouped.setdefault(item[2], []).append(item)
    return grouped


async def ticket_digest(engine: AsyncEngine, settings: Settings, now: datetime) -> bool:
    """Post the open-ticket digest once per local day (TIMEZONE), at or after the digest hour."""
    local = now.astimezone(zoneinfo.ZoneInfo(settings.timezone))
    async with engine.begin() as conn:
        raw_hour = await tickets_db.get_setting(conn, tickets_sla.DIGEST_HOUR_KEY)
        hour = int(raw_hour) if raw_hour and raw_hour.isdigit() else tickets_sla.DEFAULT_DIGEST_HOUR
        channel = await tickets_sync.triage_channel(conn, settings.support_channel)
        if channel is None or local.hour < hour:
            return False
        day = local.date().isoformat()
        if not await tickets_db.claim_digest(conn, day, now):
            return False
        counts = await tickets_db.open_counts_by_age(conn, now)
        oldest = await tickets_db.open_tickets(conn, DIGEST_OLDEST)
        await enqueue(conn, channel, render.render_digest(counts, oldest), dedupe_key=f"ticket-digest:{day}")
    return True


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
