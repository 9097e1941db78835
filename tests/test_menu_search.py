"""Menus with more than 100 choices are searched through the options endpoint (signed `block_suggestion`
requests): results match what was typed, at most 100, only what the person may choose, nothing for
someone who may not; with 100 or fewer choices the menu stays a static_select."""

from __future__ import annotations

import asyncio
import copy
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.linode import LinodeEmulator
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering import home as home_render
from bot.rendering import vps as render
from tests.conftest import RunningBot
from tests.factories import add_slack_user
from tests.paypal_fixtures import CHANNEL_ID, Payer, payer
from tests.scale_fixtures import ensure_organisations, forget, seed_memberships, seed_servers
from tests.test_home_dashboard import elements, open_home
from tests.test_list_paging import staff_payer
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    add_plan,
    click,
    command,
    create_values,
    linode_fixture,
    picked,
    response_matching,
    submit,
    vps_bot_fixture,
    wait_modal,
    wait_status,
    world_fixture,
)

EXTRA_IMAGES = 150


def add_images(linode: LinodeEmulator, count: int = EXTRA_IMAGES) -> None:
    """More public images than a static menu can hold (`Extra Image 000`…)."""
    base = linode.catalogue.images["linode/debian12"]
    for n in range(count):
        image_id = f"linode/extra{n:03d}"
        linode.catalogue.images[image_id] = {**copy.deepcopy(base), "id": image_id, "label": f"Extra Image {n:03d}"}


async def search(
    bot: RunningBot, requests: SlackRequestFactory, who: str, action_id: str, typed: str, **where: Any
) -> list[dict[str, Any]]:
    """The options the bot answers a search with (the emulator checks the answer as Slack would)."""
    status, body = await bot.send(requests.block_suggestion(who, action_id, typed, **where))
    assert status == 200, body
    return json.loads(body)["options"]


def values(options: list[dict[str, Any]]) -> list[str]:
    return [o["value"] for o in options]


def field_element(modal: dict[str, Any], field: str) -> dict[str, Any]:
    [block] = [b for b in modal["blocks"] if b.get("block_id") == render.FIELD_BLOCKS[field]]
    return block["element"]


async def test_create_form_searches_images_when_there_are_too_many_to_list(world: VpsWorld) -> None:
    add_images(world.linode)
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    plan_id = await add_plan(world.engine, "g6-nanode-1", base="5.00", markup="1.00", name="Searched Nano")
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
    image = field_element(modal, "image")
    assert image["type"] == "external_select" and image["action_id"] == render.CREATE_SEARCH_ACTION_ID
    assert image["min_query_length"] == 0 and "options" not in image
    assert field_element(modal, "region")["type"] == "static_select"  # few regions: listed, no round trip
    where = {"block_id": render.FIELD_BLOCKS["image"], "view": modal}
    ask = render.CREATE_SEARCH_ACTION_ID

    everything = await search(world.bot, world.requests, owner.slack_id, ask, "", **where)
    assert len(everything) == 100  # Slack's cap
    debian = await search(world.bot, world.requests, owner.slack_id, ask, "DEBIAN", **where)
    assert "linode/debian12" in values(debian)
    assert all("debian" in (o["text"]["text"] + o["value"]).lower() for o in debian)
    words = values(await search(world.bot, world.requests, owner.slack_id, ask, "extra image 14", **where))
    assert words[:10] == [f"linode/extra{n}" for n in range(140, 150)]  # starting with what was typed: first
    assert sorted(words[10:]) == ["linode/extra014", "linode/extra114"]  # then every word found anywhere

    member = await payer(world.engine, world.slack, role="member", org=owner.org)
    assert await search(world.bot, world.requests, member.slack_id, ask, "debian", **where) == []
    stranger = await payer(world.engine, world.slack)  # owns another organisation: this form is not theirs
    assert await search(world.bot, world.requests, stranger.slack_id, ask, "debian", **where) == []

    chosen = next(o for o in everything if o["value"] == "linode/extra042")
    form = create_values(plan_id, label="searched-1")
    form[render.FIELD_BLOCKS["image"]] = {ask: {"type": "external_select", "selected_option": chosen}}
    answer = await submit(world, owner, modal, form)
    assert answer.get("response_action") == "update", answer
    row = await wait_status(world.engine, owner, "searched-1", "running")
    assert row["configuration"]["image"] == "linode/extra042"


async def test_rebuild_picker_searches_images_for_its_own_server_only(world: VpsWorld) -> None:
    add_images(world.linode)
    owner = await payer(world.engine, world.slack)
    await seed_servers(world.engine, owner.org, 1)
    try:
        async with world.engine.connect() as conn:
            server_id = (
                await conn.execute(text("SELECT id FROM vps_instances WHERE organization_id = :o"), {"o": owner.org.id})
            ).scalar_one()
        await command(world, owner, "vps srv-001 rebuild")
        picker = await response_matching(world, owner, render.REBUILD_IMAGE_ACTION_ID)
        [block] = [
            b for b in picker["blocks"] if b.get("accessory", {}).get("action_id") == render.REBUILD_IMAGE_ACTION_ID
        ]
        assert block["accessory"]["type"] == "external_select"
        where = {"block_id": block["block_id"], "channel_id": CHANNEL_ID, "is_ephemeral": True}

        found = await search(
            world.bot, world.requests, owner.slack_id, render.REBUILD_IMAGE_ACTION_ID, "ubuntu", **where
        )
        assert found and all(v.startswith(f"{server_id}|") and "ubuntu" in v for v in values(found))
        stranger = await payer(world.engine, world.slack)
        assert (
            await search(world.bot, world.requests, stranger.slack_id, render.REBUILD_IMAGE_ACTION_ID, "", **where)
            == []
        )

        await click(world, owner, picked(render.REBUILD_IMAGE_ACTION_ID, found[0]["value"]))
        confirm = await response_matching(world, owner, render.REBUILD_CONFIRM_ACTION_ID)
        assert found[0]["value"].split("|")[1] in json.dumps(confirm)
    finally:
        await forget(world.engine, owner.org)


async def test_home_switcher_search_offers_only_the_users_own_organisations(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await payer(engine, slack, org_name="Searcher Home")
    await seed_memberships(engine, someone.user, 49, prefix="Side Search")
    hidden = await payer(engine, slack, org_name="Hidden Search Corp")
    view = await open_home(bot, slack, slack_requests, someone.slack_id)
    assert elements(view)[home_render.SWITCH_ACTION_ID]["type"] == "static_select"  # 50: listed
    where = {"block_id": "switcher", "view": view}
    ask = home_render.SWITCH_ACTION_ID

    found = await search(bot, slack_requests, someone.slack_id, ask, "side search 0", **where)
    assert [o["text"]["text"].split(" (")[0] for o in found] == [f"Side Search 0{n}" for n in range(1, 10)]
    assert await search(bot, slack_requests, someone.slack_id, ask, "hidden search", **where) == []
    assert await search(bot, slack_requests, someone.slack_id, ask, "100%_", **where) == []  # wildcards are text

    stranger = add_slack_user(slack)  # not linked
    before = len(slack.responses)
    assert await search(bot, slack_requests, stranger, ask, "", block_id="switcher", view={"type": "home"}) == []
    await asyncio.sleep(0.2)
    assert len(slack.responses) == before and slack.dms(stranger) == []  # refused in silence
    assert hidden.org.name not in json.dumps(found)


async def test_staff_switcher_searches_every_organisation_capped_at_100(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    await ensure_organisations(engine, 500)
    staff = await staff_payer(engine, slack)
    hidden: Payer = await payer(engine, slack, org_name="Staff Can See Ltd")
    view = await open_home(bot, slack, slack_requests, staff.slack_id)
    switcher = elements(view)[home_render.SWITCH_ACTION_ID]
    assert switcher["type"] == "external_select" and switcher["min_query_length"] == 0
    assert switcher["initial_option"]["value"] == str(staff.org.id)
    where = {"block_id": "switcher", "view": view}
    ask = home_render.SWITCH_ACTION_ID

    assert len(await search(bot, slack_requests, staff.slack_id, ask, "", **where)) == 100
    found = await search(bot, slack_requests, staff.slack_id, ask, "STAFF CAN SEE", **where)
    assert values(found) == [str(hidden.org.id)]
    by_slug = await search(bot, slack_requests, staff.slack_id, ask, hidden.org.slug, **where)
    assert values(by_slug) == [str(hidden.org.id)]

    pick = {"action_id": ask, "type": "external_select", "selected_option": found[0]}
    status, _ = await bot.send(slack_requests.block_actions(staff.slack_id, [pick], view=view))
    assert status == 200
    async with asyncio.timeout(5):
        while "Acting in *Staff Can See Ltd*" not in json.dumps(slack.home_view(staff.slack_id)):
            await asyncio.sleep(0.02)
