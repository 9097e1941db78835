"""`/cs link`, `/cs link key`, `/cs whoami` and `/cs unlink` as signed Slack requests through the real app."""

from __future__ import annotations

import base64
import json
import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering.identity import LINK_BUTTON, LINK_KEY_ACTION, LINK_KEY_BLOCK, LINK_KEY_CALLBACK, NOT_LINKED
from bot.services import link_tokens, linking
from bot.services.login_throttle import MAX_SLACK_FAILURES
from tests.conftest import BOT_SECRET, SIGNING_SECRET, TEAM_ID, RunningBot
from tests.factories import UserRecord, link_slack, make_org, make_user, new_slack_user_id
from tests.test_link_page import Browser, identity_of, link_activities, new_person

PUBLIC_URL = "http://127.0.0.1:3000"


async def command(bot: RunningBot, slack_requests: SlackRequestFactory, user: str, words: str) -> dict[str, Any]:
    status, body = await bot.send(slack_requests.slash_command(user, words))
    assert status == 200, body
    return json.loads(body)


def button_of(answer: dict[str, Any]) -> dict[str, Any]:
    [button] = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return button


async def make_api_key(
    engine: AsyncEngine, user: UserRecord, *, active: bool = True, expires_at: datetime | None = None
) -> str:
    """A key as the panel makes one: `sk_live_…`, stored as plain base64 in `key_hash`."""
    alphabet = string.ascii_lowercase + string.digits
    key = "sk_live_" + "".join(secrets.choice(alphabet) for _ in range(26))
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO user_api_keys (user_id, key_name, key_hash, key_prefix, active, expires_at) "
                "VALUES (:u, 'slack test', :h, :p, :a, :x)"
            ),
            {
                "u": user.id,
                "h": base64.b64encode(key.encode()).decode(),
                "p": key[:12] + "...",
                "a": active,
                "x": expires_at,
            },
        )
    return key


async def open_key_modal(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, user: str
) -> dict[str, Any]:
    request = slack_requests.slash_command(user, "link key")
    status, body = await bot.send(request)
    assert status == 200 and body == ""
    trigger_id = parse_qs(request.body.decode())["trigger_id"][0]
    [call] = await slack.wait_for("views.open", predicate=lambda c: c.args.get("trigger_id") == trigger_id)
    assert call.ok
    [view] = slack.open_views(user)
    return view


async def submit_key(
    bot: RunningBot, slack_requests: SlackRequestFactory, user: str, view: dict[str, Any], key: str
) -> tuple[int, str]:
    values = {LINK_KEY_BLOCK: {LINK_KEY_ACTION: key}}
    return await bot.send(slack_requests.view_submission(user, view, values=values))


# -- /cs link ---------------------------------------------------------------------------------------


async def test_link_command_answers_with_a_button_to_a_single_use_link_for_this_user(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    answer = await command(bot, slack_requests, slack_user_id, "link")
    assert answer["response_type"] == "ephemeral"
    button = button_of(answer)
    assert button["action_id"].startswith("open_url_") and button["text"]["text"] == LINK_BUTTON
    assert button["url"].startswith(f"{PUBLIC_URL}/link/")
    path = urlsplit(button["url"]).path
    claims = link_tokens.verify_token(BOT_SECRET, path.removeprefix("/link/"), datetime.now(UTC))
    assert (claims.slack.team_id, claims.slack.user_id) == (TEAM_ID, slack_user_id)
    assert claims.expires_at - datetime.now(UTC) <= timedelta(minutes=15)
    browser = Browser(bot)
    try:
        assert (await browser.sign_in(path, user.email, user.password)).status == 200
    finally:
        await browser.close()
    assert await identity_of(engine, slack_user_id) == {"user_id": user.id, "linked_via": "password"}
    # Clicking the URL button still sends block_actions, which is acked quietly.
    click = slack_requests.block_actions(slack_user_id, [{"action_id": button["action_id"], "url": button["url"]}])
    assert await bot.send(click) == (200, "")


async def test_link_command_for_a_linked_user_says_who_they_are_and_still_offers_the_button(
    bot: RunningBot, engine: AsyncEngine, slack_requests: SlackRequestFactory
) -> None:
    user = await make_user(engine, name="Grace *Hopper*")
    slack_user_id = new_slack_user_id()
    await link_slack(engine, slack_user_id, user)
    answer = await command(bot, slack_requests, slack_user_id, "link")
    assert "You're linked as *Grace *Hopper**" in answer["text"] and user.email in answer["text"]
    assert "replaces the current link" in answer["text"]
    assert button_of(answer)["url"].startswith(f"{PUBLIC_URL}/link/")


@pytest.mark.parametrize("words", ["whoami", "wallet"])  # wallet looks its actor up itself, with the card
async def test_unlinked_user_running_a_linked_only_command_gets_the_link_button(
    words: str, bot: RunningBot, slack_requests: SlackRequestFactory
) -> None:
    answer = await command(bot, slack_requests, new_slack_user_id(), words)
    assert "first link your ContainerStacks account" in answer["text"]
    assert button_of(answer)["action_id"].startswith("open_url_")


@pytest.mark.parametrize(
    "slack_ids",
    [
        ("T" + "0" * 40, None),  # longer than the VARCHAR(32) the bot stores Slack ids in
        (None, "U" + "A" * 40),
        (None, "u0-not-slack"),
    ],
    ids=["long_team_id", "long_user_id", "lowercase_user_id"],
)
@pytest.mark.parametrize("words", ["link", "wallet"])  # the link command, and a linked-only one
async def test_ids_slack_would_never_send_get_a_clear_answer_and_no_link_token(
    slack_ids: tuple[str | None, str | None],
    words: str,
    bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
) -> None:
    team_id, user_id = slack_ids
    requests = SlackRequestFactory(SIGNING_SECRET, emulator=slack, team_id=team_id)
    tokens = "SELECT count(*) FROM bot_link_tokens"
    async with engine.connect() as conn:
        before = (await conn.execute(text(tokens))).scalar_one()
    answer = await command(bot, requests, user_id or new_slack_user_id(), words)
    assert answer["response_type"] == "ephemeral"
    assert "not in Slack's format" in answer["text"] and "ERR-" not in answer["text"]
    assert not [b for b in answer.get("blocks", []) if b["type"] == "actions"]  # no link button
    async with engine.connect() as conn:
        assert (await conn.execute(text(tokens))).scalar_one() == before


# -- /cs whoami and /cs unlink ------------------------------------------------------------------------


async def test_whoami_shows_account_organisation_role_and_link_method(
    bot: RunningBot, engine: AsyncEngine, slack_requests: SlackRequestFactory
) -> None:
    user = await make_user(engine, name="Linus <T>")
    await make_org(engine, user, name="Kernel & Sons")
    slack_user_id = new_slack_user_id()
    await link_slack(engine, slack_user_id, user, via="api_key")
    answer = await command(bot, slack_requests, slack_user_id, "whoami")
    fields = "\n".join(f["text"] for f in answer["blocks"][0]["fields"])
    assert "Linus &lt;T&gt;" in fields and user.email in fields
    assert "*ContainerStacks staff*\nNo" in fields
    assert "*Kernel &amp; Sons* (your role: owner)" in fields
    assert "a personal API key" in fields


async def test_whoami_for_staff_without_an_organisation(
    bot: RunningBot, engine: AsyncEngine, slack_requests: SlackRequestFactory
) -> None:
    staff = await make_user(engine, role="admin")
    slack_user_id = new_slack_user_id()
    await link_slack(engine, slack_user_id, staff)
    answer = await command(bot, slack_requests, slack_user_id, "whoami")
    fields = "\n".join(f["text"] for f in answer["blocks"][0]["fields"])
    assert "*ContainerStacks staff*\nYes" in fields and "None yet" in fields
    assert "email and password" in fields


async def test_unlink_removes_the_link_and_records_it(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    await link_slack(engine, slack_user_id, user)
    answer = await command(bot, slack_requests, slack_user_id, "unlink")
    assert f"no longer linked to *{user.name}* ({user.email})" in answer["text"]
    assert await identity_of(engine, slack_user_id) is None
    [activity] = await link_activities(engine, slack_user_id, "slack.unlink")
    assert activity["user_id"] == user.id and activity["entity_id"] == str(user.id)
    await slack.wait_for("views.publish", predicate=lambda c: c.args.get("user_id") == slack_user_id)


async def test_unlink_when_not_linked_says_so_and_records_nothing(
    bot: RunningBot, engine: AsyncEngine, slack_requests: SlackRequestFactory
) -> None:
    slack_user_id = new_slack_user_id()
    answer = await command(bot, slack_requests, slack_user_id, "unlink")
    assert answer["text"] == NOT_LINKED
    assert await link_activities(engine, slack_user_id, "slack.unlink") == []


# -- /cs link key -------------------------------------------------------------------------------------


async def test_link_key_opens_the_modal_with_the_commands_trigger(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    _, slack_user_id = await new_person(engine, slack)
    view = await open_key_modal(bot, slack, slack_requests, slack_user_id)
    assert view["callback_id"] == LINK_KEY_CALLBACK
    [field] = [b for b in view["blocks"] if b["type"] == "input"]
    assert field["block_id"] == LINK_KEY_BLOCK
    assert field["element"]["type"] == "plain_text_input" and field["element"]["multiline"] is False
    assert "initial_value" not in field["element"]


async def test_valid_api_key_links_closes_the_modal_and_confirms(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    key = await make_api_key(engine, user, expires_at=datetime.now(UTC) + timedelta(days=1))
    view = await open_key_modal(bot, slack, slack_requests, slack_user_id)
    status, body = await submit_key(bot, slack_requests, slack_user_id, view, f"  {key}\n")
    assert (status, body) == (200, "")
    assert await identity_of(engine, slack_user_id) == {"user_id": user.id, "linked_via": "api_key"}
    [activity] = await link_activities(engine, slack_user_id)
    assert activity["metadata"]["method"] == "api_key" and activity["entity_id"] == str(user.id)
    assert key not in json.dumps(activity["metadata"])
    [notice] = await link_activities(engine, slack_user_id, "auth.login")  # the owner's panel notification
    assert notice["user_id"] == user.id and notice["metadata"]["slack_workspace"] == "containerstacks"
    assert notice["metadata"]["slack_user_name"].startswith("@") and key not in json.dumps(notice["metadata"])
    dm_channel = slack.dm_channel_id(slack_user_id)
    await slack.wait_for("chat.postMessage", predicate=lambda c: c.args.get("channel") == dm_channel)
    [dm] = slack.dms(slack_user_id)
    assert "now linked to" in dm["text"] and key not in dm["text"]
    await slack.wait_for("views.publish", predicate=lambda c: c.args.get("user_id") == slack_user_id)


@pytest.mark.parametrize("kind", ["wrong", "inactive", "expired", "blank"])
async def test_unusable_api_key_gets_a_field_error_and_links_nothing(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory, kind: str
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    if kind == "wrong":
        key = (await make_api_key(engine, user))[:-1] + "!"
    elif kind == "inactive":
        key = await make_api_key(engine, user, active=False)
    elif kind == "expired":
        key = await make_api_key(engine, user, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    else:
        key = "   "
    view = await open_key_modal(bot, slack, slack_requests, slack_user_id)
    status, body = await submit_key(bot, slack_requests, slack_user_id, view, key)
    assert status == 200
    answer = json.loads(body)
    assert answer == {"response_action": "errors", "errors": {LINK_KEY_BLOCK: linking.BadApiKey().message}}
    if key.strip():
        assert key.strip() not in body  # never echoed
    assert await identity_of(engine, slack_user_id) is None
    assert await link_activities(engine, slack_user_id) == []


async def test_api_key_attempts_are_limited_per_slack_user(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    user, slack_user_id = await new_person(engine, slack)
    key = await make_api_key(engine, user)
    view = await open_key_modal(bot, slack, slack_requests, slack_user_id)
    for _ in range(MAX_SLACK_FAILURES):
        _, body = await submit_key(bot, slack_requests, slack_user_id, view, "sk_live_guess")
        assert json.loads(body)["errors"][LINK_KEY_BLOCK] == linking.BadApiKey().message
    _, body = await submit_key(bot, slack_requests, slack_user_id, view, key)
    assert "Too many failed attempts" in json.loads(body)["errors"][LINK_KEY_BLOCK]
    assert await identity_of(engine, slack_user_id) is None
