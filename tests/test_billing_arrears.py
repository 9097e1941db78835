"""Insufficient funds: unpaid hours recorded once, retried, collected in order; notices; power-off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.billing import BillingPolicy, run_billing
from tests.billing_fixtures import (
    BillingWorld,
    H,
    balance,
    charges,
    org_in_slack,
    outbox,
    rows,
    scalar,
    top_up,
    world_fixture,
)

world = world_fixture()

POLICY = BillingPolicy(grace_hours=48, slack_command="/cs")


async def failed_rows(engine: AsyncEngine, server: uuid.UUID) -> int:
    return await scalar(
        engine, "SELECT count(*) FROM vps_billing_cycles WHERE vps_instance_id = :s AND status = 'failed'", s=server
    )


async def test_an_unpaid_hour_is_recorded_failed_once_and_collected_after_a_top_up(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    anchor = datetime(2016, 2, 1, tzinfo=UTC)
    org, _, _ = await org_in_slack(engine, "0.05")
    server = await world.server(org, anchor)

    await run_billing(engine, anchor + 3 * H, POLICY, source="test")  # 0.03 + 0.02 paid; hours 2, 3 unpaid
    await run_billing(engine, anchor + 3 * H + timedelta(minutes=5), POLICY, source="test")
    await run_billing(engine, anchor + 3 * H + timedelta(minutes=10), POLICY, source="test")

    assert await failed_rows(engine, server) == 2  # not a new row every run
    failed = [c for c in await charges(engine, server) if c.status == "failed"]
    assert [c.billing_period_start for c in failed] == [anchor + 2 * H, anchor + 3 * H]
    assert all(c.cmeta["reason"] == "insufficient_balance" and c.payment_transaction_id is None for c in failed)
    assert await balance(engine, org) == Decimal("0.00")

    await top_up(engine, org, "1.00")
    await run_billing(engine, anchor + 4 * H, POLICY, source="test")

    billed = await charges(engine, server)
    assert [c.status for c in billed] == ["billed"] * 5
    assert all(c.payment_transaction_id is not None and c.ts == "completed" for c in billed)
    assert await balance(engine, org) == Decimal("0.91")  # 1.00 - (0.14 - 0.05) for hours 2..4
    assert await scalar(engine, "SELECT count(*) FROM bot_billing_arrears WHERE organization_id = :o", o=org.id) == 0
    assert await scalar(engine, "SELECT last_billed_at FROM vps_instances WHERE id = :s", s=server) == anchor + 5 * H


async def test_arrears_are_announced_at_the_first_failure_and_daily_after(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    anchor = datetime(2016, 3, 1, tzinfo=UTC)
    org, channel, owner = await org_in_slack(engine, "0.00")
    await world.server(org, anchor)

    await run_billing(engine, anchor, POLICY, source="test")
    first = await outbox(engine, channel, owner)
    for hours in (1, 5, 23):
        await run_billing(engine, anchor + hours * H, POLICY, source="test")
    same_day = await outbox(engine, channel, owner)
    await run_billing(engine, anchor + 24 * H, POLICY, source="test")
    await run_billing(engine, anchor + 25 * H, POLICY, source="test")
    next_day = await outbox(engine, channel, owner)

    assert sorted(m.channel for m in first) == sorted([channel, owner])
    assert "Hourly billing failed" in first[0].payload["text"]
    assert same_day == first
    assert len(next_day) == 4
    assert {m.dedupe_key.rsplit(":", 2)[1] for m in next_day} == {"0", "1"}
    assert "Still unpaid" in next_day[-1].payload["text"]


async def test_after_the_grace_period_the_server_is_powered_off_once_with_a_notice(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    anchor = datetime(2016, 4, 1, tzinfo=UTC)
    org, channel, _ = await org_in_slack(engine, "0.00")
    server = await world.server(org, anchor, label="db-1")
    policy = BillingPolicy(grace_hours=3)

    await run_billing(engine, anchor, policy, source="test")
    before = await run_billing(engine, anchor + 2 * H, policy, source="test")
    at_grace = await run_billing(engine, anchor + 3 * H, policy, source="test")
    later = await run_billing(engine, anchor + 4 * H, policy, source="test")

    assert (before.power_offs, at_grace.power_offs, later.power_offs) == (0, 1, 0)
    jobs = await rows(
        engine, "SELECT kind, payload, status FROM bot_jobs WHERE dedupe_key LIKE :k", k=f"billing:power_off:{server}:%"
    )  # fmt: skip
    assert [(j.kind, j.payload["server_id"], j.payload["reason"]) for j in jobs] == [
        ("power_off", str(server), "billing_arrears")
    ]
    notices = [m for m in await outbox(engine, channel) if m.dedupe_key.startswith("billing:power_off:")]
    assert len(notices) == 1 and "db-1" in notices[0].payload["text"]
    assert await scalar(engine, "SELECT count(*) FROM vps_instances WHERE id = :s", s=server) == 1  # never deleted


async def test_hours_are_collected_in_start_order_while_the_running_total_fits(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    """Two servers of one organisation: the earlier-starting hours are paid first, each server in order."""
    anchor = datetime(2016, 5, 1, tzinfo=UTC)
    org = await world.org("0.07")
    plan = await world.plan("73.00")  # 0.10/h
    early = await world.server(org, anchor, plan_id=str(plan))
    late = await world.server(org, anchor + timedelta(minutes=30), plan_id="cheap-default")
    await run_billing(engine, anchor + H + timedelta(minutes=40), POLICY, source="test")
    # due in start order: early h0 (0.10) → does not fit 0.07, so nothing after it is charged either
    assert [c.status for c in await charges(engine, early)] == ["failed", "failed"]
    assert [c.status for c in await charges(engine, late)] == ["failed", "failed"]
    await top_up(engine, org, "0.13")  # 0.20: early h0 (0.10) + late h0 (0.03) + early h1 (0.10) = 0.23 > 0.20
    await run_billing(engine, anchor + H + timedelta(minutes=45), POLICY, source="test")
    assert [c.status for c in await charges(engine, early)] == ["billed", "failed"]
    assert [c.status for c in await charges(engine, late)] == ["billed", "failed"]
    assert await balance(engine, org) == Decimal("0.07")
