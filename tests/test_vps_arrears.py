"""Arrears stop service: while the organisation owes anything, every way into creating, starting,
rebooting, rebuilding or resizing a server is refused with the amount owed and a top-up button."""

from __future__ import annotations

import json
from decimal import Decimal

from bot.rendering import vps as render
from bot.rendering import wallet as wallet_render
from tests.paypal_fixtures import payer
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    action_buttons,
    add_plan,
    button,
    click,
    command,
    create_server,
    create_values,
    linode_fixture,
    owe_hours,
    response_matching,
    submit,
    vps_bot_fixture,
    wait_modal,
    world_fixture,
)

OWES = "owes"


async def test_while_owing_every_way_to_turn_on_or_change_a_server_is_refused_with_a_top_up_button(
    world: VpsWorld,
) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    plan_id = await add_plan(world.engine, base="73.00", markup="0.00")  # 0.10/h
    bigger = await add_plan(world.engine, "g6-standard-2", base="146.00", markup="0.00")
    row = await create_server(world, owner, plan_id, "web-1")
    await command(world, owner, "vps create")  # a form opened before the debt
    early_form = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
    await owe_hours(world, owner, 3)  # three hours unpaid

    refused = await command(world, owner, "vps web-1 start")
    assert OWES in refused["text"] and "$0.30" in refused["text"] and "3 unpaid server hours" in refused["text"]
    topup = action_buttons(refused)[wallet_render.TOPUP_CONFIRM_ACTION_ID]
    request = wallet_render.parse_topup_value(topup["value"])
    assert request is not None and (request.organization_id, request.amount) == (owner.org.id, Decimal("1.00"))
    for words in ("vps web-1 reboot", "vps web-1 rebuild", "vps web-1 resize", "vps create"):
        answer = await command(world, owner, words)
        assert OWES in answer["text"] and wallet_render.TOPUP_CONFIRM_ACTION_ID in json.dumps(answer), words

    await click(world, owner, button(render.POWER_ACTION_IDS["start"], str(row["id"])))
    started = await response_matching(world, owner, OWES)
    assert wallet_render.TOPUP_CONFIRM_ACTION_ID in json.dumps(started)
    await click(world, owner, button(render.REBUILD_CONFIRM_ACTION_ID, f"{row['id']}|linode/debian12"))
    await click(world, owner, button(render.RESIZE_CONFIRM_ACTION_ID, f"{row['id']}|{bigger}"))
    answer = await submit(world, owner, early_form, create_values(plan_id, label="web-2"))
    assert OWES in answer["errors"][render.FIELD_BLOCKS["plan"]]

    for route in ("instances.boot", "instances.reboot", "instances.rebuild", "instances.resize"):
        assert world.linode.calls_to(route) == [], route
    assert len([c for c in world.linode.calls_to("instances.create") if c.ok]) == 1
    await command(world, owner, "vps web-1 stop")  # stopping is never refused
    await world.linode.wait_for("instances.shutdown")


async def test_a_negative_balance_reads_as_owed_on_the_wallet_card_and_refuses_creation(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("-3.20"))
    card = json.dumps(await command(world, owner, "wallet"), ensure_ascii=False)
    assert "-$3.20 (owed)" in card and "next top-up repays it" in card
    refused = await command(world, owner, "vps create")
    assert "owes $3.20 (a balance of -$3.20)" in refused["text"]
    assert world.slack.calls_to("views.open") == []
