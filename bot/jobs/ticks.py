"""The scheduler's ticks: plain async functions of `now` that ask the database what is due.

APScheduler only calls them; tests call them directly with a chosen clock, several at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.jobs.summaries import SummaryResult, post_due
from bot.services.billing import BillingPolicy, RunResult, run_billing
from bot.settings import Settings


async def billing_tick(engine: AsyncEngine, settings: Settings, now: datetime) -> RunResult:
    """Bill every hour that has begun by `now` (catch-up included); unique keys make it idempotent."""
    policy = BillingPolicy.of(settings)
    return await run_billing(engine, now, policy, source="scheduler")


async def summary_tick(engine: AsyncEngine, settings: Settings, now: datetime) -> list[SummaryResult]:
    """Post the daily and weekly summaries whose slot has come and that nobody has posted yet."""
    return await post_due(engine, settings, now)
