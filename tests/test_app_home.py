"""The App Home dashboard, published on `app_home_opened` through the real app and emulator."""

from __future__ import annotations

import json
from decimal import Decimal

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.slack.home import publish_home
from tests.conftest import BOT_TOKEN, RunningBot
from tests.factories import add_slack_user, link_slack, make_org, make_user, many_orgs


async def open_home(bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, user: str) -> str:
    status, _ = await bot.send(slack_requests.app_home_opened(user))
    assert status == 200
    await slack.wait_for("views.publish", predicate=lambda call: call.args.get("user_id") == user)
    view = slack.home_view(user)
    assert view is not None and view["type"] == "home"
    return json.dumps(view, ensure_ascii=False)


async def test_unlinked_user_sees_a_link_button(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    user = add_slack_user(slack)
    home = await open_home(bot, slack, slack_requests, user)
    assert "Link my account" in home
    assert "http://127.0.0.1:3000/link/" in home


async def test_linked_user_sees_organisation_wallet_servers_tickets_and_bindings(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await make_user(engine, name="Ada <!channel> Lovelace")
    org = await make_org(engine, owner, name="Analytical & Co", balance=Decimal("1234.50"))
    user = add_slack_user(slack)
    await link_slack(engine, user, owner)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status, ip_address) "
                "VALUES (:o, 'plan', '123', 'web-1', 'running', '203.0.113.5')"
            ),
            {"o": org.id},
        )
        await conn.execute(
            text(
                "INSERT INTO support_tickets (organization_id, created_by, subject, message, category, priority) "
                "VALUES (:o, :u, 'Disk is full', 'The disk of web-1 is full again', 'technical', 'high')"
            ),
            {"o": org.id, "u": owner.id},
        )
        await conn.execute(
            text(
                "INSERT INTO bot_channel_bindings (team_id, channel_id, organization_id, notify_vps) "
                "VALUES ('T0CSBOT01', 'C0HOMEBIND', :o, false)"
            ),
            {"o": org.id},
        )
    home = await open_home(bot, slack, slack_requests, user)
    assert "Analytical &amp; Co" in home
    assert "<!channel>" not in home and "&lt;!channel&gt;" in home
    assert "$1,234.50" in home
    assert "web-1" in home and "203.0.113.5" in home
    assert "Disk is full" in home and "high priority" in home
    assert "<#C0HOMEBIND> — billing, tickets" in home


async def test_linked_user_without_organisation_is_told_how_to_create_one(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    lonely = await make_user(engine)
    user = add_slack_user(slack)
    await link_slack(engine, user, lonely)
    home = await open_home(bot, slack, slack_requests, user)
    assert "org create" in home


async def test_messages_tab_does_not_publish(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    user = add_slack_user(slack)
    status, _ = await bot.send(slack_requests.app_home_opened(user, tab="messages"))
    assert status == 200
    status, _ = await bot.send(slack_requests.app_home_opened(user))  # a later Home open is published
    await slack.wait_for("views.publish", predicate=lambda call: call.args.get("user_id") == user)
    assert len([c for c in slack.calls_to("views.publish") if c.args.get("user_id") == user]) == 1


async def test_a_user_in_fifty_organisations_gets_a_home_slack_accepts(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    """29 organisations were enough to overflow the one section they shared: the Home stayed stale."""
    owner, member = await make_user(engine), await make_user(engine)
    await many_orgs(engine, owner, 50, name="Hosting & <Partners> of the Northern Hemisphere", members=(member,))
    user = add_slack_user(slack)
    await link_slack(engine, user, member)
    home = json.loads(await open_home(bot, slack, slack_requests, user))
    menus = [e for b in home["blocks"] for e in b.get("elements", [b.get("accessory")]) if e and "options" in e]
    assert [len(menu["options"]) for menu in menus] == [50]  # the switcher offers every one of them


async def test_a_home_slack_refuses_is_published_plain_instead_of_left_stale(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await make_user(engine)
    await make_org(engine, owner, name="Analytical & Co")
    user = add_slack_user(slack)
    await link_slack(engine, user, owner)
    slack.fail("views.publish", error="invalid_arguments")
    home = json.loads(await open_home(bot, slack, slack_requests, user))
    assert {block["type"] for block in home["blocks"]} == {"section"}
    assert "Analytical &amp; Co" in json.dumps(home)
    assert [call.status for call in slack.calls_to("views.publish")] == [200, 200]


async def test_a_home_view_over_slacks_limits_is_published_plain(slack: SlackEmulator) -> None:
    user = add_slack_user(slack)
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "a" * 3500}}
    button = {"type": "button", "action_id": "x", "text": {"type": "plain_text", "text": "b" * 80}}
    await publish_home(client, user, {"type": "home", "blocks": [too_long, {"type": "actions", "elements": [button]}]})
    view = slack.home_view(user)
    assert view is not None
    assert "".join(b["text"]["text"] for b in view["blocks"]) == "a" * 3500
    assert [b["type"] for b in view["blocks"]] == ["section", "section"]
