"""The hourly billing engine on real PostgreSQL, driven by an explicit clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.billing import BillingPolicy, bill_batch, charge_first_hour, run_billing
from tests.billing_fixtures import BillingWorld, H, balance, charges, rows, scalar, world_fixture

world = world_fixture()


async def test_catch_up_after_five_missed_hours_charges_each_hour_once(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    """Hour 0 was charged at creation; the engine was down for five hours and catches up once."""
    anchor = datetime(2011, 3, 10, 8, 17, 5, tzinfo=UTC)
    org = await world.org("10.00")
    server = await world.server(org, anchor, last_billed_at=anchor + H, label="web-1")
    now = anchor + 5 * H + timedelta(minutes=30)

    result = await run_billing(engine, now, source="test")
    again = await run_billing(engine, now + timedelta(minutes=20), source="test")

    assert result.organizations[org.id].hours_charged == 5
    assert org.id not in again.organizations
    billed = await charges(engine, server)
    assert [c.billing_period_start for c in billed] == [anchor + k * H for k in range(1, 6)]
    # 0.027/h rounded on the month's cumulative total: hours 2..6 of March cost 2, 3, 3, 3, 2 cents
    assert [c.total_amount for c in billed] == [Decimal(x) for x in ("0.02", "0.03", "0.03", "0.03", "0.02")]
    assert all(c.status == "billed" and c.amount == -c.total_amount and c.ts == "completed" for c in billed)
    assert {(c.payment_method, c.payment_provider, c.description) for c in billed} == {
        ("wallet_debit", "internal", "VPS Hourly Billing - web-1 (1h)")
    }
    first = billed[0]
    assert first.hourly_rate == Decimal("0.0270")
    assert first.tmeta["hours_charged"] == 1 and first.tmeta["hour_index"] == 1
    assert (first.tmeta["balance_before"], first.tmeta["balance_after"]) == ("10.00", "9.98")
    assert first.tmeta["vps_instance_id"] == str(server)
    assert await balance(engine, org) == Decimal("9.87")
    assert await scalar(engine, "SELECT last_billed_at FROM vps_instances WHERE id = :s", s=server) == anchor + 6 * H
    keys = await rows(engine, "SELECT key FROM bot_ledger_keys WHERE key LIKE :p ORDER BY key", p=f"vps:{server}:%")
    assert [k.key for k in keys] == [f"vps:{server}:hour:{k}" for k in range(1, 6)]


async def test_a_server_never_billed_starts_at_its_anchor_and_charges_the_hour_that_began(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    anchor = datetime(2012, 5, 1, 0, 0, tzinfo=UTC)
    org = await world.org()
    server = await world.server(org, anchor)
    await run_billing(engine, anchor + timedelta(minutes=1), source="test")
    assert [c.billing_period_start for c in await charges(engine, server)] == [anchor]
    assert await scalar(engine, "SELECT last_billed_at FROM vps_instances WHERE id = :s", s=server) == anchor + H


async def test_charge_first_hour_uses_the_same_key_so_the_engine_skips_hour_zero(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    anchor = datetime(2012, 6, 1, 12, 0, tzinfo=UTC)
    org = await world.org()
    server = await world.server(org, anchor)
    async with engine.begin() as conn:
        first = await charge_first_hour(conn, server, anchor)
        again_in_the_same_transaction = await charge_first_hour(conn, server, anchor)
    async with engine.begin() as conn:
        repeat = await charge_first_hour(conn, server, anchor)
    await run_billing(engine, anchor + 2 * H, source="test")
    assert first is not None and first.hours_charged == 1
    assert again_in_the_same_transaction is None and repeat is None
    assert [c.billing_period_start for c in await charges(engine, server)] == [anchor, anchor + H, anchor + 2 * H]


async def test_an_hour_whose_ledger_key_exists_is_never_charged_again(engine: AsyncEngine, world: BillingWorld) -> None:
    """The creation path charged hour 0 (its key) but last_billed_at was lost: the key still decides."""
    anchor = datetime(2012, 7, 1, 12, 0, tzinfo=UTC)
    org = await world.org("5.00")
    server = await world.server(org, anchor)
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO bot_ledger_keys (key, organization_id, amount) VALUES (:k, :o, 0.03)"),
            {"k": f"vps:{server}:hour:0", "o": org.id},
        )
    await run_billing(engine, anchor + H, source="test")
    assert [c.billing_period_start for c in await charges(engine, server)] == [anchor + H]
    assert await balance(engine, org) == Decimal("4.98")  # hour 1 of the month: 0.05 - 0.03


async def test_servers_flagged_gone_or_without_provider_id_are_not_billed(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    anchor = datetime(2012, 8, 1, tzinfo=UTC)
    org = await world.org()
    gone = await world.server(org, anchor, status="deleted")
    error = await world.server(org, anchor, status="error")
    unprovisioned = await world.server(org, anchor, provider_instance_id="")
    stopped = await world.server(org, anchor, status="stopped")
    await run_billing(engine, anchor + 2 * H, source="test")
    assert [len(await charges(engine, s)) for s in (gone, error, unprovisioned, stopped)] == [0, 0, 0, 3]


async def test_rate_comes_from_the_plan_by_id_then_by_provider_type_else_the_default(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    anchor = datetime(2012, 9, 1, tzinfo=UTC)
    org = await world.org()
    by_id = await world.plan("60.00", markup="13.00")  # 73.00 a month → 0.10/h
    await world.plan("36.50", provider_plan_id="g6-bill-typeonly")  # 0.05/h
    s1 = await world.server(org, anchor, plan_id=str(by_id))
    s2 = await world.server(org, anchor, plan_id="g6-bill-typeonly")
    s3 = await world.server(org, anchor, plan_id="g6-nothing-matches")
    await run_billing(engine, anchor, source="test")
    amounts = [(await charges(engine, s))[0].total_amount for s in (s1, s2, s3)]
    assert amounts == [Decimal("0.10"), Decimal("0.05"), Decimal("0.03")]


async def test_dry_run_reports_the_charges_and_changes_nothing(engine: AsyncEngine, world: BillingWorld) -> None:
    anchor = datetime(2013, 1, 5, tzinfo=UTC)
    org = await world.org("0.05")
    server = await world.server(org, anchor)
    now = anchor + 3 * H

    preview = await run_billing(engine, now, dry_run=True, source="test")

    assert preview.dry_run
    assert (preview.organizations[org.id].hours_charged, preview.organizations[org.id].hours_unpaid) == (2, 2)
    assert await charges(engine, server) == []
    assert await balance(engine, org) == Decimal("0.05")
    assert await scalar(engine, "SELECT count(*) FROM bot_billing_failures WHERE vps_instance_id = :s", s=server) == 0
    assert await scalar(engine, "SELECT count(*) FROM bot_billing_arrears WHERE organization_id = :o", o=org.id) == 0
    real = await run_billing(engine, now, source="test")
    assert real.organizations[org.id].amount_charged == preview.organizations[org.id].amount_charged


async def test_a_runner_killed_between_statements_leaves_no_partial_charge(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    anchor = datetime(2013, 2, 1, tzinfo=UTC)
    org = await world.org()
    servers = [await world.server(org, anchor) for _ in range(3)]
    now = anchor + 4 * H
    victim = await engine.connect()
    transaction = await victim.begin()
    pid = (await victim.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    await bill_batch(victim, [org.id], now, BillingPolicy())  # every statement ran; no commit yet
    await scalar(engine, "SELECT pg_terminate_backend(:p)", p=pid)
    with pytest.raises(Exception):  # noqa: B017 - the connection is gone, whatever the driver raises
        await transaction.commit()
    await victim.invalidate()
    await victim.close()

    assert [len(await charges(engine, s)) for s in servers] == [0, 0, 0]
    assert await balance(engine, org) == Decimal("100.00")
    await run_billing(engine, now, source="test")
    assert [len(await charges(engine, s)) for s in servers] == [5, 5, 5]
    assert await balance(engine, org) == Decimal("99.58")  # 3 × round(5 × 0.027, 2)


async def month_total(engine: AsyncEngine, server_id: uuid.UUID) -> Decimal:
    return await scalar(
        engine, "SELECT sum(total_amount) FROM vps_billing_cycles WHERE vps_instance_id = :s AND status = 'billed'",
        s=server_id,
    )  # fmt: skip


async def test_a_31_day_month_of_hourly_charges_totals_exactly_the_monthly_price(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    org = await world.org("1000.00")
    plan = await world.plan("10.00", markup="2.35")  # 12.35 a month: 744 × 12.35 / 730 would be 12.59
    server = await world.server(org, datetime(2014, 1, 1, tzinfo=UTC), plan_id=str(plan))
    await run_billing(engine, datetime(2014, 1, 31, 23, 30, tzinfo=UTC), source="test")
    assert len(await charges(engine, server)) == 744
    assert await month_total(engine, server) == Decimal("12.35")


async def test_a_30_day_month_totals_720_730ths_of_the_monthly_price_within_a_cent(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    org = await world.org("1000.00")
    plan = await world.plan("36.00", markup="7.77")
    server = await world.server(org, datetime(2015, 4, 1, tzinfo=UTC), plan_id=str(plan))
    await run_billing(engine, datetime(2015, 4, 30, 23, 59, tzinfo=UTC), source="test")
    assert len(await charges(engine, server)) == 720
    assert abs(await month_total(engine, server) - Decimal("43.77") * 720 / 730) <= Decimal("0.01")


async def test_hours_crossing_a_month_boundary_restart_the_cumulative_rounding(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    """Server created mid-month (not on the hour): the first hour starting in the next month is i = 1."""
    org = await world.org()
    anchor = datetime(2015, 5, 31, 21, 40, tzinfo=UTC)
    server = await world.server(org, anchor)
    await run_billing(engine, anchor + 4 * H, source="test")
    amounts = [c.total_amount for c in await charges(engine, server)]
    # May: hours starting 21:40, 22:40, 23:40 (i = 1..3); June: 00:40, 01:40 (i = 1..2)
    assert amounts == [Decimal(x) for x in ("0.03", "0.02", "0.03", "0.03", "0.02")]
