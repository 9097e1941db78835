"""The whole server loop from Slack against the Linode emulator (real linode-api4 underneath):
create → running → stop → start → reboot → rebuild → resize → delete, with the panel's rows."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal

from bot import crypto
from bot.rendering import vps as render
from bot.rendering.notices import written
from tests.paypal_fixtures import Payer, payer
from tests.ssh_keys import ssh_key
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    SSH_CRED_SECRET,
    VpsWorld,
    add_plan,
    bind_vps_channel,
    button,
    click,
    command,
    create_values,
    linode_fixture,
    picked,
    response_count,
    response_matching,
    rows,
    server_row,
    submit,
    until,
    vps_bot_fixture,
    wait_modal,
    wait_status,
    world_fixture,
)

NOTICE_CHANNEL = "C0VPSNOTES"


async def dm_says(world: VpsWorld, who: Payer, words: str) -> bool:
    return any(words in json.dumps(m, ensure_ascii=False) for m in world.slack.dms(who.slack_id))


async def activity(world: VpsWorld, server_id: uuid.UUID) -> list[str]:
    found = await rows(
        world.engine,
        "SELECT event_type FROM activity_logs WHERE entity_id = :e ORDER BY created_at, event_type",
        e=str(server_id),
    )
    return [r["event_type"] for r in found]


async def test_server_lifecycle_create_power_rebuild_resize_delete_from_slack(world: VpsWorld) -> None:
    """An owner creates a server in the modal, then drives every action to its final Linode state."""
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    await bind_vps_channel(world.engine, owner, NOTICE_CHANNEL)
    plan_id = await add_plan(world.engine, "g6-nanode-1", base="5.00", markup="1.00", name="Nano & <1GB>")
    bigger = await add_plan(world.engine, "g6-standard-2", base="36.00", markup="4.00", name="Standard 4GB")

    # -- create --------------------------------------------------------------------------------
    ack = await command(world, owner, "vps create")
    assert ack == {"raw": ""}
    [opened] = await world.slack.wait_for("views.open")
    assert opened.args["view"]["blocks"][0]["text"]["text"].startswith(":hourglass")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
    assert "Nano &amp; &lt;1GB&gt;" not in json.dumps(modal)  # plain_text options carry the raw name
    assert any("$0.0082/h" in json.dumps(b) for b in modal["blocks"])  # (5 + 1) / 730

    answer = await submit(world, owner, modal, create_values(plan_id, ssh_key=ssh_key(), backups=True))
    assert answer["response_action"] == "update"
    row = await wait_status(world.engine, owner, "web-1", "running")
    server_id = row["id"]
    instance = world.linode.instance_by_label(f"cs-{server_id.hex}")
    assert instance is not None and instance["status"] == "running"
    assert row["plan_id"] == str(plan_id) and row["provider_instance_id"] == str(instance["id"])
    assert row["ip"] == instance["ipv4"][0]
    config = row["configuration"]
    assert set(config) == {"type", "region", "image", "backups", "privateIP", "stackscriptId", "stackscriptData",
                           "appSlug", "appData", "auth"}  # fmt: skip
    assert (config["type"], config["region"], config["image"], config["backups"]) == (
        "g6-nanode-1", "us-east", "linode/debian12", True,
    )  # fmt: skip
    assert config["auth"]["method"] == "password" and config["auth"]["user"] == "root"
    password = crypto.decrypt(config["auth"]["password_enc"], SSH_CRED_SECRET)
    [create_call] = world.linode.calls_to("instances.create")
    assert create_call.body["root_pass"] == password and len(password) >= 24
    assert create_call.body["authorized_keys"] == [ssh_key()]
    assert create_call.body["label"] == f"cs-{server_id.hex}" and create_call.body["tags"] == ["containerstacks"]
    assert password not in json.dumps([c.args for c in world.slack.calls])  # never shown in Slack

    # first hour charged once, the panel's way
    [txn] = await rows(world.engine, "SELECT * FROM payment_transactions WHERE organization_id = :o", o=owner.org.id)
    assert txn["amount"] == Decimal("-0.01") and txn["status"] == "completed"
    assert (txn["payment_method"], txn["payment_provider"]) == ("wallet_debit", "internal")
    assert txn["description"] == "VPS Creation - web-1 (Initial Hour)"
    assert txn["metadata"]["balance_before"] == "10.00" and txn["metadata"]["balance_after"] == "9.99"
    assert txn["metadata"]["vps_instance_id"] == str(server_id)
    [cycle] = await rows(world.engine, "SELECT * FROM vps_billing_cycles WHERE vps_instance_id = :v", v=server_id)
    assert cycle["status"] == "billed" and cycle["payment_transaction_id"] == txn["id"]
    assert cycle["billing_period_start"] == row["created_at"]
    assert cycle["billing_period_end"] == row["created_at"] + timedelta(hours=1) == row["last_billed_at"]
    assert cycle["hourly_rate"] == Decimal("0.0082") and cycle["total_amount"] == Decimal("0.01")
    [key] = await rows(world.engine, "SELECT * FROM bot_ledger_keys WHERE payment_transaction_id = :t", t=txn["id"])
    assert key["key"] == f"vps:{server_id}:hour:0"  # hour 0, keyed like every hour the billing engine charges
    [wallet] = await rows(world.engine, "SELECT balance FROM wallets WHERE organization_id = :o", o=owner.org.id)
    assert wallet["balance"] == Decimal("9.99")

    # rDNS of the first IPv4, through the job table
    address = row["ip"]
    await world.linode.wait_for("ips.rdns")
    assert world.linode.ip(address)["rdns"] == f"{address.replace('.', '-')}.ip.rev.skyvps360.xyz"
    notices = await rows(world.engine, "SELECT payload FROM bot_outbox WHERE channel = :c", c=NOTICE_CHANNEL)
    assert any("*web-1* was created" in written(n["payload"])["text"] for n in notices)

    # -- stop by command, start by button, reboot by command --------------------------------------
    ack = await command(world, owner, "vps web-1 stop")
    assert ack == {"raw": ""}  # a typed action's progress is one message in the DM, edited in place
    await wait_status(world.engine, owner, "web-1", "stopped")
    await until(lambda: dm_says(world, owner, "Server stopped"), what="the DM to say the server stopped")
    await response_matching(world, owner, "its progress is in our direct messages")

    listing = await command(world, owner, "vps")
    assert "web-1" in json.dumps(listing) and "$0.0082/h" in json.dumps(listing)
    before = response_count(world, owner)
    await click(world, owner, button(render.POWER_ACTION_IDS["start"], str(server_id)))
    await response_matching(world, owner, "Server started", after=before)
    await wait_status(world.engine, owner, "web-1", "running")

    await command(world, owner, "vps web-1 reboot")
    await until(lambda: dm_says(world, owner, "Server rebooted"), what="the DM to say the server rebooted")
    assert world.linode.calls_to("instances.reboot")
    assert len(world.slack.dms(owner.slack_id)) == 2  # one message per typed action, however many steps

    # -- rebuild behind a confirmation ------------------------------------------------------------
    before = response_count(world, owner)
    await click(world, owner, button(render.REBUILD_PICK_ACTION_ID, str(server_id)))
    await response_matching(world, owner, render.REBUILD_IMAGE_ACTION_ID, after=before)
    await click(world, owner, picked(render.REBUILD_IMAGE_ACTION_ID, f"{server_id}|linode/ubuntu24.04"))
    confirm = await response_matching(world, owner, render.REBUILD_CONFIRM_ACTION_ID, after=before)
    assert "erases all data" in json.dumps(confirm)
    before = response_count(world, owner)
    await click(world, owner, button(render.REBUILD_CONFIRM_ACTION_ID, f"{server_id}|linode/ubuntu24.04"))
    await response_matching(world, owner, "Rebuilt", after=before)
    rebuilt = await wait_status(world.engine, owner, "web-1", "running")
    assert rebuilt["configuration"]["image"] == "linode/ubuntu24.04"
    new_password = crypto.decrypt(rebuilt["configuration"]["auth"]["password_enc"], SSH_CRED_SECRET)
    assert new_password != password
    assert world.linode.calls_to("instances.rebuild")[0].body["root_pass"] == new_password

    # -- resize with the price difference -----------------------------------------------------------
    picker = await command(world, owner, "vps web-1 resize")
    assert render.RESIZE_PLAN_ACTION_ID in json.dumps(picker)
    before = response_count(world, owner)
    await click(world, owner, picked(render.RESIZE_PLAN_ACTION_ID, f"{server_id}|{bigger}"))
    preview = await response_matching(world, owner, render.RESIZE_CONFIRM_ACTION_ID, after=before)
    assert "+$0.0466/h" in json.dumps(preview)  # 40/730 - 6/730
    assert "+$34.00/month" in json.dumps(preview)
    before = response_count(world, owner)
    await click(world, owner, button(render.RESIZE_CONFIRM_ACTION_ID, f"{server_id}|{bigger}"))
    await response_matching(world, owner, "Resized", after=before)
    resized = await server_row(world.engine, owner, "web-1")
    assert resized is not None
    assert resized["plan_id"] == str(bigger) and resized["configuration"]["type"] == "g6-standard-2"
    assert world.linode.instances[instance["id"]]["type"] == "g6-standard-2"

    # -- delete behind a typed-label modal --------------------------------------------------------
    await click(world, owner, button(render.DELETE_OPEN_ACTION_ID, str(server_id)))
    modal = await wait_modal(world.slack, owner, render.DELETE_CALLBACK_ID)
    wrong = await submit(world, owner, modal, {render.FIELD_BLOCKS["confirm"]: {render.VALUE: "web-2"}})
    assert wrong["response_action"] == "errors" and render.FIELD_BLOCKS["confirm"] in wrong["errors"]
    assert await server_row(world.engine, owner, "web-1") is not None
    done = await submit(world, owner, modal, {render.FIELD_BLOCKS["confirm"]: {render.VALUE: "web-1"}})
    assert done["response_action"] == "update"

    async def deleted() -> bool:
        return await server_row(world.engine, owner, "web-1") is None

    await until(deleted, what="the row to be deleted")
    assert instance["id"] not in world.linode.instances
    # the prepaid first hour covers the partial hour: nothing more was charged; the ledger stays
    money = await rows(
        world.engine, "SELECT amount FROM payment_transactions WHERE organization_id = :o", o=owner.org.id
    )
    assert [m["amount"] for m in money] == [Decimal("-0.01")]
    events = set(await activity(world, server_id))
    assert {"vps.create", "vps.shutdown", "vps.boot", "vps.reboot", "vps.rebuild", "vps.resize", "vps.delete"} <= events
    assert "vps.network.rdns" in events
