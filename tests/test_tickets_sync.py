"""Panel → Slack sync: tickets and replies the panel writes reach the triage thread exactly once,
whether through NOTIFY, the reconciler, or after the bot was down."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.tickets_jobs import reconcile_tickets
from tests.conftest import make_settings
from tests.ticket_fixtures import (
    bot_replies,
    desk,
    eventually,
    listener_ready,
    panel_reply,
    panel_ticket,
    root_of,
    running_bot,
    stored_replies,
    ticket_messages,
    unpaced_slack,  # noqa: F401 - overrides conftest's paced `slack` fixture
)


async def test_panel_ticket_and_reply_are_posted_once_through_notify(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator
) -> None:
    async with desk(database_url, engine, slack, periodic=False) as d:
        await listener_ready(engine)
        await asyncio.sleep(0.2)  # the listener's start-up reconcile pass is over
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject="From the panel")
        card = await root_of(slack, d.triage, ticket_id, "triage")
        await panel_reply(engine, ticket_id, d.customer.user, "More details from the panel form.", staff=False)
        await eventually(lambda: bot_replies(slack, d.triage, card["ts"]))
        # The reconciler finds nothing left to do: still one card and one reply.
        settings = make_settings(database_url, slack, support_channel=d.triage)
        await reconcile_tickets(engine, settings, datetime.now(UTC))
        await asyncio.sleep(0.4)
        assert len(ticket_messages(slack, d.triage, ticket_id, "triage")) == 1
        assert bot_replies(slack, d.triage, card["ts"]) == [
            f"{d.customer.user.name}: More details from the panel form."
        ]


async def test_reconciler_alone_mirrors_panel_changes_once(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator
) -> None:
    async with desk(database_url, engine, slack, listen=False, periodic=False) as d:
        settings = make_settings(database_url, slack, support_channel=d.triage)
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject="Listener is off")
        await panel_reply(engine, ticket_id, d.staff.user, "Staff answer written in the panel.", staff=True)
        await reconcile_tickets(engine, settings, datetime.now(UTC))
        card = await root_of(slack, d.triage, ticket_id, "triage")
        for _ in range(3):  # the card's ts is known once delivered; later passes must not repeat anything
            await reconcile_tickets(engine, settings, datetime.now(UTC))
            await asyncio.sleep(0.2)
        assert len(ticket_messages(slack, d.triage, ticket_id, "triage")) == 1
        assert bot_replies(slack, d.triage, card["ts"]) == [f"{d.staff.user.name}: Staff answer written in the panel."]


async def test_replies_added_while_the_bot_was_down_are_posted_once_on_start(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject="Downtime")
        card = await root_of(slack, d.triage, ticket_id, "triage")
    for n in range(3):
        await panel_reply(engine, ticket_id, d.customer.user, f"Reply number {n} while the bot was down.", staff=False)
    async with running_bot(database_url, slack, d.triage):
        await eventually(lambda: len(bot_replies(slack, d.triage, card["ts"])) >= 3)
        await asyncio.sleep(0.6)  # several reconcile passes and the listener's start-up pass have run
        assert bot_replies(slack, d.triage, card["ts"]) == [
            f"{d.customer.user.name}: Reply number {n} while the bot was down." for n in range(3)
        ]
        assert len(ticket_messages(slack, d.triage, ticket_id, "triage")) == 1


async def test_panel_status_change_updates_the_card_and_notes_it_in_the_thread(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator
) -> None:
    async with desk(database_url, engine, slack, periodic=False) as d:
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject="Status from panel")
        card = await root_of(slack, d.triage, ticket_id, "triage")
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE support_tickets SET status = 'resolved' WHERE id = :t"), {"t": ticket_id})
        await eventually(lambda: "Resolved" in str(slack.message(d.triage, card["ts"])["blocks"][1]))
        note = await eventually(lambda: bot_replies(slack, d.triage, card["ts"]))
        assert note == [
            ":arrows_counterclockwise: Status changed: :incoming_envelope: Open → *:white_check_mark: Resolved*"
        ]


async def root_delivered(engine: AsyncEngine, ticket_id: object) -> bool:
    """Whether the outbox recorded the triage card's delivery (the emulator shows it a moment before)."""
    async with engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT 1 FROM bot_ticket_threads th JOIN bot_outbox o ON o.id = th.outbox_id "
                "WHERE th.ticket_id = :t AND th.kind = 'triage' AND o.status = 'delivered'"
            ),
            {"t": ticket_id},
        )
        return found.first() is not None


async def test_concurrent_passes_and_concurrent_copies_of_a_message_still_post_and_store_once(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack, listen=False, periodic=False) as d:
        settings = make_settings(database_url, slack, support_channel=d.triage)
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject="Racing replicas")
        await panel_reply(engine, ticket_id, d.customer.user, "First panel reply.", staff=False)
        await asyncio.gather(*(reconcile_tickets(engine, settings, datetime.now(UTC)) for _ in range(4)))
        card = await root_of(slack, d.triage, ticket_id, "triage")
        await eventually(lambda: root_delivered(engine, ticket_id))  # Slack has it; the outbox has recorded it
        await asyncio.gather(*(reconcile_tickets(engine, settings, datetime.now(UTC)) for _ in range(4)))
        await eventually(lambda: bot_replies(slack, d.triage, card["ts"]))

        said = slack.add_message(d.triage, user=d.staff.slack_id, text="Same message twice.", thread_ts=card["ts"])
        copies = [
            slack_requests.message_event(d.staff.slack_id, d.triage, said["text"], ts=said["ts"], thread_ts=card["ts"])
            for _ in range(3)
        ]  # three different event ids: only the (thread, ts) key can tell they are one message
        await asyncio.gather(*(d.bot.send(copy) for copy in copies))
        await asyncio.sleep(0.4)
        staff_replies = [r for r in await stored_replies(engine, ticket_id) if r.is_staff_reply]
        assert [r.message for r in staff_replies] == ["Same message twice."]
        assert len(ticket_messages(slack, d.triage, ticket_id, "triage")) == 1
        assert bot_replies(slack, d.triage, card["ts"]) == [f"{d.customer.user.name}: First panel reply."]
