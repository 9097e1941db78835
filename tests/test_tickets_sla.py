"""First-response SLA reminders and the daily digest, driven with a chosen clock."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator
from bot.jobs.tickets_jobs import ticket_digest, ticket_sla_reminders
from tests.conftest import make_settings
from tests.ticket_fixtures import (
    desk,
    eventually,
    panel_reply,
    panel_ticket,
    unpaced_slack,  # noqa: F401 - overrides conftest's paced `slack` fixture
)


def _about(messages: list[dict[str, object]], ticket_id: uuid.UUID) -> list[dict[str, object]]:
    return [m for m in messages if str(ticket_id)[:8] in str(m.get("text")) and "overdue" in str(m.get("text"))]


async def _assign(engine: AsyncEngine, ticket_id: uuid.UUID, user_id: uuid.UUID) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO bot_ticket_assignments (ticket_id, assignee_id) VALUES (:t, :u)"),
            {"t": ticket_id, "u": user_id},
        )


async def test_first_response_reminder_fires_once_per_breach_to_assignee_and_channel(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator
) -> None:
    async with desk(database_url, engine, slack, listen=False, periodic=False) as d:
        settings = make_settings(database_url, slack, support_channel=d.triage)
        opened = datetime(2030, 1, 6, 8, 0, tzinfo=UTC)
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, priority="high", created_at=opened)
        await _assign(engine, ticket_id, d.staff.user.id)

        await ticket_sla_reminders(engine, settings, opened + timedelta(hours=3, minutes=59))
        await asyncio.sleep(0.3)
        assert _about(slack.channel_messages(d.triage), ticket_id) == []

        for minutes in (1, 30, 600):  # the breach is seen on every tick; it is announced once
            await ticket_sla_reminders(engine, settings, opened + timedelta(hours=4, minutes=minutes))
        dm = await eventually(lambda: _about(slack.dms(d.staff.slack_id), ticket_id))
        channel = await eventually(lambda: _about(slack.channel_messages(d.triage), ticket_id))
        await asyncio.sleep(0.3)
        assert len(_about(slack.dms(d.staff.slack_id), ticket_id)) == 1 == len(dm)
        assert len(_about(slack.channel_messages(d.triage), ticket_id)) == 1 == len(channel)
        # no card yet (nothing synced here), so the triage channel has it in the run's one batched message
        assert f"<@{d.staff.slack_id}>" in str(channel[0]["blocks"]) and "4 h SLA" in str(channel[0]["blocks"])


async def test_no_reminder_once_staff_have_replied(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator
) -> None:
    async with desk(database_url, engine, slack, listen=False, periodic=False) as d:
        settings = make_settings(database_url, slack, support_channel=d.triage)
        opened = datetime(2030, 2, 3, 8, 0, tzinfo=UTC)
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, priority="urgent", created_at=opened)
        await panel_reply(engine, ticket_id, d.staff.user, "Looking now.", staff=True)
        await ticket_sla_reminders(engine, settings, opened + timedelta(hours=2))
        await asyncio.sleep(0.3)
        assert _about(slack.channel_messages(d.triage), ticket_id) == []


async def test_sla_hours_are_configurable(database_url: str, engine: AsyncEngine, slack: SlackEmulator) -> None:
    async with desk(database_url, engine, slack, listen=False, periodic=False) as d:
        settings = make_settings(database_url, slack, support_channel=d.triage)
        opened = datetime(2030, 3, 3, 8, 0, tzinfo=UTC)
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, priority="low", created_at=opened)
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO bot_settings (key, value) VALUES ('ticket_sla_hours', '{\"low\": 2}')")
            )
        try:
            await ticket_sla_reminders(engine, settings, opened + timedelta(hours=2, minutes=1))
            await eventually(lambda: _about(slack.channel_messages(d.triage), ticket_id))
        finally:
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM bot_settings WHERE key = 'ticket_sla_hours'"))


async def test_daily_digest_is_posted_once_per_day_after_the_digest_hour(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator
) -> None:
    async with desk(database_url, engine, slack, listen=False, periodic=False) as d:
        settings = make_settings(database_url, slack, support_channel=d.triage)
        old = datetime(2001, 1, 1, tzinfo=UTC)  # older than anything else open in the shared test database
        await panel_ticket(engine, d.org, d.customer.user, subject="Old <one>", created_at=old)
        day = datetime(2031, 5, 4, tzinfo=UTC)
        assert not await ticket_digest(engine, settings, day.replace(hour=8))
        assert await ticket_digest(engine, settings, day.replace(hour=9, minute=1))
        assert not await ticket_digest(engine, settings, day.replace(hour=17))
        digest = await eventually(lambda: [m for m in slack.channel_messages(d.triage) if "Open tickets" in m["text"]])
        assert len(digest) == 1 and "Old &lt;one&gt;" in str(digest[0]["blocks"])
        assert await ticket_digest(engine, settings, (day + timedelta(days=1)).replace(hour=9))
