"""Creating servers safely: permissions, money, SSH keys, slow Linode, retried and repeated creates."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from decimal import Decimal
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text

from bot.app import drain_listener_tasks
from bot.app_keys import SERVICES
from bot.rendering import vps as render
from handlers.errors import run_after_ack
from tests.paypal_fixtures import balance_of, payer
from tests.ssh_keys import ssh_key
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    add_plan,
    bind_vps_channel,
    button,
    click,
    command,
    create_values,
    linode_fixture,
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


async def org_servers(world: VpsWorld, org_id: object) -> list[dict]:
    return await rows(world.engine, "SELECT * FROM vps_instances WHERE organization_id = :o", o=org_id)


async def test_member_cannot_create_a_server_and_no_modal_opens(world: VpsWorld) -> None:
    member = await payer(world.engine, world.slack, role="member", balance=Decimal("50.00"))
    answer = await command(world, member, "vps create")
    assert "You need to be an organisation admin" in answer["text"]
    assert world.slack.calls_to("views.open") == []


async def test_member_sees_servers_without_action_buttons(world: VpsWorld) -> None:
    member = await payer(world.engine, world.slack, role="member")
    listing = await command(world, member, "vps")
    assert "Servers of" in listing["text"]
    assert render.POWER_ACTION_IDS["stop"] not in json.dumps(listing)
    assert render.CREATE_OPEN_ACTION_ID not in json.dumps(listing)


async def test_plans_list_hourly_and_monthly_prices(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    await add_plan(world.engine, "g6-standard-1", base="10.00", markup="2.00", name="Std 2GB")
    plans = json.dumps(await command(world, owner, "vps plans"))
    assert "*Std 2GB*" in plans and "$0.0164/h" in plans and "$12.00/month" in plans


async def test_insufficient_balance_is_a_field_error_and_nothing_reaches_linode(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("0.00"))
    plan_id = await add_plan(world.engine, base="5.00", markup="1.00")
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)

    answer = await submit(world, owner, modal, create_values(plan_id, label="broke-1"))

    assert answer["response_action"] == "errors"
    message = answer["errors"][render.FIELD_BLOCKS["plan"]]
    assert "($0.00)" in message and "first hour of this plan ($0.01)" in message
    assert world.linode.calls_to("instances.create") == []
    assert await org_servers(world, owner.org.id) == []


async def test_file_path_as_ssh_key_is_a_field_error_and_never_reaches_the_sdk(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    plan_id = await add_plan(world.engine)
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)

    answer = await submit(world, owner, modal, create_values(plan_id, label="keyed-1", ssh_key="/etc/passwd"))

    assert answer["response_action"] == "errors"
    assert "not an SSH public key" in answer["errors"][render.FIELD_BLOCKS["ssh_key"]]
    assert world.linode.calls_to("instances.create") == []
    assert await org_servers(world, owner.org.id) == []


async def test_invalid_label_is_a_field_error(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    plan_id = await add_plan(world.engine)
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
    answer = await submit(world, owner, modal, create_values(plan_id, label="9 bad--label"))
    assert render.FIELD_BLOCKS["label"] in answer["errors"]


async def test_slow_linode_never_delays_the_ack_and_the_modal_opens_first(world: VpsWorld) -> None:
    """Linode takes 5 s on the listing the modal needs and on the create; Slack still gets its acks."""
    owner = await payer(world.engine, world.slack)
    plan_id = await add_plan(world.engine)
    world.linode.slow("regions.list", 5)
    request = world.requests.slash_command(owner.slack_id, "vps create")
    trigger = dict(item.split("=", 1) for item in request.body.decode().split("&"))["trigger_id"]
    started = time.monotonic()
    status, _ = await world.bot.send(request)
    assert status == 200 and time.monotonic() - started < 3.0
    [opened] = await world.slack.wait_for("views.open")
    assert opened.args["trigger_id"].replace(".", "%2E") in (trigger, trigger.replace(".", "%2E"))
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
    world.linode.clear_faults()

    world.linode.slow("instances.create", 5)
    started = time.monotonic()
    answer = await submit(world, owner, modal, create_values(plan_id, label="slow-1"))
    assert time.monotonic() - started < 3.0 and answer["response_action"] == "update"
    row = await wait_status(world.engine, owner, "slow-1", "running")
    assert row["provider_instance_id"].isdigit()


async def test_the_fill_waits_in_a_task_of_its_own_and_shutdown_drains_it(world: VpsWorld) -> None:
    """The listener returns once the loading modal is open (its request is not kept while Linode is
    slow); the fill is a task shutdown still waits for."""
    owner = await payer(world.engine, world.slack)
    await add_plan(world.engine)
    services = world.bot.app[SERVICES]
    world.linode.slow("regions.list", 1)
    status, _ = await world.bot.send(world.requests.slash_command(owner.slack_id, "vps create"))
    assert status == 200
    await world.slack.wait_for("views.open")

    async def fill_tasks() -> list[Any]:
        return list(services.after_ack_tasks)

    await until(fill_tasks, what="the fill's task")  # Linode is slow, so the fill is still waiting
    await drain_listener_tasks(10)
    assert not services.after_ack_tasks
    assert (await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID))["callback_id"] == render.CREATE_CALLBACK_ID


async def test_a_fill_that_fails_shows_a_reference_in_the_modal(
    world: VpsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    owner = await payer(world.engine, world.slack)
    await add_plan(world.engine)
    world.linode.slow("regions.list", 1)
    request = world.requests.slash_command(owner.slack_id, "vps create")
    assert (await world.bot.send(request))[0] == 200
    [opened] = await world.slack.wait_for("views.open")
    view_id = opened.response["view"]["id"]
    await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)  # the real fill first; then a failing one
    services = world.bot.app[SERVICES]
    client = AsyncWebClient(token=world.slack.identity.bot_token, base_url=world.slack.api_url)

    async def broken_fill() -> None:
        raise RuntimeError("the catalogue could not be read")

    body = {"user_id": owner.slack_id, "command": "/cs", "text": "vps create"}
    run_after_ack(services, body, client, broken_fill(), view_id=view_id)
    await drain_listener_tasks(10)
    last = world.slack.calls_to("views.update")[-1]
    shown = json.dumps(last.args["view"])
    assert last.args["view_id"] == view_id and "Something went wrong" in shown
    [failure] = [r for r in caplog.records if r.getMessage() == "slack.listener_failed"]
    assert failure.ref in shown and failure.slack_user == owner.slack_id  # type: ignore[attr-defined]


async def test_closing_the_create_modal_while_it_loads_is_not_an_error(world: VpsWorld) -> None:
    """The user closes the loading modal before Linode answers: the late fill finds it gone
    (Slack: not_found) and the user is not sent an apology for a window they closed."""
    owner = await payer(world.engine, world.slack)
    await add_plan(world.engine)
    world.linode.slow("regions.list", 1)
    status, _ = await world.bot.send(world.requests.slash_command(owner.slack_id, "vps create"))
    assert status == 200
    [opened] = await world.slack.wait_for("views.open")
    world.slack.close_view(opened.response["view"]["id"])

    async def fills() -> list[Any]:
        return world.slack.calls_to("views.update")

    [update] = await until(fills, what="the late fill")
    assert update.response.get("error") == "not_found"
    await asyncio.sleep(0.3)  # room for an apology, were one coming
    assert response_count(world, owner) == 0
    assert not [c for c in world.slack.calls if c.method.startswith("chat.post")]


@pytest.mark.parametrize(
    ("fault", "create_statuses", "adopted"),
    [
        # Linode created the server but answered 502: the SDK re-POSTs and the label leads to adoption.
        (dict(status=502, after_effect=True), [502, 400], True),
        # Linode is rate limiting: 429 with Retry-After, twice, before anything is created.
        (dict(status=429, retry_after=1, times=2), [429, 429, 200], False),
    ],
    ids=["502-after-effect", "429-retry-after"],
)
async def test_linode_gateway_errors_on_create_make_one_server_and_the_user_sees_it(
    world: VpsWorld, fault: dict[str, Any], create_statuses: list[int], adopted: bool
) -> None:
    owner = await payer(world.engine, world.slack)
    notices_channel = "C0VPSN" + secrets.token_hex(3).upper()  # bindings outlive a test in the shared database
    world.slack.add_channel(notices_channel, name=notices_channel.lower())
    await bind_vps_channel(world.engine, owner, notices_channel)
    plan_id = await add_plan(world.engine)
    world.linode.fail("instances.create", **fault)
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)

    answer = await submit(world, owner, modal, create_values(plan_id, label="retry-1"))
    assert answer["response_action"] == "update"  # the modal shows progress at once

    row = await wait_status(world.engine, owner, "retry-1", "running")
    assert [c.status for c in world.linode.calls_to("instances.create")] == create_statuses
    assert len(world.linode.instances) == 1
    assert [r["id"] for r in await org_servers(world, owner.org.id)] == [row["id"]]
    charges = await rows(world.engine, "SELECT * FROM vps_billing_cycles WHERE vps_instance_id = :v", v=row["id"])
    assert len(charges) == 1
    [created] = await rows(
        world.engine, "SELECT metadata FROM activity_logs WHERE event_type = 'vps.create' AND entity_id = :e",
        e=str(row["id"]),
    )  # fmt: skip
    assert created["metadata"]["adopted"] is adopted

    # the outcome reaches the user: the modal ends on the running server, the channel hears it once
    async def finished() -> dict | None:
        view = world.slack.open_views(owner.slack_id)[-1]
        return view if ":white_check_mark:" in json.dumps(view) else None

    done = json.dumps(await until(finished, what="the modal to show the created server"))
    assert "retry-1" in done and row["ip"] in done

    async def notices() -> list:
        return [m for m in world.slack.channel_messages(notices_channel) if "retry-1" in json.dumps(m)]

    [notice] = await until(notices, what="the created notice")
    assert "was created" in json.dumps(notice)


async def test_linode_rate_limiting_every_retry_tells_the_user_and_the_paid_hour_waits_for_the_sync(
    world: VpsWorld,
) -> None:
    """429 outlasts the SDK's retries: the modal says so and Linode has no server. The first hour was
    paid before Linode was asked; the row stays `provisioning` (Linode may still make it) until the sync
    adopts the server or removes the row and gives the hour back."""
    owner = await payer(world.engine, world.slack)
    plan_id = await add_plan(world.engine)
    world.linode.fail("instances.create", status=429, retry_after=1, times=10)
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)

    answer = await submit(world, owner, modal, create_values(plan_id, label="busy-1"))
    assert answer["response_action"] == "update"

    async def told() -> dict | None:
        view = world.slack.open_views(owner.slack_id)[-1]
        return view if "busy right now" in json.dumps(view) else None

    outcome = json.dumps(await until(told, what="the modal to report the failure"))
    assert "show up in /cs vps" in outcome  # and where the server would appear if Linode made it after all
    attempts = world.linode.calls_to("instances.create")
    assert attempts and {c.status for c in attempts} == {429}  # every attempt refused before any effect
    assert world.linode.instances == {}
    [pending] = await org_servers(world, owner.org.id)  # the sync job settles or removes it later
    assert pending["status"] == "provisioning" and not pending["provider_instance_id"]
    [cycle] = await rows(world.engine, "SELECT status FROM vps_billing_cycles WHERE vps_instance_id = :v",
                         v=pending["id"])  # fmt: skip
    assert cycle["status"] == "billed" and await balance_of(world.engine, owner.org) == Decimal("9.99")


async def test_submitting_the_same_modal_twice_creates_one_server(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    plan_id = await add_plan(world.engine)
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
    values = create_values(plan_id, label="twice-1")

    await asyncio.gather(submit(world, owner, modal, values), submit(world, owner, modal, values))

    await wait_status(world.engine, owner, "twice-1", "running")
    assert len(await org_servers(world, owner.org.id)) == 1
    assert len(world.linode.instances) == 1
    assert len([c for c in world.linode.calls_to("instances.create") if c.ok]) == 1


async def test_linode_refusing_a_field_reopens_the_form_with_the_error_and_removes_the_row(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    plan_id = await add_plan(world.engine)
    refusal = {"errors": [{"reason": "Region is not available for this plan", "field": "region"}]}
    world.linode.fail("instances.create", status=400, body=refusal)
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)

    key = ssh_key("ada")
    answer = await submit(world, owner, modal, create_values(plan_id, label="refused-1", ssh_key=key, backups=True))
    assert answer["response_action"] == "update"

    async def form_with_error() -> dict | None:
        view = world.slack.open_views(owner.slack_id)[-1]
        text = json.dumps(view)
        return view if view.get("callback_id") == render.CREATE_CALLBACK_ID and "not available" in text else None

    view = await until(form_with_error, what="the form to come back with the region error")
    # Everything entered is still there (the operator's first day: a refusal must not cost the form) …
    fields = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    blocks = render.FIELD_BLOCKS
    assert fields[blocks["label"]]["initial_value"] == "refused-1"
    assert fields[blocks["ssh_key"]]["initial_value"] == key
    assert [o["value"] for o in fields[blocks["backups"]]["initial_options"]] == ["on"]
    chosen = {f: fields[blocks[f]]["initial_option"]["value"] for f in ("plan", "region", "image")}
    assert chosen == {"plan": str(plan_id), "region": "us-east", "image": "linode/debian12"}
    # … and Linode's words sit right under the field they concern.
    ids = [b.get("block_id") for b in view["blocks"]]
    under_region = view["blocks"][ids.index(blocks["region"]) + 1]
    assert under_region["type"] == "context" and "Region is not available" in json.dumps(under_region)
    assert await org_servers(world, owner.org.id) == []
    assert world.linode.instances == {}


async def test_stackscript_fields_are_checked_then_sent_to_linode(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    plan_id = await add_plan(world.engine)
    async with world.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO vps_stackscript_configs (stackscript_id, label, display_order) VALUES (10079, 'MySQL', 1)"
            )
        )
    try:
        await command(world, owner, "vps create")
        modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
        assert "DB_PASSWORD (required)" in json.dumps(modal)
        values = create_values(plan_id, label="db-1")
        values[render.FIELD_BLOCKS["stackscript"]] = {render.VALUE: select("10079")}
        values[render.FIELD_BLOCKS["stackscript_data"]] = {render.VALUE: "DB_ENGINE=postgres"}

        answer = await submit(world, owner, modal, values)

        problem = answer["errors"][render.FIELD_BLOCKS["stackscript_data"]]
        assert problem == "DB_PASSWORD is required; DB_ENGINE must be one of mysql,mariadb."
        values[render.FIELD_BLOCKS["stackscript_data"]] = {render.VALUE: "DB_PASSWORD=hunter2\nDB_ENGINE=mariadb"}
        await submit(world, owner, modal, values)
        row = await wait_status(world.engine, owner, "db-1", "running")
        [call] = [c for c in world.linode.calls_to("instances.create") if c.ok]
        assert call.body["stackscript_id"] == 10079
        assert call.body["stackscript_data"] == {"DB_PASSWORD": "hunter2", "DB_ENGINE": "mariadb"}
        assert row["configuration"]["stackscriptId"] == 10079
    finally:
        async with world.engine.begin() as conn:
            await conn.execute(text("DELETE FROM vps_stackscript_configs WHERE stackscript_id = 10079"))


async def test_member_cannot_stop_a_panel_made_server_but_can_see_it(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    member = await payer(world.engine, world.slack, role="member", org=owner.org)
    plan_id = await add_plan(world.engine)
    seeded = world.linode.seed_instance("panel-made-1")
    async with world.engine.begin() as conn:  # written the way the panel writes it
        server_id = (
            await conn.execute(
                text(
                    "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status, "
                    "ip_address, configuration) VALUES (:o, :p, :i, 'panel-1', 'running', :ip, '{\"region\": "
                    '"us-east"}\') RETURNING id'
                ),
                {"o": owner.org.id, "p": str(plan_id), "i": str(seeded["id"]), "ip": seeded["ipv4"][0]},
            )
        ).scalar_one()

    shown = await command(world, member, "vps panel-1")
    assert "panel-1" in shown["text"] and render.POWER_ACTION_IDS["stop"] not in json.dumps(shown)
    refused = await command(world, member, "vps panel-1 stop")
    assert "You need to be an organisation admin" in refused["text"]
    await click(world, member, button(render.POWER_ACTION_IDS["stop"], str(server_id)))
    await response_matching(world, member, "You need to be an organisation admin")
    assert world.linode.calls_to("instances.shutdown") == []
    unknown = await command(world, member, "vps nothing-here")
    assert "No server with that label" in unknown["text"]
