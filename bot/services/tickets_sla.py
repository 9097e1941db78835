"""First-response SLAs and the daily digest of open tickets, as plain functions of `now`.

A breach is claimed with a unique (ticket, kind) row before anything is queued, so each ticket gets
one reminder per breach however many replicas or ticks see it. The reminder goes in the ticket card's
own thread; the triage channel gets one batched message for a run that finds several at once (or any
ticket without a card yet), and each assignee one DM per run: never one top-level post per ticket.
SLA hours come from the `bot_settings` row `ticket_sla_hours` (JSON like {"urgent": 1}), falling
back to the defaults below.
"""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import tickets as tickets_db
from bot.db.outbox import enqueue
from bot.db.tickets import TicketRow
from bot.rendering import tickets as render
from bot.services.tickets_sync import assignee_slack, triage_channel

SLA_HOURS_KEY = "ticket_sla_hours"
DIGEST_HOUR_KEY = "ticket_digest_hour"
DEFAULT_SLA_HOURS = {"urgent": 1, "high": 4, "medium": 24, "low": 72}
DEFAULT_DIGEST_HOUR = 9
FIRST_RESPONSE = "first_response"
BATCH = 100
DIGEST_OLDEST = 10
#: From this many breaches in one run, the triage channel also gets them in one batched message.
BATCHED_FROM = 3


async def sla_hours(conn: AsyncConnection) -> dict[str, int]:
    hours = dict(DEFAULT_SLA_HOURS)
    raw = await tickets_db.get_setting(conn, SLA_HOURS_KEY)
    if raw:
        try:
            configured = json.loads(raw)
        except ValueError:
            configured = {}
        for key, value in configured.items() if isinstance(configured, dict) else ():
            if key in hours and isinstance(value, int) and value > 0:
                hours[key] = value
    return hours


async def remind_first_response(engine: AsyncEngine, *, default_channel: str | None, now: datetime) -> int:
    """Remind about each ticket past its first-response SLA, once: in its card's thread, in one batched
    triage message when several breach together (or a ticket has no card), and one DM per assignee."""
    async with engine.begin() as conn:
        hours = await sla_hours(conn)
        channel = await triage_channel(conn, default_channel)
        breaches = await tickets_db.sla_breaches(conn, now=now, hours=hours, kind=FIRST_RESPONSE, limit=BATCH)
        overdue: list[tuple[TicketRow, int, str | None]] = []
        unthreaded = 0
        for ticket in breaches:
            limit = hours.get(ticket.priority, DEFAULT_SLA_HOURS["medium"])
            due = ticket.created_at + timedelta(hours=limit)
            if not await tickets_db.claim_sla_reminder(conn, ticket.id, FIRST_RESPONSE, due, now):
                continue
            assignee = await assignee_slack(conn, ticket)
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


def _by_assignee(
    overdue: list[tuple[TicketRow, int, str | None]],
) -> dict[str, list[tuple[TicketRow, int, str | None]]]:
    grouped: dict[str, list[tuple[TicketRow, int, str | None]]] = {}
    for item in overdue:
        if item[2]:
            grouped.setdefault(item[2], []).append(item)
    return grouped


async def post_digest(engine: AsyncEngine, *, default_channel: str | None, timezone: str, now: datetime) -> bool:
    """Post the open-ticket digest once per local day, at or after the digest hour."""
    local = now.astimezone(zoneinfo.ZoneInfo(timezone))
    async with engine.begin() as conn:
        raw_hour = await tickets_db.get_setting(conn, DIGEST_HOUR_KEY)
        hour = int(raw_hour) if raw_hour and raw_hour.isdigit() else DEFAULT_DIGEST_HOUR
        channel = await triage_channel(conn, default_channel)
        if channel is None or local.hour < hour:
            return False
        day = local.date().isoformat()
        if not await tickets_db.claim_digest(conn, day, now):
            return False
        counts = await tickets_db.open_counts_by_age(conn, now)
        oldest = await tickets_db.open_tickets(conn, DIGEST_OLDEST)
        await enqueue(conn, channel, render.render_digest(counts, oldest), dedupe_key=f"ticket-digest:{day}")
    return True
