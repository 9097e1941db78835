"""What staff get notified with stays inert: a ticket subject, a reply or a name that holds Slack markup
(`<!channel>`, a mention, a disguised link) is shown as text in the triage card and in mirrored
replies, in the fallback `text` notifications use as much as in the blocks (real bot, emulator)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering.escape import escape_mrkdwn
from tests.hostile import HOSTILE, live_markup
from tests.ticket_fixtures import (
    bot_replies,
    desk,
    eventually,
    open_ticket_from_slack,
    panel_reply,
    root_of,
    say_in_thread,
    unpaced_slack,  # noqa: F401 - overrides conftest's paced `slack` fixture
)

INERT = escape_mrkdwn(HOSTILE)


HOSTILE_TICKET = {
    "subject": {"value": HOSTILE},
    "category": {"value": "technical"},
    "priority": {"value": {"type": "static_select", "selected_option": {"value": "urgent"}}},
    "message": {"value": f"Please look: {HOSTILE}"},
}


async def test_triage_card_shows_a_hostile_subject_as_text_in_its_notification_and_blocks(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id = await open_ticket_from_slack(d, engine, slack, slack_requests, HOSTILE_TICKET)
        card = await root_of(slack, d.triage, ticket_id, "triage")
        requester = await root_of(slack, d.customer_channel, ticket_id, "requester")
    assert INERT in card["text"] and INERT in requester["text"]  # the subject is still there, as text
    assert live_markup(card) == [] and live_markup(requester) == []


async def test_mirrored_replies_notify_staff_with_hostile_text_and_names_inert(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        async with engine.begin() as conn:  # the customer chose this name in the panel
            named = {"n": HOSTILE, "u": d.customer.user.id}
            await conn.execute(text("UPDATE users SET name = :n WHERE id = :u"), named)
        ticket_id = await open_ticket_from_slack(d, engine, slack, slack_requests, HOSTILE_TICKET)
        card = await root_of(slack, d.triage, ticket_id, "triage")
        requester = await root_of(slack, d.customer_channel, ticket_id, "requester")
        await say_in_thread(d.bot, slack_requests, d.customer.slack_id, d.customer_channel, requester["ts"], HOSTILE)
        await eventually(lambda: len(bot_replies(slack, d.triage, card["ts"])) == 1)
        await panel_reply(engine, ticket_id, d.customer.user, f"From the panel: {HOSTILE}", staff=False)
        await eventually(lambda: len(bot_replies(slack, d.triage, card["ts"])) == 2)
        mirrored = [m for m in slack.thread(d.triage, card["ts"])[1:] if m.get("bot_id")]
    assert [m["text"] for m in mirrored] == [f"{INERT}: {INERT}", f"{INERT}: From the panel: {INERT}"]
    assert [live_markup(m) for m in mirrored] == [[], []]
