"""Thread messages are never lost: long ones are mirrored whole, ones the panel cannot store are answered.

A reply is escaped before Slack sees it, so `&`, `<` and `>` make it up to five times longer. A reply
longer than one Slack message is mirrored in several posts, in order, once; one longer than the panel
can store (its NOTIFY payload is limited to 8,000 bytes) is refused with an answer to its author.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.tickets_jobs import reconcile_tickets
from bot.rendering import tickets as render
from bot.rendering.escape import escape_mrkdwn
from bot.services.tickets import REPLY_MAX_BYTES, reply_bytes
from tests.conftest import make_settings
from tests.test_tickets_flow import NEW_TICKET_VALUES
from tests.ticket_fixtures import (
    desk,
    eventually,
    open_ticket_from_slack,
    panel_reply,
    panel_ticket,
    root_of,
    say_in_thread,
    send_ok,
    stored_replies,
    unpaced_slack,  # noqa: F401 - overrides conftest's paced `slack` fixture
)


def posts_under(slack: SlackEmulator, channel: str, ts: str) -> list[dict]:
    """The bot's posts in a thread, oldest first."""
    return [m for m in slack.thread(channel, ts)[1:] if m.get("bot_id")]


def mirrored_text(posts: list[dict]) -> str:
    """The words of mirrored posts, in order, as one string (section texts; the part notes left out)."""
    return "\n".join(b["text"]["text"] for p in posts for b in p["blocks"] if b["type"] == "section")


async def dead_rows(engine: AsyncEngine, ticket_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM bot_outbox WHERE status = 'dead' AND payload->'metadata'"
                        "->'event_payload'->>'ticket_id' = :t"
                    ),
                    {"t": str(ticket_id)},
                )
            ).scalar_one()
        )


async def test_a_2000_character_reply_full_of_entities_reaches_the_other_side_whole(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    """It was cut at 2,900 characters before escaping, refused by Slack and marked dead."""
    async with desk(database_url, engine, slack) as d:
        ticket_id = await open_ticket_from_slack(d, engine, slack, slack_requests, NEW_TICKET_VALUES)
        card = await root_of(slack, d.triage, ticket_id, "triage")
        requester = await root_of(slack, d.customer_channel, ticket_id, "requester")
        words = "".join(f"<tag{i}> & " for i in range(200))[:2000].rstrip()
        await say_in_thread(d.bot, slack_requests, d.staff.slack_id, d.triage, card["ts"], words)
        posts = await eventually(lambda: posts_under(slack, d.customer_channel, requester["ts"]))
        expected = f"*{escape_mrkdwn(d.staff.user.name)}* (ContainerStacks support)\n{escape_mrkdwn(words)}"
        assert mirrored_text(posts).replace("\n", " ") == expected.replace("\n", " ")
        assert [r.message for r in await stored_replies(engine, ticket_id)] == [words]
        assert await dead_rows(engine, ticket_id) == 0


async def test_a_long_reply_is_mirrored_whole_in_several_posts_in_order_once(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject="Long logs")
        card = await root_of(slack, d.triage, ticket_id, "triage")
        words = " ".join(f"line{i}:<&>" for i in range(640))  # ~7,600 bytes; ~14,700 characters once escaped
        assert reply_bytes(words) <= REPLY_MAX_BYTES
        await panel_reply(engine, ticket_id, d.customer.user, words, staff=False)
        posts = await eventually(lambda: len(posts_under(slack, d.triage, card["ts"])) >= 2 and posts_under(
            slack, d.triage, card["ts"]))  # fmt: skip
        await asyncio.sleep(0.3)
        settings = make_settings(database_url, slack, support_channel=d.triage)
        await reconcile_tickets(engine, settings, datetime.now(UTC))  # another pass posts nothing again
        await asyncio.sleep(0.5)
        posts = posts_under(slack, d.triage, card["ts"])
        assert len(posts) == 2
        expected = f"*{escape_mrkdwn(d.customer.user.name)}* (customer)\n{escape_mrkdwn(words)}"
        assert mirrored_text(posts).replace("\n", " ") == expected.replace("\n", " ")
        assert "Part 1 of 2" in json.dumps(posts[0]) and "Part 2 of 2" in json.dumps(posts[1])
        assert await dead_rows(engine, ticket_id) == 0


async def test_a_thread_message_too_long_for_the_panel_is_answered_and_not_stored(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject="Too long")
        card = await root_of(slack, d.triage, ticket_id, "triage")
        words = "A very long paste. " * 500  # 9,500 characters
        await say_in_thread(d.bot, slack_requests, d.staff.slack_id, d.triage, card["ts"], words)
        told = await eventually(lambda: slack.ephemerals(d.staff.slack_id, d.triage))
        assert "9,500 characters, too long for one ticket reply" in told[-1]["text"]
        assert f"at most about {REPLY_MAX_BYTES // 100 * 100:,} characters" in told[-1]["text"]
        assert "several shorter messages" in told[-1]["text"]
        assert await stored_replies(engine, ticket_id) == []


async def test_the_reply_form_is_bounded_and_refuses_what_the_panel_cannot_store(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject="Form")
        await root_of(slack, d.triage, ticket_id, "triage")
        assert (
            await send_ok(
                d.bot, slack_requests.slash_command(d.customer.slack_id, f"ticket reply {str(ticket_id)[:8]}")
            )
            == ""
        )
        view = slack.open_views(d.customer.slack_id)[-1]
        assert view["blocks"][-1]["element"]["max_length"] == render.INPUT_MAX
        emoji = "\N{GRINNING FACE}" * 2500  # within Slack's 3,000 characters, 10,000 bytes for the panel
        answer = await send_ok(
            d.bot, slack_requests.view_submission(d.customer.slack_id, view, values={"message": {"value": emoji}})
        )
        assert answer == {"response_action": "errors", "errors": {"message": render.REPLY_TOO_LONG_FIELD}}
        assert await stored_replies(engine, ticket_id) == []


async def test_the_longest_reply_accepted_is_one_the_panel_can_store(engine: AsyncEngine) -> None:
    """The panel's trigger sends the reply in a NOTIFY of at most 8,000 bytes: the bot's bound is under it."""
    from tests.factories import make_org, make_user

    owner = await make_user(engine)
    org = await make_org(engine, owner)
    ticket_id = await panel_ticket(engine, org, owner, subject="Bounds")
    worst = ('"\N{GRINNING FACE}\n' * 2000)[:REPLY_MAX_BYTES]
    while reply_bytes(worst) > REPLY_MAX_BYTES:
        worst = worst[:-1]
    await panel_reply(engine, ticket_id, owner, worst, staff=True)  # the panel's trigger takes it
    with pytest.raises(DBAPIError, match="payload string too long"):
        await panel_reply(engine, ticket_id, owner, "x" * 8000, staff=True)
