"""What comes back from Slack is checked against what the bot offered: plan (active, creatable at
Linode), region, image (public, or allowed by the chosen StackScript), StackScript, the rebuild image,
and the wallet's currency; and a create Linode refuses gives its paid first hour back."""

from __future__ import annotations

import copy
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from bot.rendering import vps as render
from tests.paypal_fixtures import balance_of, payer
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    add_plan,
    button,
    click,
    command,
    create_server,
    create_values,
    linode_fixture,
    response_matching,
    rows,
    select,
    submit,
    until,
    vps_bot_fixture,
    wait_modal,
    wait_status,
    world_fixture,
)

#: A StackScript of the account that deploys only a private image (the emulator catalogue gains it).
PRIVATE_SCRIPT = 10081


async def seeded_digitalocean_plan(world: VpsWorld) -> uuid.UUID:
    """One of the panel's migration-014 DigitalOcean plans (active, provider `digitalocean`)."""
    [plan] = await rows(world.engine, "SELECT id FROM vps_plans WHERE provider_plan_id = 's-1vcpu-1gb'")
    return plan["id"]


@pytest.fixture(name="scripts")
async def scripts_fixture(world: VpsWorld) -> Any:
    """StackScript 10079 and a private-image one enabled in the panel's table; 10080 is not enabled."""
    private = copy.deepcopy(world.linode.catalogue.stackscripts[10080])
    private.update(id=PRIVATE_SCRIPT, label="gold-master", images=["private/123"])
    world.linode.catalogue.stackscripts[PRIVATE_SCRIPT] = private
    async with world.engine.begin() as conn:
        await conn.execute(text("INSERT INTO vps_stackscript_configs (stackscript_id, label) VALUES "
                                "(10079, 'MySQL'), (:p, 'Gold master')"), {"p": PRIVATE_SCRIPT})  # fmt: skip
    yield
    async with world.engine.begin() as conn:
        await conn.execute(text("DELETE FROM vps_stackscript_configs WHERE stackscript_id IN (10079, :p)"),
                           {"p": PRIVATE_SCRIPT})  # fmt: skip


async def open_form(world: VpsWorld, who: Any) -> dict[str, Any]:
    await command(world, who, "vps create")
    return await wait_modal(world.slack, who, render.CREATE_CALLBACK_ID)


async def test_the_form_offers_only_active_plans_linode_can_create(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    offered = await add_plan(world.engine, "g6-nanode-1", name="Nano offered")
    unknown = await add_plan(world.engine, "g6-imaginary-9", name="Not at Linode")
    inactive = await add_plan(world.engine, "g6-standard-1", name="Retired")
    async with world.engine.begin() as conn:
        await conn.execute(text("UPDATE vps_plans SET active = false WHERE id = :p"), {"p": inactive})
    form = json.dumps(await open_form(world, owner))
    assert str(offered) in form
    for hidden in (unknown, inactive, await seeded_digitalocean_plan(world)):
        assert str(hidden) not in form
    assert "Basic Droplet" not in json.dumps(await command(world, owner, "vps plans"))


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("digitalocean plan", "plan"),
        ("inactive plan", "plan"),
        ("plan Linode has not", "plan"),
        ("unknown plan id", "plan"),
        ("region not offered", "region"),
        ("private image", "image"),
        ("image the StackScript does not run on", "image"),
        ("StackScript not enabled", "stackscript"),
        ("StackScript that is not a number", "stackscript"),
    ],
)
async def test_a_value_that_was_not_offered_is_refused_on_its_field_and_reaches_no_one(
    world: VpsWorld, scripts: Any, case: str, field: str
) -> None:
    owner = await payer(world.engine, world.slack)
    plan = await add_plan(world.engine)
    form = await open_form(world, owner)
    values = create_values(plan, label="odd-1")
    blocks = render.FIELD_BLOCKS
    if case == "digitalocean plan":
        values[blocks["plan"]] = {render.VALUE: select(str(await seeded_digitalocean_plan(world)))}
    elif case == "inactive plan":
        retired = await add_plan(world.engine)
        async with world.engine.begin() as conn:
            await conn.execute(text("UPDATE vps_plans SET active = false WHERE id = :p"), {"p": retired})
        values[blocks["plan"]] = {render.VALUE: select(str(retired))}
    elif case == "plan Linode has not":
        values[blocks["plan"]] = {render.VALUE: select(str(await add_plan(world.engine, "g6-imaginary-9")))}
    elif case == "unknown plan id":
        values[blocks["plan"]] = {render.VALUE: select(str(uuid.uuid4()))}
    elif case == "region not offered":
        values[blocks["region"]] = {render.VALUE: select("mars-1")}
    elif case == "private image":
        values[blocks["image"]] = {render.VALUE: select("private/123")}
    elif case == "image the StackScript does not run on":
        values[blocks["image"]] = {render.VALUE: select("linode/ubuntu17.04")}
        values[blocks["stackscript"]] = {render.VALUE: select("10079")}
        values[blocks["stackscript_data"]] = {render.VALUE: "DB_PASSWORD=hunter2"}
    elif case == "StackScript not enabled":
        values[blocks["stackscript"]] = {render.VALUE: select("10080")}
    else:
        values[blocks["stackscript"]] = {render.VALUE: select("10079; DROP")}

    answer = await submit(world, owner, form, values)

    assert answer.get("response_action") == "errors", answer
    assert blocks[field] in answer["errors"], answer["errors"]
    assert await rows(world.engine, "SELECT 1 FROM vps_instances WHERE organization_id = :o", o=owner.org.id) == []
    assert world.linode.calls_to("instances.create") == []
    assert await balance_of(world.engine, owner.org) == Decimal("10.00")


async def test_an_image_allowed_only_by_the_chosen_stackscript_is_accepted(world: VpsWorld, scripts: Any) -> None:
    owner = await payer(world.engine, world.slack)
    plan = await add_plan(world.engine)
    form = await open_form(world, owner)
    values = create_values(plan, label="gold-1", image="private/123")
    values[render.FIELD_BLOCKS["stackscript"]] = {render.VALUE: select(str(PRIVATE_SCRIPT))}
    answer = await submit(world, owner, form, values)
    assert answer.get("response_action") == "update", answer
    await wait_status(world.engine, owner, "gold-1", "running")
    [call] = [c for c in world.linode.calls_to("instances.create") if c.ok]
    assert (call.body["image"], call.body["stackscript_id"]) == ("private/123", PRIVATE_SCRIPT)


async def test_a_wallet_in_another_currency_is_refused_at_creation(world: VpsWorld) -> None:
    """Plans are priced in USD: a EUR wallet is never charged for one."""
    owner = await payer(world.engine, world.slack, currency="EUR")
    plan = await add_plan(world.engine)
    await command(world, owner, "vps create")

    async def told() -> dict | None:
        views = world.slack.open_views(owner.slack_id)
        return views[-1] if views and "priced in USD" in json.dumps(views[-1]) else None

    shown = json.dumps(await until(told, what="the form to refuse the EUR wallet"))
    assert "wallet is in EUR" in shown
    # A form shown before the wallet changed currency (bound to the organisation, as every create form is).
    forged = {
        "callback_id": render.CREATE_CALLBACK_ID,
        "private_metadata": render.create_metadata(None, None, organization_id=owner.org.id),
    }
    answer = await submit(world, owner, forged, create_values(plan, label="euro-1"))
    assert "wallet is in EUR" in answer["errors"][render.FIELD_BLOCKS["plan"]]
    assert world.linode.calls_to("instances.create") == []
    assert await balance_of(world.engine, owner.org) == Decimal("10.00")


async def test_linode_refusing_a_create_gives_its_paid_first_hour_back_in_one_credit_row(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    plan = await add_plan(world.engine, base="73.00", markup="0.00")  # 0.10/h
    refusal = {"errors": [{"reason": "Region is not available for this plan", "field": "region"}]}
    world.linode.fail("instances.create", status=400, body=refusal)
    answer = await submit(world, owner, await open_form(world, owner), create_values(plan, label="refused-1"))
    assert answer["response_action"] == "update"

    async def refunded() -> list:
        found = await rows(world.engine, "SELECT * FROM payment_transactions WHERE organization_id = :o "
                           "ORDER BY created_at, id", o=owner.org.id)  # fmt: skip
        return found if len(found) == 2 else []

    debit, credit = await until(refunded, what="the refund")
    assert (debit["amount"], debit["description"]) == (Decimal("-0.10"), "VPS Creation - refused-1 (Initial Hour)")
    assert (credit["amount"], credit["payment_method"], credit["payment_provider"], credit["status"]) == (
        Decimal("0.10"), "wallet_credit", "internal", "completed",
    )  # fmt: skip
    assert credit["metadata"]["refund_of"] == str(debit["id"]) and credit["metadata"]["balance_after"] == "10.00"
    assert await balance_of(world.engine, owner.org) == Decimal("10.00")
    assert await rows(world.engine, "SELECT 1 FROM vps_instances WHERE organization_id = :o", o=owner.org.id) == []
    [event] = await rows(world.engine, "SELECT status, metadata FROM activity_logs WHERE event_type = 'vps.create' "
                         "AND organization_id = :o", o=owner.org.id)  # fmt: skip
    assert event["status"] == "error" and event["metadata"]["refunded"] == "0.10"


async def test_a_rebuild_image_that_was_not_offered_is_refused(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    row = await create_server(world, owner, await add_plan(world.engine), "web-1")
    await click(world, owner, button(render.REBUILD_CONFIRM_ACTION_ID, f"{row['id']}|private/123"))
    await response_matching(world, owner, "not offered for rebuilds")
    assert world.linode.calls_to("instances.rebuild") == []
