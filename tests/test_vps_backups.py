"""Backups from Slack end to end: the price before turning them on, refusal while owing, schedule,
snapshot with progress, restore behind the typed label (refused on a running server or an unknown
backup), turning off behind a confirmation; members look, admins act; the panel's activity rows."""

from __future__ import annotations

import json
from decimal import Decimal

from bot.rendering import server_page as page_render
from tests.paypal_fixtures import payer
from tests.server_page_fixtures import activity_rows, flat, quick_linode_fixture  # noqa: F401 - fixtures
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    action_buttons,
    add_plan,
    button,
    click,
    command,
    create_server,
    owe_hours,
    response_count,
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


async def test_turning_backups_on_shows_the_price_first_and_bills_nothing_more(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    member = await payer(world.engine, world.slack, role="member", org=owner.org)
    plan_id = await add_plan(world.engine, "g6-nanode-1", base="5.00", markup="1.00")
    row = await create_server(world, owner, plan_id, "bk-1")
    linode_id = int(row["provider_instance_id"])

    refused = await command(world, member, "vps bk-1 backups on")
    assert "admin" in flat(refused).lower() and not world.linode.calls_to("backups.enable")
    listing_ack = await command(world, member, "vps bk-1 backups")
    assert "Reading the backups" in flat(listing_ack)
    listing = await response_matching(world, member, "Backups of bk-1")
    assert "off" in flat(listing) and "$2.40/month" in flat(listing)
    assert page_render.BACKUPS_ON_ACTION_ID not in action_buttons(listing)  # members get no button

    offer = await command(world, owner, "vps bk-1 backups on")
    assert "$2.40/month ($0.0033/h), 40% of the plan" in flat(offer)  # (5 + 1) × 0.4; the panel's quote
    assert not world.linode.calls_to("backups.enable")  # nothing changes before the confirmation
    confirm = action_buttons(offer)[page_render.BACKUPS_ON_CONFIRM_ACTION_ID]
    before = response_count(world, owner)
    await click(world, owner, button(page_render.BACKUPS_ON_CONFIRM_ACTION_ID, confirm["value"]))
    await response_matching(world, owner, "are on", after=before)
    assert world.linode.instances[linode_id]["backups"]["enabled"] is True
    [logged] = await activity_rows(world, row["id"], "vps.backups.enable")
    assert (logged["entity_type"], logged["status"]) == ("vps", "success")
    assert logged["message"] == "Enabled backups for VPS 'bk-1'"
    money = await rows(world.engine, "SELECT amount FROM payment_transactions WHERE organization_id = :o",
                       o=owner.org.id)  # fmt: skip
    assert [m["amount"] for m in money] == [Decimal("-0.01")]  # the first hour only: backups are not billed


async def test_backups_cannot_be_turned_on_while_the_organisation_owes(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    plan_id = await add_plan(world.engine)
    await create_server(world, owner, plan_id, "owe-1")
    await owe_hours(world, owner)
    refused = await command(world, owner, "vps owe-1 backups on")
    assert "owes" in flat(refused) and "wallet topup" in flat(refused)
    assert not world.linode.calls_to("backups.enable")


async def test_schedule_snapshot_restore_and_off_with_their_refusals(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    plan_id = await add_plan(world.engine)
    row = await create_server(world, owner, plan_id, "bk-2")
    linode_id = int(row["provider_instance_id"])

    off = await command(world, owner, "vps bk-2 backups snapshot first")
    assert "Reading" not in flat(off)
    said = await response_matching(world, owner, "Backups are off for bk-2")
    assert "backups on" in flat(said)
    await click(world, owner, button(page_render.BACKUPS_ON_CONFIRM_ACTION_ID, str(row["id"])))
    await until(lambda: _enabled(world, linode_id), what="backups on")

    # schedule: the panel's day and window values only
    bad = await command(world, owner, "vps bk-2 backups schedule Funday W4")
    assert "Invalid backup day" in flat(bad)
    await command(world, owner, "vps bk-2 backups schedule monday w4")
    await response_matching(world, owner, "|04:00 UTC>–<!date^")  # the window in the reader's own time zone
    assert world.linode.instances[linode_id]["backups"]["schedule"] == {"day": "Monday", "window": "W4"}
    [scheduled] = await activity_rows(world, row["id"], "vps.backups.schedule")
    assert scheduled["metadata"]["day"] == "Monday" and scheduled["metadata"]["window"] == "W4"

    # snapshot now, followed until Linode says it succeeded
    await command(world, owner, "vps bk-2 backups snapshot before upgrade")
    await response_matching(world, owner, "is ready")
    snap = world.linode.backups(linode_id)["snapshot"]["current"]
    assert snap["label"] == "before upgrade" and snap["status"] == "successful"
    [taken] = await activity_rows(world, row["id"], "vps.backups.snapshot")
    assert taken["message"] == "Triggered manual snapshot for VPS 'bk-2' (before upgrade)"

    # restore: an unknown backup, then a running server, are refused; then the typed label
    await command(world, owner, "vps bk-2 backups restore 1")
    modal = await wait_modal_text(world, owner, "has no backup 1")
    assert modal["title"]["text"] == "Restore backup" and "backups` lists them" in json.dumps(modal)
    await command(world, owner, f"vps bk-2 backups restore {snap['id']}")
    await wait_modal_text(world, owner, "is running. Stop it first")
    await command(world, owner, "vps bk-2 stop")
    await wait_status(world.engine, owner, "bk-2", "stopped")
    await command(world, owner, f"vps bk-2 backups restore {snap['id']}")
    form = await wait_modal(world.slack, owner, page_render.RESTORE_CALLBACK_ID)
    assert "overwrites every disk of bk-2" in json.dumps(form)
    confirm = page_render.FIELD_BLOCKS["confirm"]
    wrong = await submit(world, owner, form, {confirm: {page_render.VALUE: "bk-3"}})
    assert wrong["response_action"] == "errors" and confirm in wrong["errors"]
    assert not world.linode.calls_to("backups.restore")
    done = await submit(world, owner, form, {confirm: {page_render.VALUE: "bk-2"}})
    assert done["response_action"] == "update"
    await wait_modal_text(world, owner, "was restored")
    [call] = world.linode.calls_to("backups.restore")
    assert call.body == {"linode_id": linode_id, "overwrite": True}
    assert world.linode.instances[linode_id]["status"] == "offline"
    [restored] = await activity_rows(world, row["id"], "vps.backups.restore")
    assert restored["metadata"]["backupId"] == snap["id"] and restored["metadata"]["overwrite"] is True
    assert restored["message"] == f"Initiated restore from backup {snap['id']} for VPS 'bk-2'"

    # off: a confirmation first, then Linode deletes the backups
    ask = await command(world, owner, "vps bk-2 backups off")
    turn_off = action_buttons(ask)[page_render.BACKUPS_OFF_ACTION_ID]
    assert "confirm" in turn_off and world.linode.instances[linode_id]["backups"]["enabled"] is True
    before = response_count(world, owner)
    await click(world, owner, button(page_render.BACKUPS_OFF_ACTION_ID, turn_off["value"]))
    await response_matching(world, owner, "are off", after=before)
    assert world.linode.instances[linode_id]["backups"]["enabled"] is False
    assert await activity_rows(world, row["id"], "vps.backups.disable")


async def _enabled(world: VpsWorld, linode_id: int) -> bool:
    return bool(world.linode.instances[linode_id]["backups"]["enabled"])


async def wait_modal_text(world: VpsWorld, who: object, needle: str) -> dict:
    async def check() -> dict | None:
        views = world.slack.open_views(who.slack_id)  # type: ignore[attr-defined]
        return views[-1] if views and needle in json.dumps(views[-1], ensure_ascii=False) else None

    return await until(check, what=f"a modal saying {needle!r}")


async def test_the_pages_buttons_open_forms_that_check_their_fields_and_act(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    plan_id = await add_plan(world.engine)
    row = await create_server(world, owner, plan_id, "form-1")
    linode_id, server = int(row["provider_instance_id"]), str(row["id"])
    await click(world, owner, button(page_render.BACKUPS_ON_CONFIRM_ACTION_ID, server))
    await until(lambda: _enabled(world, linode_id), what="backups on")
    blocks = page_render.FIELD_BLOCKS

    await click(world, owner, button(page_render.SCHEDULE_OPEN_ACTION_ID, server))
    form = await wait_modal(world.slack, owner, page_render.SCHEDULE_CALLBACK_ID)
    await submit(world, owner, form, {blocks["day"]: {page_render.VALUE: select("Tuesday")},
                                      blocks["window"]: {page_render.VALUE: select("W22")}})  # fmt: skip
    await wait_modal_text(world, owner, "run Tuesday, <!date^")
    await wait_modal_text(world, owner, "|22:00 UTC>–<!date^")
    assert world.linode.instances[linode_id]["backups"]["schedule"] == {"day": "Tuesday", "window": "W22"}

    await click(world, owner, button(page_render.SNAPSHOT_OPEN_ACTION_ID, server))
    form = await wait_modal(world.slack, owner, page_render.SNAPSHOT_CALLBACK_ID)
    empty = await submit(world, owner, form, {blocks["name"]: {page_render.VALUE: "   "}})
    assert empty["response_action"] == "errors" and blocks["name"] in empty["errors"]
    await submit(world, owner, form, {blocks["name"]: {page_render.VALUE: "nightly"}})
    await wait_modal_text(world, owner, "ended *successful*")

    await click(world, owner, button(page_render.HOSTNAME_OPEN_ACTION_ID, server))
    form = await wait_modal(world.slack, owner, page_render.HOSTNAME_CALLBACK_ID)
    bad = await submit(world, owner, form, {blocks["hostname"]: {page_render.VALUE: "no way!"}})
    assert bad["response_action"] == "errors" and "can only contain" in json.dumps(bad["errors"])
    await submit(world, owner, form, {blocks["hostname"]: {page_render.VALUE: "form-renamed"}})
    await wait_modal_text(world, owner, "is now called *form-renamed*")
    assert world.linode.instances[linode_id]["label"] == "form-renamed"
