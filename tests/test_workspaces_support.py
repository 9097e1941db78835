"""Support across workspaces: a customer's ticket from their own workspace becomes a triage card in
the reseller's home workspace, and the thread replies cross over both ways, each sent with the token
of the workspace it lands in, exactly once with two replicas running (issue 19)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions, create_app
from bot.app_keys import DATABASE_URL, SETTINGS
from bot.rendering.tickets import NEW_CALLBACK_ID
from tests.conftest import settle_queued_outbox
from tests.factories import link_slack, make_org, make_user, new_slack_user_id
from tests.serve_fixtures import free_port
from tests.ticket_fixtures import (
    bind_for_tickets,
    eventually,
    flat,
    latest_ticket_of,
    replies_text,
    root_of,
    stored_replies,
)
from tests.workspace_fixtures import FAST, Workspaces, workspaces_fixture  # noqa: F401 - fixture

HOME = "T0HOME" + secrets.token_hex(3).upper()
TRIAGE = "C0TRI" + secrets.token_hex(3).upper()
NEW_TICKET = {
    "subject": {"value": "Server web-1 is down"},
    "category": {"value": "technical"},
    "priority": {"value": {"type": "static_select", "selected_option": {"value": "high"}}},
    "message": {"value": "It stopped answering this morning."},
}


@contextlib.asynccontextmanager
async def second_replica(ws: Workspaces) -> AsyncIterator[str]:
    """Another `csbot serve` on the same database (its own caches, workers and ticket listener)."""
    app = create_app(
        ws.app[SETTINGS], ws.app[DATABASE_URL], AppOptions(outbox_policy=FAST, ticket_sync_every_seconds=0.2)
    )
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    "workspaces", [{"settings": {"slack_home_team": HOME, "support_channel": TRIAGE}}], indirect=True
)
async def test_a_ticket_from_a_customer_workspace_is_triaged_in_the_home_workspace_and_answered_back(
    workspaces: Workspaces, engine: AsyncEngine
) -> None:
    ws, slack = workspaces, workspaces.slack
    await settle_queued_outbox(engine)
    customer_team = "T0CUS" + secrets.token_hex(3).upper()
    slack.add_workspace(HOME, "Reseller Support")
    slack.add_workspace(customer_team, "Acme")
    staff, customer = new_slack_user_id(), new_slack_user_id()
    staff_user, customer_user = await make_user(engine, role="admin"), await make_user(engine)
    slack.add_user(staff, name="sam", email=staff_user.email, team_id=HOME)
    slack.add_user(customer, name="cleo", email=customer_user.email, team_id=customer_team)
    await link_slack(engine, staff, staff_user, team_id=HOME)
    await link_slack(engine, customer, customer_user, team_id=customer_team)
    org = await make_org(engine, customer_user, name="Acme Hosting")
    customer_channel = f"C{customer_team[1:]}GEN"
    slack.add_channel(TRIAGE, name="triage", team_id=HOME, members=[staff])
    await bind_for_tickets(engine, org, customer_user, customer_channel)
    await ws.install(HOME, staff)
    await ws.install(customer_team, customer)

    status, _ = await ws.send(ws.requests.slash_command(customer, "ticket new", channel_id=customer_channel))
    assert status == 200
    view = slack.open_views(customer)[-1]
    assert view["callback_id"] == NEW_CALLBACK_ID
    assert (await ws.send(ws.requests.view_submission(customer, view, values=NEW_TICKET)))[0] == 200
    ticket_id = await eventually(lambda: latest_ticket_of(engine, org))

    card = await root_of(slack, TRIAGE, ticket_id, "triage")
    assert "Acme Hosting · Slack: Acme" in flat(card["blocks"])  # staff see the organisation and workspace
    requester = await root_of(slack, customer_channel, ticket_id, "requester")
    assert any(c.method == "chat.postMessage" and c.args.get("channel") == TRIAGE for c in slack.calls_for_team(HOME))

    staff_words = "We are on it, rebooting now."
    async with second_replica(ws) as other:  # the staff reply reaches another replica of the bot
        reply = ws.requests.message_event(staff, TRIAGE, staff_words, thread_ts=card["ts"])
        async with ws.session.post(other + "/slack/events", data=reply.body, headers=reply.headers) as answer:
            assert answer.status == 200
        await eventually(lambda: staff_words in flat(replies_text(slack, customer_channel, requester["ts"])))
        await asyncio.sleep(0.5)  # both replicas' workers and ticket syncs get their chance to repeat it
    assert flat(replies_text(slack, customer_channel, requester["ts"])).count(staff_words) == 1  # exactly once
    crossed = [c for c in slack.calls if staff_words in flat(c.args) and c.args.get("channel") == customer_channel]
    assert crossed and all(c.team_id == customer_team and c.ok for c in crossed)  # with the customer's token

    customer_words = "Thanks, it works again."
    sent = ws.requests.message_event(customer, customer_channel, customer_words, thread_ts=requester["ts"])
    assert (await ws.send(sent))[0] == 200
    await eventually(lambda: customer_words in flat(replies_text(slack, TRIAGE, card["ts"])))
    back = [c for c in slack.calls if customer_words in flat(c.args) and c.args.get("channel") == TRIAGE]
    assert back and all(c.team_id == HOME for c in back)


SHARED_HOME = "T0HOME" + secrets.token_hex(3).upper()


@pytest.mark.parametrize("workspaces", [{"settings": {"slack_home_team": SHARED_HOME}}], indirect=True)
async def test_a_customer_in_a_slack_connect_channel_is_resolved_in_their_own_workspace(
    workspaces: Workspaces, engine: AsyncEngine
) -> None:
    """The reseller hosts #acme-support and shares it with the customer's workspace: the customer's
    thread reply arrives with the host's team id, and is still theirs (linked in their workspace)."""
    ws, slack = workspaces, workspaces.slack
    customer_team = "T0CUS" + secrets.token_hex(3).upper()
    slack.add_workspace(SHARED_HOME, "Reseller Support")
    slack.add_workspace(customer_team, "Acme")
    staff, customer = new_slack_user_id(), new_slack_user_id()
    customer_user = await make_user(engine)
    slack.add_user(staff, name="sam", team_id=SHARED_HOME)
    slack.add_user(customer, name="cleo", email=customer_user.email, team_id=customer_team)
    await link_slack(engine, customer, customer_user, team_id=customer_team)
    org = await make_org(engine, customer_user, name="Acme Connect")
    shared = "C0SHR" + secrets.token_hex(3).upper()
    slack.add_channel(shared, name="acme-support", team_id=SHARED_HOME, members=[staff, customer])
    slack.share_channel(shared, customer_team)
    await bind_for_tickets(engine, org, customer_user, shared)
    await ws.install(SHARED_HOME, staff)
    await ws.install(customer_team, customer)

    assert (await ws.send(ws.requests.slash_command(customer, "ticket new", channel_id=shared)))[0] == 200
    view = slack.open_views(customer)[-1]
    assert (await ws.send(ws.requests.view_submission(customer, view, values=NEW_TICKET)))[0] == 200
    ticket_id = await eventually(lambda: latest_ticket_of(engine, org))
    requester = await root_of(slack, shared, ticket_id, "requester")

    words = "It is back, thank you."
    event = ws.requests.message_event(customer, shared, words, thread_ts=requester["ts"])
    assert '"user_team"' in event.body.decode()  # Slack names the author's own workspace apart
    assert (await ws.send(event))[0] == 200
    stored = await eventually(lambda: stored_replies(engine, ticket_id))
    assert [(r.user_id, r.message) for r in stored] == [(customer_user.id, words)]
