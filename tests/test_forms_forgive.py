"""Small forgiveness in commands and forms: typos get a suggestion, messages say what they mean."""

from __future__ import annotations

import uuid
from decimal import Decimal

from bot.rendering import vps as render
from bot.rendering import wallet as wallet_render
from bot.services.wallet import StartedTopup
from tests.paypal_fixtures import payer
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    add_plan,
    command,
    create_values,
    linode_fixture,
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
