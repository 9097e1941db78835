"""Tickets like the support desks do them (Unthread, Halp): a ✓ on each message stored, a customer's reply
reopening a resolved ticket, SLA reminders in the card's thread (batched when many), the panel's
categories, and tickets opened outside a support channel confirmed privately."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.tickets_jobs import ticket_sla_reminders
from bot.rendering.tickets import NEW_CALLBACK_ID
from tests.conftest import make_settings
from tests.ticket_fixtures import (
    Desk,
    activity,
    bot_replies,
    desk,
    eventually,
    flat,
    open_ticket_from_slack,
    panel_reply,
    panel_ticket,
    root_of,
    say_in_thread,
    send_ok,
    stored_replies,
    ticket_messages,
    ticket_row,
    unpaced_slack,  # noqa: F401 - overrides conftest's paced `slack` fixture
)

TICK = "white_check_mark"
NEW_TICKET = {
    "subject": {"value": "Disk full"},
    "category": {"value": {"type": "static_select", "selected_option": {"value": "technical"}}},
    "priority": {"value": {"type": "static_select", "selected_option": {"value": "high"}}},
    "message": {"value": "The disk of web-1 is full since this morning."},
}


def ticks(slack: SlackEmulator, channel: str, ts: str) -> list[str]:
    message = slack.message(channel, ts) or {}
    return [r["name"] for r in message.get("reactions", []) for _ in r["users"]]


async def carded(d: Desk, engine: AsyncEngine, slack: SlackEmulator, **kwargs: Any) -> tuple[uuid.UUID, dict]:
    ticket_id = await panel_ticket(engine, d.org, d.customer.user, **kwargs)
    return ticket_id, await root_of(slack, d.triage, ticket_id, "triage")


async def card_resolved(engine: AsyncEngine, ticket_id: uuid.UUID) -> bool:
    """The bot has a delivered triage card for the ticket (its thread is known)."""
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT 1 FROM bot_ticket_threads WHERE ticket_id = :t AND kind = 'triage' AND ts IS NOT NULL"),
            {"t": ticket_id},
        )
        return found.first() is not None


async def test_each_stored_thread_message_gets_a_tick_and_notes_and_strangers_do_not(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded(d, engine, slack)
        answer = slack_requests.message_event(d.staff.slack_id, d.triage, "Rebooted it.", thread_ts=card["ts"])
        await send_ok(d.bot, answer)
        await send_ok(d.bot, answer)  # Slack's retry of the same event: still one ✓
        note = slack_requests.message_event(d.staff.slack_id, d.triage, "note: legacy box", thread_ts=card["ts"])
        await send_ok(d.bot, note)
        hint = slack_requests.message_event(d.customer.slack_id, d.triage, "Any news?", thread_ts=card["ts"])
        await send_ok(d.bot, hint)

        answer_ts = answer.payload()["event"]["ts"]
        await eventually(lambda: ticks(slack, d.triage, answer_ts) == [TICK])
        await asyncio.sleep(0.3)
        assert ticks(slack, d.triage, answer_ts) == [TICK]
        assert ticks(slack, d.triage, note.payload()["event"]["ts"]) == []  # internal: not stored, no ✓
        assert ticks(slack, d.triage, hint.payload()["event"]["ts"]) == []  # refused (not staff): no ✓
        assert [r.message for r in await stored_replies(engine, ticket_id)] == ["Rebooted it."]


async def test_a_customer_reply_in_slack_reopens_a_resolved_ticket_and_tells_triage(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id = await open_ticket_from_slack(d, engine, slack, slack_requests, NEW_TICKET)
        card = await root_of(slack, d.triage, ticket_id, "triage")
        requester = await root_of(slack, d.customer_channel, ticket_id, "requester")
        await _resolve(d, engine, slack, slack_requests, ticket_id=ticket_id, card=card)
        reply = "It is full again, sorry!"
        await say_in_thread(d.bot, slack_requests, d.customer.slack_id, d.customer_channel, requester["ts"], reply)

        await eventually(lambda: _status(engine, ticket_id, "open"))
        await eventually(lambda: "Open" in flat(slack.message(d.triage, card["ts"])["blocks"]))  # the card
        note = await eventually(lambda: [t for t in bot_replies(slack, d.triage, card["ts"]) if "a reply from" in t])
        assert f"a reply from {d.customer.user.name}" in note[-1] and "Resolved" in note[-1]
        [logged] = await reopenings(engine, ticket_id)
        assert logged.user_id == d.customer.user.id and logged.entity_type == "support_ticket"
        assert (logged.metadata["old_status"], logged.metadata["new_status"]) == ("resolved", "open")


async def test_a_customer_reply_in_the_panel_reopens_a_resolved_ticket_too(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded(d, engine, slack, subject="Invoice question")
        await _resolve(d, engine, slack, slack_requests, ticket_id=ticket_id, card=card)
        await panel_reply(engine, ticket_id, d.customer.user, "One more question about it.", staff=False)

        await eventually(lambda: _status(engine, ticket_id, "open"))
        await eventually(lambda: [t for t in bot_replies(slack, d.triage, card["ts"]) if "a reply from" in t])
        [logged] = await reopenings(engine, ticket_id)
        assert logged.user_id == d.customer.user.id and logged.metadata["source"] == "slack_bot"

        await panel_reply(engine, ticket_id, d.staff.user, "Answered.", staff=True)  # staff: never reopens
        await _set_status(engine, ticket_id, "closed")
        await panel_reply(engine, ticket_id, d.customer.user, "Thanks!", staff=False)  # closed stays closed
        await asyncio.sleep(0.6)
        assert (await ticket_row(engine, ticket_id)).status == "closed"


async def test_sla_reminders_go_in_the_cards_thread_and_several_at_once_are_batched(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator
) -> None:
    async with desk(database_url, engine, slack) as d:
        settings = make_settings(database_url, slack, support_channel=d.triage)
        opened = datetime(2040, 1, 2, 8, 0, tzinfo=UTC)  # after every other test's tickets
        while await ticket_sla_reminders(engine, settings, opened - timedelta(hours=1)):
            pass  # earlier tests' open tickets are all overdue by then: claimed (100 a run), out of the way

        def top_level_about(ids: list[uuid.UUID]) -> list[dict[str, Any]]:
            return [
                m for m in slack.channel_messages(d.triage)
                if "overdue" in m["text"] and any(str(t)[:8] in m["text"] for t in ids)
            ]  # fmt: skip

        one, card = await carded(d, engine, slack, priority="high", created_at=opened)
        await eventually(lambda: card_resolved(engine, one))
        assert await ticket_sla_reminders(engine, settings, opened + timedelta(hours=4, minutes=1)) == 1
        reminder = await eventually(lambda: [t for t in bot_replies(slack, d.triage, card["ts"]) if "overdue" in t])
        assert "4 h SLA" in reminder[0]
        await asyncio.sleep(0.3)
        assert top_level_about([one]) == []  # one breach: in its card's thread only

        later = opened + timedelta(days=1)
        many = [(await carded(d, engine, slack, priority="urgent", created_at=later))[0] for _ in range(3)]
        for ticket_id in many:
            await eventually(lambda t=ticket_id: card_resolved(engine, t))
        assert await ticket_sla_reminders(engine, settings, later + timedelta(hours=2)) == 3
        batch = await eventually(lambda: top_level_about(many))
        await asyncio.sleep(0.3)
        assert len(top_level_about(many)) == 1 == len(batch)  # several at once: one batched message
        assert all(str(t)[:8] in batch[0]["text"] for t in many)
        for ticket_id in many:
            [root] = ticket_messages(slack, d.triage, ticket_id, "triage")
            assert any("overdue" in t for t in bot_replies(slack, d.triage, root["ts"]))


async def test_the_new_ticket_form_offers_the_panels_categories_and_refuses_others(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        request = slack_requests.slash_command(d.customer.slack_id, "ticket new", channel_id=d.customer_channel)
        await send_ok(d.bot, request)
        view = slack.open_views(d.customer.slack_id)[-1]
        [category] = [b for b in view["blocks"] if b["block_id"] == "category"]
        assert category["element"]["type"] == "static_select"
        options = [o["value"] for o in category["element"]["options"]]
        assert options == ["general", "technical", "billing", "feature_request"]
        assert category["element"]["initial_option"]["value"] == "general"
        values = {
            "subject": {"value": "Printer"}, "category": {"value": "printers"}, "message": {"value": "0123456789 ok"},
            "priority": {"value": {"type": "static_select", "selected_option": {"value": "low"}}},
        }  # fmt: skip
        answer = await send_ok(d.bot, slack_requests.view_submission(d.customer.slack_id, view, values=values))
        assert answer["response_action"] == "errors" and "category" in answer["errors"]


async def test_a_ticket_opened_in_a_channel_not_bound_for_tickets_is_confirmed_privately(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        lobby = "C0LOBBY" + uuid.uuid4().hex[:6].upper()
        slack.add_channel(lobby, name=lobby.lower(), members=[d.customer.slack_id])
        request = slack_requests.slash_command(d.customer.slack_id, "ticket new", channel_id=lobby)
        await send_ok(d.bot, request)
        view = slack.open_views(d.customer.slack_id)[-1]
        assert view["callback_id"] == NEW_CALLBACK_ID
        values = {
            "subject": {"value": "Private matter"}, "category": {"value": "billing"},
            "message": {"value": "Please refund the last invoice."},
            "priority": {"value": {"type": "static_select", "selected_option": {"value": "low"}}},
        }  # fmt: skip
        await send_ok(d.bot, slack_requests.view_submission(d.customer.slack_id, view, values=values))

        async def filed() -> uuid.UUID | None:
            async with engine.connect() as conn:
                found = await conn.execute(
                    text("SELECT id FROM support_tickets WHERE organization_id = :o AND subject = 'Private matter'"),
                    {"o": d.org.id},
                )
                return found.scalar_one_or_none()

        ticket_id = await eventually(filed)
        dm = slack.dm_channel_id(d.customer.slack_id)
        [root] = await eventually(lambda: ticket_messages(slack, dm, ticket_id, "requester"))
        assert "Private matter" in flat(root)
        await asyncio.sleep(0.3)
        assert slack.channel_messages(lobby) == []  # nothing about it in the channel it was typed in


async def reopenings(engine: AsyncEngine, ticket_id: uuid.UUID) -> list[Any]:
    """The activity rows of reopenings by a customer's reply."""
    return [
        a for a in await activity(engine, ticket_id, "ticket.status") if a.metadata.get("reason") == "customer_reply"
    ]


async def _status(engine: AsyncEngine, ticket_id: uuid.UUID, status: str) -> bool:
    return (await ticket_row(engine, ticket_id)).status == status


async def _set_status(engine: AsyncEngine, ticket_id: uuid.UUID, status: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE support_tickets SET status = :s WHERE id = :t"), {"s": status, "t": ticket_id})


async def _resolve(
    d: Desk, engine: AsyncEngine, slack: SlackEmulator, requests: SlackRequestFactory, *, ticket_id: uuid.UUID,
    card: dict[str, Any],
) -> None:  # fmt: skip
    """Staff set the ticket `resolved` from its card; wait until the bot has noted it in the thread."""
    select = {
        "type": "static_select",
        "action_id": "ticket_status",
        "selected_option": {"value": f"{ticket_id}:resolved"},
    }
    click = requests.block_actions(d.staff.slack_id, [select], channel_id=d.triage, message=card)
    await send_ok(d.bot, click)
    await eventually(lambda: _status(engine, ticket_id, "resolved"))
    await eventually(lambda: [t for t in bot_replies(slack, d.triage, card["ts"]) if "Resolved" in t])
    await asyncio.sleep(0.05)  # the reply below is written after the bot saw the resolution
