"""Every button, select, form and shortcut checks who is acting before it shows or changes anything.

The sweep walks the listeners registered in the running Bolt app, so a listener added without the
gate (or without a sample here) fails. Each one is then used by someone who must get nothing: an
unlinked Slack user (only the link prompt) and a linked member of another organisation (a refusal
that names nothing). Neither may open a modal or see the organisation's ticket, server or name.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app_keys import BOLT
from bot.emulators.slack import SignedRequest, SlackEmulator, SlackRequestFactory
from bot.manifest import TICKET_SHORTCUT_CALLBACK
from bot.rendering import home as home_render
from bot.rendering import invoices as invoice_render
from bot.rendering import orgs as org_render
from bot.rendering import tickets as ticket_render
from bot.rendering import vps as vps_render
from bot.rendering import wallet as wallet_render
from bot.rendering.admin_payments import EVENT_PAGER, REPLAY_ACTION_ID
from bot.rendering.identity import LINK_BUTTON, LINK_KEY_CALLBACK
from bot.rendering.paging import page_value
from bot.services.access import NotInOrganisation
from bot.services.wallet import TopupRequest
from handlers.acting import Gate
from handlers.actions import URL_BUTTON_PREFIX
from tests.conftest import RunningBot
from tests.factories import OrgRecord, UserRecord, add_slack_user, link_slack, make_org, make_user
from tests.server_page_fixtures import page_action_samples, page_view_samples
from tests.ticket_fixtures import (  # noqa: F401 - `slack` overrides conftest's paced emulator
    desk,
    eventually,
    panel_ticket,
    person,
    root_of,
    unpaced_slack,
)

SECRETS = ("Secret merger plan", "secret-db-1", "Hush Corp")  # plain words: found however they are escaped
STAFF_ONLY = "Only ContainerStacks staff"


@dataclass(frozen=True)
class World:
    """Organisation A (with a ticket and a server whose names must never leak) and its owner."""

    org: OrgRecord
    owner: UserRecord
    ticket_id: uuid.UUID
    server_id: uuid.UUID


async def world_a(engine: AsyncEngine) -> World:
    owner = await make_user(engine)
    org = await make_org(engine, owner, name=SECRETS[2], balance=Decimal("50.00"))
    ticket_id = await panel_ticket(engine, org, owner, subject=SECRETS[0])
    async with engine.begin() as conn:
        server_id = (
            await conn.execute(
                text(
                    "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status) "
                    "VALUES (:o, 'g6-nanode-1', '4242', :l, 'running') RETURNING id"
                ),
                {"o": org.id, "l": SECRETS[1]},
            )
        ).scalar_one()
    return World(org, owner, ticket_id, server_id)


def action_samples(w: World) -> dict[str, dict[str, Any]]:
    """A realistic click on each block action, pointing at organisation A's things."""
    server, ticket, org = str(w.server_id), str(w.ticket_id), str(w.org.id)
    topup = TopupRequest(w.org.id, Decimal("25.00"), "USD", secrets.token_hex(8))
    samples: dict[str, dict[str, Any]] = {
        org_render.CREATE_BUTTON_ACTION_ID: {"value": "create"},
        org_render.REMOVE_CONFIRM_ACTION_ID: {"value": json.dumps({"org": org, "user": str(w.owner.id)})},
        org_render.REMOVE_CANCEL_ACTION_ID: {"value": "cancel"},
        REPLAY_ACTION_ID: {"value": "WH-0000000000"},
        wallet_render.TOPUP_CONFIRM_ACTION_ID: {"value": wallet_render.topup_value(topup)},
        wallet_render.TOPUP_CANCEL_ACTION_ID: {"value": "cancel"},
        wallet_render.PAY_BUTTON_ACTION_ID: {"value": wallet_render.pay_value(Decimal("25.00"), "USD"),
                                             "url": "https://www.sandbox.paypal.com/checkoutnow?token=X"},
        wallet_render.TOPUP_OPEN_ACTION_ID: {"value": org},
        ticket_render.NEW_OPEN_ACTION_ID: {"value": org},
        home_render.SWITCH_ACTION_ID: {"type": "static_select", "selected_option": {"value": org}},
        ticket_render.ACTION_ASSIGN_ME: {"value": ticket},
        ticket_render.ACTION_ASSIGN_USER: {"type": "users_select", "selected_user": "U0NOBODY1",
                                           "block_id": ticket_render.CARD_BLOCK_PREFIX + ticket},
        ticket_render.ACTION_PRIORITY: {"type": "static_select", "selected_option": {"value": f"{ticket}:urgent"}},
        ticket_render.ACTION_STATUS: {"type": "static_select", "selected_option": {"value": f"{ticket}:closed"}},
        ticket_render.ACTION_CLOSE: {"value": ticket},
        ticket_render.ACTION_REPLY: {"value": ticket},
        vps_render.CREATE_OPEN_ACTION_ID: {"value": org},
        vps_render.DELETE_OPEN_ACTION_ID: {"value": server},
        vps_render.CANCEL_ACTION_ID: {"value": "cancel"},
        vps_render.REBUILD_PICK_ACTION_ID: {"value": server},
        vps_render.REBUILD_IMAGE_ACTION_ID: {"type": "static_select",
                                             "selected_option": {"value": f"{server}|linode/debian12"}},
        vps_render.REBUILD_CONFIRM_ACTION_ID: {"value": f"{server}|linode/debian12"},
        vps_render.RESIZE_PICK_ACTION_ID: {"value": server},
        vps_render.RESIZE_PLAN_ACTION_ID: {"type": "static_select", "selected_option": {"value": f"{server}|plan"}},
        vps_render.RESIZE_CONFIRM_ACTION_ID: {"value": f"{server}|plan"},
        vps_render.REFRESH_ACTION_ID: {"value": server},
    }  # fmt: skip
    for action_id in vps_render.POWER_ACTION_IDS.values():
        samples[action_id] = {"value": server}
    for pager in (wallet_render.HISTORY_PAGER, vps_render.SERVER_PAGER, ticket_render.TICKET_PAGER,
                  org_render.MEMBER_PAGER, org_render.BINDING_PAGER):  # fmt: skip
        samples.update({key: {"value": page_value(w.org.id, 10, 10)} for key in pager.action_ids})
    for pager in (org_render.ORG_PAGER, EVENT_PAGER):  # lists of whatever the clicker may see: no organisation
        samples.update({key: {"value": page_value(None, 10, 10)} for key in pager.action_ids})
    samples.update(page_action_samples(server))
    samples[invoice_render.SEND_ACTION_ID] = {"type": "static_select",
                                              "selected_option": {"value": f"{org}|{uuid.uuid4()}"}}  # fmt: skip
    return samples


def suggestion_samples(w: World) -> dict[str, dict[str, Any]]:
    """A search typed into each searchable menu, where organisation A's menus are."""
    server = str(w.server_id)
    create_form = {
        "type": "modal",
        "callback_id": vps_render.CREATE_CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Create a server"},
        "private_metadata": vps_render.create_metadata(None, None, organization_id=w.org.id),
    }
    home = {"type": "home", "blocks": []}
    return {
        vps_render.CREATE_SEARCH_ACTION_ID: {"block_id": vps_render.FIELD_BLOCKS["image"], "view": create_form},
        vps_render.REBUILD_IMAGE_ACTION_ID: {"block_id": vps_render.server_block(vps_render.REBUILD_IMAGE_ACTION_ID,
                                                                                 server)},
        vps_render.RESIZE_PLAN_ACTION_ID: {"block_id": vps_render.server_block(vps_render.RESIZE_PLAN_ACTION_ID,
                                                                               server)},
        home_render.SWITCH_ACTION_ID: {"block_id": "switcher", "view": home},
    }  # fmt: skip


def view_samples(w: World) -> dict[str, dict[str, Any]]:
    """Each form as the bot opens it for organisation A (or its ticket or server)."""
    return {
        org_render.CREATE_CALLBACK_ID: org_render.render_create_modal("Mine now", channel_id=None),
        ticket_render.NEW_CALLBACK_ID: ticket_render.render_new_modal(organization_id=w.org.id, subject="Hi"),
        ticket_render.REPLY_CALLBACK_ID: {
            "type": "modal",
            "callback_id": ticket_render.REPLY_CALLBACK_ID,
            "title": {"type": "plain_text", "text": "Reply"},
            "private_metadata": str(w.ticket_id),
        },
        vps_render.CREATE_CALLBACK_ID: {
            "type": "modal",
            "callback_id": vps_render.CREATE_CALLBACK_ID,
            "title": {"type": "plain_text", "text": "Create a server"},
            "private_metadata": vps_render.create_metadata(None, None, organization_id=w.org.id),
        },
        vps_render.DELETE_CALLBACK_ID: vps_render.delete_modal(str(w.server_id), SECRETS[1], {}),
        wallet_render.TOPUP_AMOUNT_CALLBACK_ID: wallet_render.render_amount_modal(w.org.id, SECRETS[2], Decimal(100)),
        invoice_render.PICK_CALLBACK_ID: invoice_render.pick_modal(w.org.id, None, []),
        **page_view_samples(w.server_id, SECRETS[1]),
    }


def gates(app: AsyncApp) -> list[Gate]:
    return [m for listener in app._async_listeners for m in listener.middleware if isinstance(m, Gate)]


def request_for(requests: SlackRequestFactory, who: str, gate: Gate, ident: str, w: World) -> SignedRequest:
    if gate.kind == "block_actions":
        action = {"action_id": ident, "type": "button", **action_samples(w)[ident]}
        return requests.block_actions(who, [action])
    if gate.kind == "view_submission":
        return requests.view_submission(who, view_samples(w)[ident], values={})
    if gate.kind == "block_suggestion":
        return requests.block_suggestion(who, ident, "", **suggestion_samples(w)[ident])
    message = {"type": "message", "ts": "1700000000.000100", "user": "U0SOMEONE", "text": "printer on fire"}
    return requests.message_shortcut(who, ident, channel_id="C0GENERAL", message=message)


async def probe_matches(app: AsyncApp, listener: Any, request: SignedRequest) -> bool:
    probe = AsyncBoltRequest(body=request.body.decode(), headers=request.headers)
    return await listener.async_matches(req=probe, resp=BoltResponse(status=200))


async def test_every_interactive_listener_is_behind_the_gate_and_has_a_sample_here(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    app = bot.app[BOLT]
    someone = add_slack_user(slack)
    not_interactive = [
        slack_requests.slash_command(someone, "help"),
        slack_requests.app_home_opened(someone),
        slack_requests.message_event(someone, "C0GENERAL", "hello"),
        slack_requests.app_mention(someone, "C0GENERAL", "hello"),
        slack_requests.message_event(someone, "D" + someone[1:], "hello", channel_type="im"),
    ]
    for listener in app._async_listeners:
        if any(isinstance(m, Gate) for m in listener.middleware):
            continue
        matched = [await probe_matches(app, listener, probe) for probe in not_interactive]
        assert any(matched), f"{listener.ack_function.__name__} is registered without the gate"
    w = await world_a(engine)
    registered = {(g.kind, ident) for g in gates(app) for ident in g.ids}
    public = {(g.kind, ident) for g in gates(app) if not g.need.linked for ident in g.ids}
    assert public == {("block_actions", URL_BUTTON_PREFIX), ("view_submission", LINK_KEY_CALLBACK)}
    sampled = (
        {("block_actions", i) for i in action_samples(w)}
        | {("view_submission", i) for i in view_samples(w)}
        | {("shortcut", TICKET_SHORTCUT_CALLBACK)}
        | {("block_suggestion", i) for i in suggestion_samples(w)}
    )
    assert registered - public == sampled


async def answers_for(
    bot: RunningBot, slack: SlackEmulator, requests: SlackRequestFactory, who: str, w: World, *, scoped_only: bool
) -> list[tuple[str, str]]:
    """Use every gated control (or only those about something, or staff-only) as `who`; returns
    (control, what they were told) for each."""
    told: list[tuple[str, str]] = []
    for gate in gates(bot.app[BOLT]):
        if not gate.need.linked or (scoped_only and not (gate.need.scope or gate.need.staff)):
            continue
        for ident in gate.ids:
            before = len([r for r in slack.responses if r.user_id == who])
            status, body = await bot.send(request_for(requests, who, gate, ident, w))
            assert status == 200, (ident, body)
            if gate.kind == "block_suggestion":  # a refused search offers nothing and tells nothing
                assert json.loads(body) == {"options": []}, (ident, body)
                assert len([r for r in slack.responses if r.user_id == who]) == before, ident
                continue
            if gate.kind == "view_submission":
                answer = json.loads(body)
                assert answer["response_action"] == "update", (ident, answer)
                told.append((ident, json.dumps(answer["view"], ensure_ascii=False)))
                continue
            assert body == "", (ident, body)
            posts = await eventually(lambda b=before: [r for r in slack.responses if r.user_id == who][b:])
            assert len(posts) == 1, (ident, posts)
            assert posts[0].payload.get("replace_original") is False  # a shared message is never replaced
            told.append((ident, json.dumps(posts[0].payload, ensure_ascii=False)))
    return told


def assert_nothing_shown(slack: SlackEmulator, told: list[tuple[str, str]]) -> None:
    assert not [c for c in slack.calls if c.method.startswith("views.")], "a modal was opened or changed"
    for ident, said in told:
        for secret in SECRETS:
            assert secret not in said, (ident, secret)


async def test_an_unlinked_user_gets_only_the_link_prompt_from_every_control(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    w = await world_a(engine)
    stranger = add_slack_user(slack)
    told = await answers_for(bot, slack, slack_requests, stranger, w, scoped_only=False)
    assert told and all(LINK_BUTTON in text for _, text in told), [i for i, t in told if LINK_BUTTON not in t]
    assert_nothing_shown(slack, told)
    await assert_nothing_changed(engine, w)


async def test_a_member_of_another_organisation_is_refused_by_every_control_about_this_one(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    w = await world_a(engine)
    outsider = await make_user(engine)
    await make_org(engine, outsider, name="Outsider Ltd")
    outsider_slack = add_slack_user(slack)
    await link_slack(engine, outsider_slack, outsider)
    told = await answers_for(bot, slack, slack_requests, outsider_slack, w, scoped_only=True)
    assert len(told) > 20
    for ident, said in told:
        expected = STAFF_ONLY if ident in staff_ids(bot) else NotInOrganisation().message
        assert expected in said, (ident, said)
    assert_nothing_shown(slack, told)
    await assert_nothing_changed(engine, w)


def staff_ids(bot: RunningBot) -> set[str]:
    return {i for g in gates(bot.app[BOLT]) if g.need.staff for i in g.ids}


async def assert_nothing_changed(engine: AsyncEngine, w: World) -> None:
    async with engine.connect() as conn:
        activity = (
            await conn.execute(text("SELECT count(*) FROM activity_logs WHERE organization_id = :o"), {"o": w.org.id})
        ).scalar_one()
        ticket = (
            await conn.execute(text("SELECT status, priority FROM support_tickets WHERE id = :t"), {"t": w.ticket_id})
        ).one()
        members = (
            await conn.execute(
                text("SELECT count(*) FROM organization_members WHERE organization_id = :o"), {"o": w.org.id}
            )
        ).scalar_one()
    assert (activity, tuple(ticket), members) == (0, ("open", "medium"), 1)
