"""Server controls as the best apps do them: only the actions a server's state allows, Stop and Reboot
behind Slack's confirmation, a click that updates its own row, and one message per typed action."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from bot.rendering import vps as render
from tests.paypal_fixtures import CHANNEL_ID, Payer, payer
from tests.scale_fixtures import seed_servers
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    add_plan,
    button,
    command,
    linode_fixture,
    response_matching,
    until,
    vps_bot_fixture,
    wait_status,
    world_fixture,
)


async def seeded_server(
    world: VpsWorld, who: Payer, label: str, status: str, *, at_linode: str | None = None
) -> uuid.UUID:
    """A server in the panel's table (`status`, paid up) that exists at Linode (`at_linode`, else the same)."""
    plan_id = await add_plan(world.engine)
    linode_status = at_linode or ("offline" if status == "stopped" else status)
    instance = world.linode.seed_instance(f"seed-{uuid.uuid4().hex[:10]}", status=linode_status)
    async with world.engine.begin() as conn:
        return (
            await conn.execute(
                text(
                    "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status, "
                    "configuration, last_billed_at) VALUES (:o, :p, :i, :l, :s, "
                    '\'{"region": "us-east", "image": "linode/debian12"}\', now() + interval \'2 hours\') '
                    "RETURNING id"
                ),
                {"o": who.org.id, "p": str(plan_id), "i": str(instance["id"]), "l": label, "s": status},
            )
        ).scalar_one()


def rows_of(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each server row of a list: its text and its buttons (by action id), keyed by server id prefix."""
    rows: dict[str, dict[str, Any]] = {}
    blocks = message["blocks"]
    for block in blocks:
        if block.get("type") == "actions" and str(block.get("block_id", "")).startswith(render.LIST_ROW_BLOCK_PREFIX):
            key = block["block_id"].removeprefix(render.LIST_ROW_BLOCK_PREFIX)
            rows.setdefault(key, {})["buttons"] = {e["action_id"]: e for e in block["elements"]}
    return rows


def buttons_of(message: dict[str, Any], server_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    return rows_of(message).get(server_id.hex[:12], {}).get("buttons", {})


async def test_each_row_offers_only_what_its_state_allows_and_stop_and_reboot_ask_first(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    running = await seeded_server(world, owner, "web<1>", "running")
    stopped = await seeded_server(world, owner, "db-1", "stopped")
    busy = await seeded_server(world, owner, "new-1", "provisioning")

    listing = await command(world, owner, "vps")
    on, off, wait = buttons_of(listing, running), buttons_of(listing, stopped), buttons_of(listing, busy)
    power = render.POWER_ACTION_IDS
    assert set(on) == {power["stop"], power["reboot"], render.REBUILD_PICK_ACTION_ID, render.RESIZE_PICK_ACTION_ID,
                       render.DELETE_OPEN_ACTION_ID}  # fmt: skip
    assert set(off) == {power["start"], render.REBUILD_PICK_ACTION_ID, render.RESIZE_PICK_ACTION_ID,
                        render.DELETE_OPEN_ACTION_ID}  # fmt: skip
    assert set(wait) == {render.REFRESH_ACTION_ID}
    for verb in ("stop", "reboot"):
        confirm = on[power[verb]]["confirm"]
        assert "*web&lt;1&gt;*" in confirm["text"]["text"] and len(confirm["text"]["text"]) <= 300
        assert confirm["confirm"]["text"] == verb.capitalize() and confirm["deny"]["text"] == "Cancel"
    assert "still billed" in on[power["stop"]]["confirm"]["text"]["text"]
    assert "confirm" not in off[power["start"]]


async def test_a_click_on_a_row_updates_that_row_in_place_and_keeps_the_list(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    web = await seeded_server(world, owner, "web-1", "running")
    db = await seeded_server(world, owner, "db-1", "running")
    shown = world.slack.show_answer(CHANNEL_ID, owner.slack_id, await command(world, owner, "vps"))

    stop = buttons_of(shown, web)[render.POWER_ACTION_IDS["stop"]]
    click = {**stop, "block_id": render.LIST_ROW_BLOCK_PREFIX + web.hex[:12]}
    request = world.requests.block_actions(owner.slack_id, [click], channel_id=CHANNEL_ID, message=shown)
    status, body = await world.bot.send(request)
    assert (status, body) == (200, "")
    await wait_status(world.engine, owner, "web-1", "stopped")

    message = await until(lambda: the_list_saying(world, owner, "Server stopped"), what="the list to say stopped")
    assert message["ts"] == shown["ts"]  # the same message, edited: no second message
    assert "db-1" in json.dumps(message) and "web-1" in json.dumps(message)  # the list is still a list
    assert set(buttons_of(message, web)) >= {render.POWER_ACTION_IDS["start"]}  # the row's new state
    assert render.POWER_ACTION_IDS["stop"] in buttons_of(message, db)  # the other row untouched
    assert all(r.payload.get("replace_original") is True for r in world.slack.responses if r.user_id == owner.slack_id)


async def test_a_click_on_a_later_page_redraws_that_page_not_the_first(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    await seed_servers(world.engine, owner.org, 15)  # a full first page of older servers
    web = await seeded_server(world, owner, "web-1", "running")  # the newest: alone on page 2
    first_page = world.slack.show_answer(CHANNEL_ID, owner.slack_id, await command(world, owner, "vps"))
    assert "web-1" not in json.dumps(first_page)

    stop = {
        **button(render.POWER_ACTION_IDS["stop"], str(web)),
        "block_id": render.LIST_ROW_BLOCK_PREFIX + web.hex[:12],
    }
    request = world.requests.block_actions(owner.slack_id, [stop], channel_id=CHANNEL_ID, message=first_page)
    assert (await world.bot.send(request))[0] == 200
    message = await until(lambda: the_list_saying(world, owner, "Server stopped"), what="the list to say stopped")
    assert "Servers 16–16 of 16." in json.dumps(message, ensure_ascii=False) and "srv-001" not in json.dumps(message)


async def test_a_typed_action_shows_its_progress_in_one_message_edited_in_place(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    await seeded_server(world, owner, "web-1", "running")

    ack = await command(world, owner, "vps web-1 reboot")
    assert ack == {"raw": ""}

    async def done() -> list[dict[str, Any]] | None:
        dms = world.slack.dms(owner.slack_id)
        return dms if dms and "Server rebooted" in json.dumps(dms[-1]) else None

    [message] = await until(done, what="the DM to say the server rebooted")
    dm = world.slack.dm_channel_id(owner.slack_id)
    posts = [c for c in world.slack.calls_to("chat.postMessage") if c.args.get("channel") == dm]
    edits = [c for c in world.slack.calls_to("chat.update") if c.args.get("ts") == message["ts"]]
    assert len(posts) == 1 and edits  # posted once, then edited as Linode reported
    assert render.POWER_ACTION_IDS["stop"] in json.dumps(message)  # ends as the card, with what it allows now
    pointer = await response_matching(world, owner, "progress is in our direct messages")
    assert pointer["replace_original"] is False
    assert len([r for r in world.slack.responses if r.user_id == owner.slack_id]) == 1  # nothing else posted


async def test_a_stale_button_for_what_the_state_no_longer_allows_is_refused_before_linode(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    stopped = await seeded_server(world, owner, "web-1", "stopped")

    request = world.requests.block_actions(
        owner.slack_id, [button(render.POWER_ACTION_IDS["stop"], str(stopped))], channel_id=CHANNEL_ID
    )
    assert (await world.bot.send(request))[0] == 200
    refusal = await response_matching(world, owner, "cannot be stopped right now")
    assert refusal["replace_original"] is True
    typed = await command(world, owner, "vps web-1 reboot")
    assert "cannot be rebooted right now" in typed["text"]
    assert world.linode.calls_to("instances.shutdown") == [] and world.linode.calls_to("instances.reboot") == []


async def test_refresh_on_a_busy_row_asks_linode_and_shows_what_the_server_allows_now(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    server = await seeded_server(world, owner, "web-1", "booting", at_linode="running")  # stored before it booted
    shown = world.slack.show_answer(CHANNEL_ID, owner.slack_id, await command(world, owner, "vps"))
    [refresh] = buttons_of(shown, server).values()
    click = {**refresh, "block_id": render.LIST_ROW_BLOCK_PREFIX + server.hex[:12]}
    request = world.requests.block_actions(owner.slack_id, [click], channel_id=CHANNEL_ID, message=shown)
    assert (await world.bot.send(request))[0] == 200

    await wait_status(world.engine, owner, "web-1", "running")  # what Linode said is stored
    message = await until(lambda: the_list_saying(world, owner, render.POWER_ACTION_IDS["stop"]), what="Stop")
    assert message["ts"] == shown["ts"]
    assert render.REFRESH_ACTION_ID not in buttons_of(message, server)


async def the_list_saying(world: VpsWorld, who: Payer, words: str) -> dict[str, Any] | None:
    """The one message the user sees in the channel, once it contains `words`."""
    [message] = world.slack.ephemerals(who.slack_id, CHANNEL_ID)
    return message if words in json.dumps(message, ensure_ascii=False) else None
