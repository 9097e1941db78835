"""`/cs billing` and `/cs admin billing` through signed Slack requests and the real app, and the
ticker that drives billing and summaries in every replica."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.scheduler import Ticker, start_scheduler
from bot.services.summaries import month_start
from tests.billing_fixtures import settings
from tests.conftest import RunningBot
from tests.paypal_fixtures import flat, payer, run


async def billed_hours(engine: AsyncEngine, org_id: uuid.UUID, label: str, hours: int, amount: str) -> None:
    """A server with `hours` billed cycles at the start of this month (as the engine writes them)."""
    start = month_start(datetime.now(tz=UTC))
    async with engine.begin() as conn:
        server = (
            await conn.execute(
                text(
                    "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status, "
                    "created_at, last_billed_at) VALUES (:o, 'g6-none', '42', :l, 'running', :c, :lb) RETURNING id"
                ),
                {"o": org_id, "l": label, "c": start, "lb": datetime.now(tz=UTC) + timedelta(hours=1)},
            )
        ).scalar_one()
        for k in range(hours):
            await conn.execute(
                text(
                    "INSERT INTO vps_billing_cycles (vps_instance_id, organization_id, billing_period_start, "
                    "billing_period_end, hourly_rate, total_amount, status) "
                    "VALUES (:s, :o, :a, :b, 0.027, :t, 'billed')"
                ),
                {"s": server, "o": org_id, "a": start + timedelta(hours=k), "b": start + timedelta(hours=k + 1),
                 "t": Decimal(amount)},
            )  # fmt: skip


async def test_billing_command_shows_this_months_usage_and_projection_to_a_member(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    member = await payer(engine, slack, role="member", balance=Decimal("40.00"), org_name="Usage & <Co>")
    await billed_hours(engine, member.org.id, "edge-1", hours=3, amount="0.03")

    card = await run(bot, slack_requests, member, "billing")

    body = flat(card)
    assert card["response_type"] == "ephemeral"
    assert "Usage &amp; &lt;Co&gt;" in body
    assert "So far: *$0.09*" in body and "edge-1: $0.09 (3 h)" in body
    assert "projected for the month" in body and "$0.65/day" in body


async def test_admin_billing_is_refused_to_non_staff_and_shows_arrears_to_staff(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    refusal = await run(bot, slack_requests, owner, "admin billing")
    assert "Only ContainerStacks staff" in flat(refusal)

    staff = await payer(engine, slack)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET role = 'admin' WHERE id = :u"), {"u": staff.user.id})
        await conn.execute(
            text("INSERT INTO bot_billing_arrears (organization_id, since) VALUES (:o, now())"), {"o": owner.org.id}
        )
    card = await run(bot, slack_requests, staff, "admin billing")
    body = flat(card)
    assert "Last run with due hours:" in body and "Organisations in arrears:" in body
    assert owner.org.name in body
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM bot_billing_arrears WHERE organization_id = :o"), {"o": owner.org.id})


async def test_the_ticker_calls_each_tick_with_an_aware_now_and_stop_waits_for_a_running_tick() -> None:
    seen: list[datetime] = []
    finished: list[bool] = []
    started = asyncio.Event()

    async def probe(now: datetime) -> None:
        seen.append(now)
        started.set()
        await asyncio.sleep(0.2)
        finished.append(True)

    ticker = Ticker()
    ticker.add("probe", probe, every_seconds=3600, first_after_seconds=0)
    ticker.start()
    await asyncio.wait_for(started.wait(), timeout=30)
    await ticker.stop(grace_seconds=5)
    await asyncio.sleep(0.05)  # AsyncIOScheduler finishes stopping on the event loop
    assert seen and seen[0].tzinfo is not None
    assert finished == [True]
    assert not ticker.scheduler.running


async def test_the_scheduler_respects_scheduler_and_billing_switches(engine: AsyncEngine) -> None:
    assert start_scheduler(engine, settings(scheduler_enabled=False)) is None
    without_billing = start_scheduler(engine, settings(billing_enabled=False), first_after_seconds=3600)
    full = start_scheduler(engine, settings(), first_after_seconds=3600)
    assert without_billing is not None and full is not None
    assert (without_billing.names, sorted(full.names)) == (["summaries"], ["billing", "summaries"])
    without_billing.shutdown()
    full.shutdown()
