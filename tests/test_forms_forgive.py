"""Small forgiveness in commands and forms: typos get a suggestion, messages say what they mean."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from bot.rendering import vps as render
from bot.rendering import wallet as wallet_render
from bot.services.wallet import StartedTopup
from tests.paypal_fixtures import payer
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    add_plan,
    button,
    click,
    command,
    create_server,
    create_values,
    linode_fixture,
    response_count,
    response_matching,
    submit,
    vps_bot_fixture,
    wait_modal,
    world_fixture,
)

HOURGLASS = ":hourglass_flowing_sand:"


async def test_a_typo_in_a_vps_subcommand_suggests_it(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    typo = await command(world, owner, "vps creat")
    assert "I don't know `/cs vps creat`" in typo["text"] and "Did you mean `/cs vps create`?" in typo["text"]
    unknown = await command(world, owner, "vps nothing-here")  # not close to any subcommand: a server label
    assert "No server with that label" in unknown["text"]


async def test_a_create_form_without_an_image_asks_for_an_image(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    plan_id = await add_plan(world.engine)
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
    values = create_values(plan_id, label="imageless-1")
    values[render.FIELD_BLOCKS["image"]] = {render.VALUE: {"type": "static_select", "selected_option": None}}
    answer = await submit(world, owner, modal, values)
    assert answer["errors"][render.FIELD_BLOCKS["image"]] == "Choose an image."


def test_progress_shows_one_hourglass_and_a_tick_when_done() -> None:
    creating = render.create_progress_view("web-1", "provisioning")
    assert str(creating).count(HOURGLASS) == 1
    booting = render.render_progress("web-1", "Starting", "booting")
    assert booting["text"].count(HOURGLASS) == 1
    done = render.render_progress("web-1", "Started", "running", done=True)
    assert done["text"].startswith(":white_check_mark: ") and HOURGLASS not in done["text"]


def test_the_pay_message_says_where_the_confirmation_arrives() -> None:
    started = StartedTopup(uuid.uuid4(), "ORDER1", "https://paypal.example/checkout", Decimal(10), "USD", "Acme")
    note = str(wallet_render.render_topup_started(started))
    assert "direct message" in note and "I'll tell you here" not in note


def menu_in(message: dict[str, Any], action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The picker's menu and the block right under the block holding it."""
    blocks = message["blocks"]
    index = next(i for i, b in enumerate(blocks) if b.get("accessory", {}).get("action_id") == action_id)
    return blocks[index]["accessory"], blocks[index + 1]


async def refused_choice_comes_back(
    world: VpsWorld, owner: Any, *, confirm: str, value: str, method: str, field: str, reason: str, picker: str
) -> None:
    """Linode refuses the confirmed choice: the picker comes back with `value` chosen and `reason` under it."""
    world.linode.fail(method, status=400, body={"errors": [{"reason": reason, "field": field}]})
    before = response_count(world, owner)
    await click(world, owner, button(confirm, value))
    again = await response_matching(world, owner, reason, after=before)
    select, under = menu_in(again, picker)
    assert select["initial_option"]["value"] == value
    assert under["type"] == "context" and reason in json.dumps(under)
    assert again["replace_original"] is True


async def test_a_rebuild_linode_refuses_shows_the_picker_again_with_the_image_chosen_and_why(
    world: VpsWorld,
) -> None:
    owner = await payer(world.engine, world.slack)
    row = await create_server(world, owner, await add_plan(world.engine), "web-1")
    await refused_choice_comes_back(
        world, owner, confirm=render.REBUILD_CONFIRM_ACTION_ID, value=f"{row['id']}|linode/ubuntu24.04",
        method="instances.rebuild", field="image", reason="Image is too large for this Linode's disk",
        picker=render.REBUILD_IMAGE_ACTION_ID,
    )  # fmt: skip


async def test_a_resize_linode_refuses_shows_the_picker_again_with_the_plan_chosen_and_why(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    row = await create_server(world, owner, await add_plan(world.engine), "web-1")
    bigger = await add_plan(world.engine, "g6-standard-2", name="Bigger", base="36.00")
    await refused_choice_comes_back(
        world, owner, confirm=render.RESIZE_CONFIRM_ACTION_ID, value=f"{row['id']}|{bigger}",
        method="instances.resize", field="type", reason="Linode has pending migrations: try again later",
        picker=render.RESIZE_PLAN_ACTION_ID,
    )  # fmt: skip
