"""Hourly housekeeping: forget Events API ids long after Slack stops retrying, and old job slots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import billing_reports
from bot.db import slack_events as events_db

SLOT_RETENTION_DAYS = 40


async def housekeeping(engine: AsyncEngine, now: datetime) -> int:
    """Returns how many rows were removed (the time is unused: retention is relative to now())."""
    del now
    removed = await events_db.prune(engine)
    async with engine.begin() as conn:
        removed += await billing_reports.prune_slots(conn, older_than_days=SLOT_RETENTION_DAYS)
    return removed
