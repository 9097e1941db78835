"""Help as the best command-line Slack apps give it: by topic (the command words), unknown topics said
so, staff commands shown to staff only, `<placeholders>` shown as typed, and an @mention or a DM to
the bot answered with where the help is."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering.help import SHORT_HELP
from tests.conftest import RunningBot
from tests.factories import add_slack_user, link_slack, make_user
from tests.ticket_fixtures import desk, eventually, panel_ticket, root_of, send_ok


async def ask(bot: RunningBot, requests: SlackRequestFactory, who: str, words: str) -> dict[str, Any]:
    status, body = await bot.send(requests.slash_command(who, words))
    assert status == 200, body
    return json.loads(body)


def shown(answer: dict[str, Any]) -> str:
    return json.dumps(answer["blocks"], ensure_ascii=False)


async def test_help_topics_are_the_command_words_and_an_unknown_one_says_so(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    someone = add_slack_user(slack)
    vps = shown(await ask(bot, slack_requests, someone, "help vps"))
    assert "/cs vps plans" in vps and "/cs vps create" in vps and "/cs wallet" not in vps
    tickets = shown(await ask(bot, slack_requests, someone, "help tickets"))
    assert "/cs ticket new" in tickets and "/cs ticket reply &lt;id&gt;" in tickets and "/cs vps" not in tickets
    wallet = shown(await ask(bot, slack_requests, someone, "help wallet"))
    assert "/cs wallet topup &lt;amount&gt;" in wallet and "<amount>" not in wallet  # shown as typed

    unknown = await ask(bot, slack_requests, someone, "help frobnicate")
    assert "There is no help topic `frobnicate`" in unknown["text"]
    for topic in ("vps", "ticket", "wallet", "org", "billing", "link"):
        assert f"`{topic}`" in unknown["text"]
    assert "`admin`" not in unknown["text"]  # not a topic for someone who is not staff
    everything = shown(await ask(bot, slack_requests, someone, "help"))
    assert "Arguments in &lt;angle brackets&gt; are required" in everything


async def test_staff_only_commands_are_listed_to_staff_only(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    customer, staff = add_slack_user(slack), add_slack_user(slack)
    await link_slack(engine, customer, await make_user(engine))
    await link_slack(engine, staff, await make_user(engine, role="admin"))

    for words in ("help", ""):
        assert "/cs admin" not in shown(await ask(bot, slack_requests, customer, words))
        assert "/cs admin payments" in shown(await ask(bot, slack_requests, staff, words))
    assert "There is no help topic" in (await ask(bot, slack_requests, customer, "help admin"))["text"]
    assert "/cs admin billing" in shown(await ask(bot, slack_requests, staff, "help admin"))
    assert "admin" not in (await ask(bot, slack_requests, customer, "admn payments"))["text"]  # not suggested


async def test_a_mention_or_a_dm_is_answered_with_where_the_help_is(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    someone = add_slack_user(slack)
    mention = slack_requests.app_mention(someone, "C0GENERAL", "how do I restart my server?")
    assert (await bot.send(mention))[0] == 200
    asked_ts = mention.payload()["event"]["ts"]
    [answer] = await eventually(lambda: slack.thread("C0GENERAL", asked_ts)[1:])
    assert "/cs help" in answer["text"] and answer["text"] == SHORT_HELP.format(command="/cs")

    dm = "D" + someone[1:]
    assert (await bot.send(slack_requests.message_event(someone, dm, "hello?", channel_type="im")))[0] == 200
    await eventually(lambda: [m for m in slack.dms(someone) if m.get("bot_id")])
    edit = slack_requests.message_event(someone, dm, "hello!", channel_type="im", subtype="message_changed")
    bot_echo = slack_requests.message_event(someone, dm, "beep", channel_type="im", bot_id="B0OTHER")
    for request in (edit, bot_echo):
        assert (await bot.send(request))[0] == 200
    await asyncio.sleep(0.3)
    assert len([m for m in slack.dms(someone) if m.get("bot_id")]) == 1  # edits and bots get nothing


async def test_a_mention_inside_a_ticket_thread_is_left_to_the_ticket(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id = await panel_ticket(engine, d.org, d.customer.user)
        card = await root_of(slack, d.triage, ticket_id, "triage")
        mention = slack_requests.app_mention(d.staff.slack_id, d.triage, "looking", thread_ts=card["ts"])
        await send_ok(d.bot, mention)
        await asyncio.sleep(0.4)
        assert not [m for m in slack.thread(d.triage, card["ts"]) if SHORT_HELP[:20] in m.get("text", "")]
