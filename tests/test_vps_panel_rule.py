"""Living beside the panel's own biller: after every lifecycle path, the panel's rule (tests/panel_biller.py)
applied to the database finds no row the bot stopped billing, nothing to charge when the bot has just
billed, and — if the bot then falls behind — no hour the bot already charged or holds as owed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.rendering import vps as render
from tests.billing_fixtures import bill_org, top_up
from tests.panel_biller import double_charges, would_charge
from tests.paypal_fixtures import Payer, balance_of, payer
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    add_plan,
    command,
    create_server,
    create_values,
    linode_fixture,
    owe_hours,
    rows,
    server_row,
    submit,
    sync_of,
    until,
    vps_bot_fixture,
    wait_modal,
    wait_status,
    world_fixture,
)


async def assert_panel_consistent(world: VpsWorld, who: Payer, at: datetime, step: str) -> None:
    orphans = await rows(
        world.engine,
        "SELECT label, status FROM vps_instances WHERE organization_id = :o AND (status IN ('error', 'deleted') "
        "OR coalesce(provider_instance_id, '') = '')",
        o=who.org.id,
    )
    assert orphans == [], f"{step}: rows the bot no longer bills are left for the panel: {orphans}"
    assert await would_charge(world.engine, at, [who.org.id]) == [], f"{step}: the panel would charge now"
    behind = await would_charge(world.engine, at + timedelta(hours=3), [who.org.id])
    assert await double_charges(world.engine, behind) == [], f"{step}: the panel would charge a bot hour"


async def test_create_power_arrears_recovery_and_delete_never_leave_an_hour_to_the_panel(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    plan = await add_plan(world.engine, base="73.00", markup="0.00")  # 0.10/h
    await create_server(world, owner, plan, "web-1")
    now = datetime.now(UTC)
    await assert_panel_consistent(world, owner, now, "create")

    await command(world, owner, "vps web-1 stop")
    await wait_status(world.engine, owner, "web-1", "stopped")
    await command(world, owner, "vps web-1 start")
    await wait_status(world.engine, owner, "web-1", "running")
    await assert_panel_consistent(world, owner, now, "stop/start")

    await owe_hours(world, owner, 3)  # hours 1–3 unpaid
    in_arrears = now + timedelta(hours=3, minutes=2)
    await assert_panel_consistent(world, owner, in_arrears, "arrears")

    await top_up(world.engine, owner.org, "5.00")  # the panel's biller may run before the bot's next run
    await assert_panel_consistent(world, owner, in_arrears + timedelta(minutes=10), "top-up")
    await bill_org(world.engine, owner.org.id, in_arrears + timedelta(minutes=15))
    assert await balance_of(world.engine, owner.org) == Decimal("4.70")
    await assert_panel_consistent(world, owner, in_arrears + timedelta(minutes=15), "recovery")

    await command(world, owner, "vps web-1 delete")
    modal = await wait_modal(world.slack, owner, render.DELETE_CALLBACK_ID)
    await submit(world, owner, modal, {render.FIELD_BLOCKS["confirm"]: {render.VALUE: "web-1"}})

    async def deleted() -> bool:
        return await server_row(world.engine, owner, "web-1") is None

    await until(deleted, what="the delete")
    await assert_panel_consistent(world, owner, datetime.now(UTC), "delete")


async def test_a_server_gone_at_linode_is_charged_and_removed_not_left_for_the_panel(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    row = await create_server(world, owner, await add_plan(world.engine), "gone-1")
    world.linode.remove_instance(int(row["provider_instance_id"]))
    report = await sync_of(world).run_once()
    assert "gone-1" in report.missing
    await assert_panel_consistent(world, owner, datetime.now(UTC), "gone at Linode")


async def test_a_create_that_never_reached_linode_is_refunded_and_removed_not_left_for_the_panel(
    world: VpsWorld,
) -> None:
    owner = await payer(world.engine, world.slack)
    plan = await add_plan(world.engine)
    world.linode.fail("instances.create", status=429, retry_after=1, times=10)
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
    await submit(world, owner, modal, create_values(plan, label="busy-1"))

    async def told() -> bool:
        return "busy right now" in json.dumps(world.slack.open_views(owner.slack_id)[-1])

    await until(told, what="the create to give up")
    world.linode.clear_faults()
    report = await sync_of(world, provisioning_grace=timedelta(0)).run_once()
    assert "busy-1" in report.abandoned
    assert await balance_of(world.engine, owner.org) == Decimal("10.00")
    await assert_panel_consistent(world, owner, datetime.now(UTC), "provisioning cleanup")
