"""Fault: money for one hour and a crowd of create forms; a server started again after its power-off;
a server deleted while its organisation owes hours.

The whole bot runs against the Slack and Linode emulators (the real linode-api4 underneath, its
durable job worker and the sync job), with Linode misbehaving where it matters: a create answered
502 after it took effect (the SDK posts it again), slow creates, a delete answered 502 first.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.rendering import vps as render
from bot.rendering import wallet as wallet_render
from bot.services.billing import BillingPolicy
from tests.billing_fixtures import bill_org, top_up
from tests.panel_biller import selectable
from tests.paypal_fixtures import balance_of, payer
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    action_buttons,
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

FORMS = 6
GRACE = BillingPolicy(grace_hours=3, slack_command="/cs")


async def test_concurrent_create_forms_with_money_for_one_hour_make_one_server(world: VpsWorld) -> None:
    """Six admins of one organisation submit their forms at once with $0.01 in the wallet (a first hour
    costs $0.01); Linode is slow and answers the first create with a 502 after making the server."""
    owner = await payer(world.engine, world.slack, balance=Decimal("0.01"))
    admins = [owner] + [await payer(world.engine, world.slack, role="admin", org=owner.org) for _ in range(FORMS - 1)]
    plan = await add_plan(world.engine)  # 6.00/month: the first hour costs 0.01
    forms = []
    for admin in admins:
        await command(world, admin, "vps create")
        forms.append(await wait_modal(world.slack, admin, render.CREATE_CALLBACK_ID))
    world.linode.slow("instances.create", 0.3)
    world.linode.fail("instances.create", status=502, after_effect=True)

    answers = await asyncio.gather(*(
        submit(world, admin, form, create_values(plan, label=f"crowd-{i}")) for i, (admin, form) in
        enumerate(zip(admins, forms, strict=True))
    ))  # fmt: skip

    accepted = [a for a in answers if a.get("response_action") == "update"]
    refused = [a for a in answers if a.get("response_action") == "errors"]
    assert (len(accepted), len(refused)) == (1, FORMS - 1), answers
    for answer in refused:
        assert "first hour of this plan ($0.01)" in answer["errors"][render.FIELD_BLOCKS["plan"]]

    async def settled() -> list[dict[str, Any]]:
        found = await rows(world.engine, "SELECT * FROM vps_instances WHERE organization_id = :o", o=owner.org.id)
        return found if found and all(r["status"] == "running" for r in found) else []

    [server] = await until(settled, what="the one server to run")
    assert len(world.linode.instances) == 1
    assert await balance_of(world.engine, owner.org) == Decimal("0.00")
    money = await rows(world.engine, "SELECT amount FROM payment_transactions WHERE organization_id = :o",
                       o=owner.org.id)  # fmt: skip
    assert [m["amount"] for m in money] == [Decimal("-0.01")]
    assert server["last_billed_at"] == server["created_at"] + timedelta(hours=1)


async def test_a_server_started_again_after_its_power_off_is_powered_off_again_while_owing(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    row = await create_server(world, owner, await add_plan(world.engine, base="73.00", markup="0.00"), "web-1")
    linode_id = int(row["provider_instance_id"])
    await owe_hours(world, owner, 1)  # hour 1 unpaid: the grace period starts
    past_grace = datetime.now(UTC) + timedelta(hours=1 + GRACE.grace_hours, minutes=5)

    _, requested = await bill_org(world.engine, owner.org.id, past_grace, GRACE)
    assert requested == 1

    async def off() -> bool:
        return world.linode.instances[linode_id]["status"] == "offline"

    await until(off, what="the durable job to power it off")
    await sync_of(world).run_once()
    await wait_status(world.engine, owner, "web-1", "stopped")

    world.linode.set_status(linode_id, "running")  # the customer boots it from Linode's console
    refused = await command(world, owner, "vps web-1 start")  # …and from Slack: refused
    assert "owes" in refused["text"] and wallet_render.TOPUP_CONFIRM_ACTION_ID in action_buttons(refused)
    assert world.linode.calls_to("instances.boot") == []
    await sync_of(world).run_once()
    await wait_status(world.engine, owner, "web-1", "running")

    _, requested = await bill_org(world.engine, owner.org.id, past_grace + timedelta(minutes=5), GRACE)
    assert requested == 1
    await until(off, what="the second power-off")
    assert len(world.linode.calls_to("instances.shutdown")) == 2
    await sync_of(world).run_once()
    _, requested = await bill_org(world.engine, owner.org.id, past_grace + timedelta(minutes=10), GRACE)
    assert requested == 0  # off now: nothing to do


async def test_deleting_a_server_in_arrears_keeps_the_debt_and_the_next_top_up_repays_it(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    row = await create_server(world, owner, await add_plan(world.engine, base="73.00", markup="0.00"), "web-1")
    await owe_hours(world, owner, 3)  # hours 1–3 unpaid: 0.30
    world.linode.fail("instances.delete", status=502)  # retried by the SDK

    await command(world, owner, "vps web-1 delete")
    modal = await wait_modal(world.slack, owner, render.DELETE_CALLBACK_ID)
    await submit(world, owner, modal, {render.FIELD_BLOCKS["confirm"]: {render.VALUE: "web-1"}})

    async def deleted() -> bool:
        return await server_row(world.engine, owner, "web-1") is None

    await until(deleted, what="the delete")
    assert world.linode.instances == {}
    assert await balance_of(world.engine, owner.org) == Decimal("-0.30")
    failures = await rows(world.engine, "SELECT hour_index, collected_at FROM bot_billing_failures "
                          "WHERE vps_instance_id = :s ORDER BY hour_index", s=row["id"])  # fmt: skip
    assert [(f["hour_index"], f["collected_at"] is not None) for f in failures] == [(1, True), (2, True), (3, True)]
    card = json.dumps(await command(world, owner, "wallet"), ensure_ascii=False)
    assert "-$0.30 (owed)" in card
    refused = await command(world, owner, "vps create")
    assert "owes $0.30" in refused["text"]
    assert await selectable(world.engine, datetime.now(UTC) + timedelta(hours=5), [owner.org.id]) == []

    await top_up(world.engine, owner.org, "5.00")
    await bill_org(world.engine, owner.org.id, datetime.now(UTC))
    assert await balance_of(world.engine, owner.org) == Decimal("4.70")
    arrears = await rows(world.engine, "SELECT 1 FROM bot_billing_arrears WHERE organization_id = :o", o=owner.org.id)
    assert arrears == []
    await command(world, owner, "vps create")
    await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)  # creating works again
