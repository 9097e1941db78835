"""Billing summaries: what an organisation spent over a period, its month so far, and staff's overview.

Slots come from SUMMARY_CRON in TIMEZONE: the daily slot is the latest cron time at or before
`now`; the weekly slot is the first daily slot of the ISO week (Monday onwards). Posting them on
schedule is `bot.jobs.summaries`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import billing as billing_db
from bot.db import billing_reports as reports_db
from bot.db.billing_reports import OrgFigures, ServerSpend
from bot.errors import UserError
from bot.services.identity import Actor
from bot.services.permissions import Action


@dataclass(frozen=True)
class OrgSummary:
    figures: OrgFigures
    spend: list[ServerSpend]
    start: datetime
    end: datetime

    @property
    def total_spend(self) -> Decimal:
        return sum((s.amount for s in self.spend), Decimal("0.00"))

    @property
    def daily_burn(self) -> Decimal:
        return self.figures.hourly_burn * 24

    @property
    def runway_days(self) -> Decimal | None:
        """Days the balance lasts at the current burn (None without billable servers)."""
        if self.daily_burn <= 0:
            return None
        return max(Decimal(0), self.figures.balance / self.daily_burn)


def _trigger(cron: str, timezone: str) -> CronTrigger:
    return CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))


def _fires(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Cron times in [start, end], oldest first."""
    fires: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= end:
        fires.append(fire)
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return fires


def latest_slot(cron: str, timezone: str, now: datetime) -> datetime | None:
    """The latest cron time at or before `now` (searching up to 400 days back)."""
    trigger = _trigger(cron, timezone)
    lookback = timedelta(hours=1)
    while lookback <= timedelta(days=400):
        fires = _fires(trigger, now - lookback, now)
        if fires:
            return fires[-1]
        lookback *= 4
    return None


def previous_slot(cron: str, timezone: str, slot: datetime) -> datetime:
    """The cron time before `slot` (one period back); a day back if there is none."""
    earlier = latest_slot(cron, timezone, slot - timedelta(seconds=1))
    return earlier if earlier is not None else slot - timedelta(days=1)


def weekly_slot(cron: str, timezone: str, now: datetime) -> datetime | None:
    """The first daily slot of the latest ISO week that has one at or before `now`."""
    trigger = _trigger(cron, timezone)
    local = now.astimezone(ZoneInfo(timezone))
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    for week_start in (monday, monday - timedelta(days=7)):
        fire = trigger.get_next_fire_time(None, week_start)
        if fire is not None and fire <= now:
            return fire
    return None


async def collect_org_summary(
    conn: AsyncConnection, organization_id: uuid.UUID, start: datetime, end: datetime
) -> OrgSummary | None:
    figures = await reports_db.org_figures(conn, organization_id, start, end)
    if figures is None:
        return None
    return OrgSummary(figures, await reports_db.server_spend(conn, organization_id, start, end), start, end)


@dataclass(frozen=True)
class MonthUsage:
    summary: OrgSummary
    month_end: datetime

    @property
    def projection(self) -> Decimal:
        """This month so far plus the current burn until the month ends (UTC), before the monthly caps."""
        hours_left = Decimal(max(0.0, (self.month_end - self.summary.end).total_seconds()) / 3600)
        projected = self.summary.total_spend + self.summary.figures.hourly_burn * hours_left
        return projected.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class AdminBillingOverview:
    last_run: dict[str, object] | None
    arrears: list[billing_db.ArrearsState]
    totals: dict[str, object]
    month_start: datetime


def month_start(now: datetime) -> datetime:
    """Billing months are UTC calendar months."""
    utc = now.astimezone(UTC)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


async def month_usage(engine: AsyncEngine, actor: Actor, now: datetime) -> MonthUsage:
    """`/cs billing`: the active organisation's usage this month and a projection (members and up)."""
    if actor.org is None:
        raise UserError("Choose an organisation first.")
    actor.require(Action.VIEW)
    start = month_start(now)
    async with engine.connect() as conn:
        summary = await collect_org_summary(conn, actor.org.id, start, now)
    if summary is None:
        raise UserError("That organisation no longer exists.")
    return MonthUsage(summary, next_month(start))


async def admin_overview(engine: AsyncEngine, actor: Actor, now: datetime) -> AdminBillingOverview:
    """`/cs admin billing`: the last run, organisations in arrears and this month's totals (staff)."""
    actor.require(Action.STAFF)
    start = month_start(now)
    async with engine.connect() as conn:
        return AdminBillingOverview(
            last_run=await billing_db.last_run(conn),
            arrears=await billing_db.arrears(conn),
            totals=await reports_db.staff_totals(conn, start, now),
            month_start=start,
        )
