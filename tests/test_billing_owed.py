"""Owed hours beside the panel's own biller: never billable twice, never erased; the ledger the panel
shows (no $0.00 rows, charge order); power-off at every run past grace."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.billing import BillingPolicy, charge_final, run_billing
from tests.billing_fixtures import (
    BillingWorld,
    H,
    add_topup,
    balance,
    charges,
    panel_ledger,
    rows,
    scalar,
    top_up,
    world_fixture,
)
from tests.panel_biller import double_charges, run_panel_biller, selectable, would_charge

world = world_fixture()

POLICY = BillingPolicy(grace_hours=48, slack_command="/cs")
JOB_DONE = text("UPDATE bot_jobs SET status = 'done' WHERE id = :id")
SET_STATUS = text("UPDATE vps_instances SET status = :status WHERE id = :s")
DELETE_SERVER = text("DELETE FROM vps_instances WHERE id = :s")  # as the panel deletes a server


async def bot_hours(engine: AsyncEngine, server: uuid.UUID) -> list[int]:
    keys = await rows(engine, "SELECT key FROM bot_ledger_keys WHERE key LIKE :p", p=f"vps:{server}:hour:%")
    return sorted(int(k.key.rsplit(":", 1)[1]) for k in keys if not k.key.endswith(":refund"))


async def test_unpaid_hours_are_never_left_for_the_panel_to_charge_after_a_top_up(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    """The bot records hours 3 and 4 unpaid. The panel's biller runs after a top-up but before the bot's
    next run: it finds nothing to charge (the hours are owed to the bot, which collects each once).
    Later the bot is down for two hours: the panel charges those, and the bot does not charge them again."""
    anchor = datetime(2005, 1, 10, tzinfo=UTC)
    org = await world.org("0.05")
    server = await world.server(org, anchor, last_billed_at=anchor + H)  # hour 0 paid at creation
    for hours in (1, 2, 3, 4):
        await run_billing(engine, anchor + hours * H + timedelta(minutes=1), POLICY, source="test")
    assert [c.status for c in await charges(engine, server)] == ["billed", "billed", "failed", "failed"]
    now = anchor + 4 * H + timedelta(minutes=1)
    assert await selectable(engine, now, [org.id]) == []
    assert await selectable(engine, now + H, [org.id]) == []  # an hour after the bot's run: still nothing

    await top_up(engine, org, "1.00")
    panel = await run_panel_biller(engine, now + timedelta(minutes=20), [org.id])
    assert panel == []
    await run_billing(engine, now + timedelta(minutes=25), POLICY, source="test")
    assert [c.status for c in await charges(engine, server)] == ["billed"] * 4
    assert await bot_hours(engine, server) == [1, 2, 3, 4]

    # the bot is down from here; the panel charges the hours it finds (5 and 6), the bot goes on at 7
    panel = await run_panel_biller(engine, anchor + 7 * H + timedelta(minutes=2), [org.id])
    assert [(p.period_start, p.hours, p.paid) for p in panel] == [(anchor + 5 * H, 2, True)]
    assert await double_charges(engine, panel) == []
    await run_billing(engine, anchor + 7 * H + timedelta(minutes=3), POLICY, source="test")
    assert await bot_hours(engine, server) == [1, 2, 3, 4, 7]
    assert await double_charges(engine, panel) == []


async def test_a_zero_cost_hour_keeps_its_key_and_cycle_but_writes_no_debit(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    """6.00 a month rounds to 0.01, 0.01, 0.00, 0.01 for the first four hours: the third costs nothing,
    and a $0.00 row would read as a credit in the panel."""
    anchor = datetime(2005, 2, 1, tzinfo=UTC)
    org = await world.org("10.00")
    plan = await world.plan("6.00")
    server = await world.server(org, anchor, plan_id=str(plan))
    await run_billing(engine, anchor + 3 * H + timedelta(minutes=1), POLICY, source="test")

    assert await bot_hours(engine, server) == [0, 1, 2, 3]
    billed = await charges(engine, server)
    assert [c.total_amount for c in billed] == [Decimal(x) for x in ("0.01", "0.01", "0.00", "0.01")]
    assert [c.status for c in billed] == ["billed"] * 4
    assert billed[2].payment_transaction_id is None and billed[2].cmeta["hour_index"] == 2
    debits = await rows(engine, "SELECT amount FROM payment_transactions WHERE organization_id = :o", o=org.id)
    assert sorted(d.amount for d in debits) == [Decimal("-0.01")] * 3
    assert await balance(engine, org) == Decimal("9.97")


async def test_a_runs_debits_read_in_charge_order_where_the_panel_lists_the_ledger(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    """Eighteen hours of three servers charged in one transaction: in the panel's order (created_at,
    then id) each row's balance_before is the previous row's balance_after."""
    anchor = datetime(2005, 3, 1, tzinfo=UTC)
    org = await world.org("0.00")
    await add_topup(engine, org.id, "20.00", anchor - H)
    await top_up(engine, org, "20.00")
    plan = await world.plan("73.00")  # 0.10/h
    for minutes in (0, 10, 20):
        await world.server(org, anchor + timedelta(minutes=minutes), plan_id=str(plan))
    await run_billing(engine, anchor + 5 * H + timedelta(minutes=30), POLICY, source="test")

    ledger = await panel_ledger(engine, org.id)
    assert len(ledger) == 19 and ledger[0].amount == Decimal("20.00")
    debits = ledger[1:]
    assert [d.metadata["balance_before"] for d in debits[1:]] == [d.metadata["balance_after"] for d in debits[:-1]]
    assert debits[0].metadata["balance_before"] == "20.00" and debits[-1].metadata["balance_after"] == "18.20"
    starts = [d.metadata["period_start"] for d in debits]
    assert starts == sorted(starts)
    assert len({d.created_at for d in debits}) == len(debits)


async def test_past_grace_every_run_powers_off_every_server_that_is_on(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    """Once per run, not once per episode: a server started again (from the panel or Linode's console)
    after its power-off is powered off by the next run; one already off is left alone."""
    anchor = datetime(2005, 4, 1, tzinfo=UTC)
    org = await world.org("0.00")
    policy = BillingPolicy(grace_hours=3)
    running = await world.server(org, anchor, label="web-1")
    stopped = await world.server(org, anchor, label="db-1", status="stopped")

    await run_billing(engine, anchor, policy, source="test")
    first = await run_billing(engine, anchor + 3 * H, policy, source="test")
    assert first.power_offs == 1
    jobs = await rows(engine, "SELECT id, payload FROM bot_jobs WHERE payload->>'server_id' = ANY(:s)",
                      s=[str(running), str(stopped)])  # fmt: skip
    assert [j.payload["server_id"] for j in jobs] == [str(running)]

    same_run_again = await run_billing(engine, anchor + 3 * H + timedelta(minutes=5), policy, source="test")
    assert same_run_again.power_offs == 0  # its job is still pending: not queued twice

    async with engine.begin() as conn:  # the job ran; then the customer started it from the panel
        await conn.execute(JOB_DONE, {"id": jobs[0].id})
        await conn.execute(SET_STATUS, {"s": running, "status": "running"})
    again = await run_billing(engine, anchor + 4 * H, policy, source="test")
    assert again.power_offs == 1
    assert await scalar(engine, "SELECT count(*) FROM bot_jobs WHERE payload->>'server_id' = :s", s=str(running)) == 2


async def test_a_final_charge_takes_what_is_owed_below_zero_and_a_top_up_repays_it(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    """Deleting a server in arrears: its unpaid hours and the hour begun since are charged even below
    zero; the unpaid hours' records outlive the row; the organisation stays in arrears until a top-up."""
    anchor = datetime(2005, 5, 1, tzinfo=UTC)
    org = await world.org("0.10")
    plan = await world.plan("73.00")  # 0.10/h
    server = await world.server(org, anchor, plan_id=str(plan), last_billed_at=anchor + H)
    await run_billing(engine, anchor + 3 * H + timedelta(minutes=1), POLICY, source="test")  # hour 1 paid, 2–3 owed
    assert await balance(engine, org) == Decimal("0.00")

    async with engine.begin() as conn:
        final = await charge_final(conn, server, anchor + 4 * H + timedelta(minutes=10), POLICY)
        await conn.execute(DELETE_SERVER, {"s": server})
    assert final is not None and (final.hours_charged, final.amount_charged) == (3, Decimal("0.30"))
    assert await balance(engine, org) == Decimal("-0.30")
    failures = await rows(
        engine,
        "SELECT hour_index, collected_at FROM bot_billing_failures WHERE vps_instance_id = :s ORDER BY 1",
        s=server,
    )
    assert [(f.hour_index, f.collected_at is not None) for f in failures] == [(2, True), (3, True)]
    await run_billing(engine, anchor + 5 * H, POLICY, source="test")
    assert await scalar(engine, "SELECT count(*) FROM bot_billing_arrears WHERE organization_id = :o", o=org.id) == 1

    await top_up(engine, org, "5.00")
    await run_billing(engine, anchor + 6 * H, POLICY, source="test")
    assert await balance(engine, org) == Decimal("4.70")
    assert await scalar(engine, "SELECT count(*) FROM bot_billing_arrears WHERE organization_id = :o", o=org.id) == 0


async def test_hours_owed_by_a_server_the_panel_deleted_are_still_collected(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    """The panel removes a server's row itself: the hours it owed are not erased with it."""
    anchor = datetime(2005, 6, 1, tzinfo=UTC)
    org = await world.org("0.00")
    plan = await world.plan("73.00")
    server = await world.server(org, anchor, plan_id=str(plan), label="gone-1", last_billed_at=anchor + H)
    await run_billing(engine, anchor + 2 * H + timedelta(minutes=1), POLICY, source="test")  # hours 1, 2 owed
    async with engine.begin() as conn:
        await conn.execute(DELETE_SERVER, {"s": server})

    await top_up(engine, org, "1.00")
    await run_billing(engine, anchor + 3 * H, POLICY, source="test")
    collected = await panel_ledger(engine, org.id)
    assert [(c.amount, c.description) for c in collected] == [
        (Decimal("-0.10"), "VPS Hourly Billing - gone-1 (1h)")
    ] * 2
    assert await balance(engine, org) == Decimal("0.80")
    assert await would_charge(engine, anchor + 3 * H, [org.id]) == []
