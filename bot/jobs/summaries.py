"""Posting the scheduled billing summaries: daily per organisation (its billing channels), weekly for staff.

A slot (see `bot.services.summaries`) is owned by whoever inserts its `bot_job_runs` row, in the same
transaction as the outbox rows (deduped per organisation, slot and channel), so several replicas
post exactly once and a crash posts nothing. Missed slots are not replayed: the next slot's message
covers everything since the last posted one (at most 31 days back).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import billing as billing_db
from bot.db import billing_reports as reports_db
from bot.db import notify_targets
from bot.db.outbox import enqueue
from bot.rendering import billing as render
from bot.services import spend_chart
from bot.services.summaries import collect_org_summary, latest_slot, previous_slot, weekly_slot
from bot.settings import Settings

log = logging.getLogger(__name__)

DAILY_JOB = "summary.daily"
WEEKLY_JOB = "summary.weekly"
MAX_COVER = timedelta(days=31)


@dataclass(frozen=True)
class SummaryResult:
    job: str
    slot: datetime | None
    claimed: bool
    covers_from: datetime | None = None
    messages: int = 0


Post = Callable[[AsyncConnection, datetime, datetime], Awaitable[int]]  # (conn, from, slot) → messages queued


async def _post_slot(
    engine: AsyncEngine, job: str, slot: datetime | None, fallback_from: Callable[[datetime], datetime], post: Post
) -> SummaryResult:
    """Claim `job`'s slot and queue its messages in one transaction (a slot already claimed: nothing)."""
    if slot is None:
        return SummaryResult(job, None, claimed=False)
    async with engine.begin() as conn:
        covers_from = await reports_db.claim_slot(
            conn, job, slot, fallback_from=fallback_from(slot), floor=slot - MAX_COVER
        )
        if covers_from is None:
            return SummaryResult(job, slot, claimed=False)
        messages = await post(conn, covers_from, slot)
        await reports_db.finish_slot(conn, job, slot, {"messages": messages, "from": covers_from})
    log.info("summaries.posted", extra={"job": job, "slot": slot.isoformat(), "messages": messages})
    return SummaryResult(job, slot, claimed=True, covers_from=covers_from, messages=messages)


async def post_daily(engine: AsyncEngine, settings: Settings, now: datetime) -> SummaryResult:
    """Queue the daily summary of every organisation with a billing channel, once per slot."""

    async def post(conn: AsyncConnection, covers_from: datetime, slot: datetime) -> int:
        messages = 0
        key = f"summary:daily:{int(slot.timestamp())}"
        for organization_id in await reports_db.summary_organizations(conn):
            summary = await collect_org_summary(conn, organization_id, covers_from, slot)
            if summary is None:
                continue
            message = render.daily_summary(summary, settings.slack_command)
            for channel in await notify_targets.bound_channels(conn, organization_id, "billing"):
                if await enqueue(conn, channel, message, dedupe_key=f"{key}:{organization_id}:{channel}"):
                    messages += 1
                    # the same picture as `/cs billing`: this month's spend per day and server
                    await spend_chart.share(conn, channel, organization_id, summary.figures.name, slot,
                                            comment="Spend per day this month.",
                                            dedupe_key=f"{key}:{organization_id}:{channel}:chart")  # fmt: skip
        return messages

    slot = latest_slot(settings.summary_cron, settings.timezone, now)
    return await _post_slot(
        engine, DAILY_JOB, slot, lambda at: previous_slot(settings.summary_cron, settings.timezone, at), post
    )


async def post_weekly(engine: AsyncEngine, settings: Settings, now: datetime) -> SummaryResult:
    """Queue the weekly staff summary to ADMIN_CHANNEL, once per week."""

    async def post(conn: AsyncConnection, covers_from: datetime, slot: datetime) -> int:
        if not settings.admin_channel:
            return 0
        totals = await reports_db.staff_totals(conn, covers_from, slot)
        message = render.weekly_staff_summary(covers_from, slot, totals, await billing_db.arrears(conn))
        key = f"summary:weekly:{int(slot.timestamp())}"
        return 1 if await enqueue(conn, settings.admin_channel, message, dedupe_key=key) else 0

    slot = weekly_slot(settings.summary_cron, settings.timezone, now)
    return await _post_slot(engine, WEEKLY_JOB, slot, lambda at: at - timedelta(days=7), post)


async def post_due(engine: AsyncEngine, settings: Settings, now: datetime) -> list[SummaryResult]:
    """The summary tick: whatever daily and weekly slots are due and not yet posted."""
    return [await post_daily(engine, settings, now), await post_weekly(engine, settings, now)]
