"""Helpers for the ticket tests: people, panel-style rows, a bot with a triage channel, and waiting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.outbox import OutboxPolicy
from bot.rendering.tickets import NEW_CALLBACK_ID
from tests.conftest import BOT_TOKEN, RunningBot, make_settings, settle_queued_outbox, start_bot
from tests.factories import OrgRecord, UserRecord, link_slack, make_org, make_user, new_slack_user_id


@dataclass(frozen=True)
class Person:
    slack_id: str
    user: UserRecord


@dataclass
class Desk:
    """A running bot whose triage channel is `triage`, plus a customer channel and the people in it."""

    bot: RunningBot
    triage: str
    customer_channel: str
    staff: Person
    customer: Person
    org: OrgRecord


@pytest.fixture(name="slack")
async def unpaced_slack() -> AsyncIterator[SlackEmulator]:
    """The emulator without Slack's 1 message/s pacing, so ticket threads fill up quickly."""
    emulator = SlackEmulator(bot_token=BOT_TOKEN, pace_per_channel=None)
    await emulator.start()
    yield emulator
    await emulator.stop()


async def person(engine: AsyncEngine, slack: SlackEmulator, *, role: str = "user", linked: bool = True) -> Person:
    user = await make_user(engine, role=role)
    slack_id = new_slack_user_id()
    slack.add_user(slack_id, name=user.name, email=user.email)
    if linked:
        await link_slack(engine, slack_id, user)
    return Person(slack_id, user)


def channel_id(prefix: str) -> str:
    return prefix + secrets.token_hex(4).upper()


@contextlib.asynccontextmanager
async def running_bot(
    database_url: str, slack: SlackEmulator, triage: str, *, listen: bool = True, periodic: bool = True
) -> AsyncIterator[RunningBot]:
    settings = make_settings(database_url, slack, support_channel=triage)
    options = AppOptions(
        outbox_policy=OutboxPolicy(pace_seconds=0.0, backoff_base=0.05, idle_poll_seconds=0.05),
        ticket_listener=listen,
        ticket_periodic_jobs=periodic,
        ticket_sync_every_seconds=0.2,
    )
    runner, url = await start_bot(settings, database_url, options)
    try:
        async with aiohttp.ClientSession() as session:
            yield RunningBot(url=url, app=runner.app, session=session)
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def desk(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, *, listen: bool = True, periodic: bool = True
) -> AsyncIterator[Desk]:
    # Replies reach Slack through the outbox; rows earlier tests left queued for channels this
    # emulator does not know would only wait in front of them (each fails as channel_not_found).
    await settle_queued_outbox(engine)
    triage = channel_id("C0TRI")
    customers = channel_id("C0CUS")
    staff = await person(engine, slack, role="admin")
    customer = await person(engine, slack)
    org = await make_org(engine, customer.user, name="Acme <Hosting> & Co")
    slack.add_channel(triage, name=triage.lower(), members=[staff.slack_id, customer.slack_id])
    slack.add_channel(customers, name=customers.lower(), members=[customer.slack_id])
    await bind_for_tickets(engine, org, customer.user, customers)  # the customer's own support channel
    async with running_bot(database_url, slack, triage, listen=listen, periodic=periodic) as bot:
        yield Desk(bot, triage, customers, staff, customer, org)


async def bind_for_tickets(engine: AsyncEngine, org: OrgRecord, by: UserRecord, channel: str) -> None:
    """`channel` receives the organisation's ticket notices (and tickets opened there stay there)."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_channel_bindings (team_id, channel_id, organization_id, created_by, notify_billing, "
                "notify_vps, notify_tickets) VALUES ('T0CSBOT01', :c, :o, :u, false, false, true)"
            ),
            {"c": channel, "o": org.id, "u": by.id},
        )


async def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(0.03)


def ticket_messages(slack: SlackEmulator, channel: str, ticket_id: uuid.UUID, kind: str) -> list[dict[str, Any]]:
    """Messages the bot posted in `channel` about one ticket, by the metadata it tags them with."""
    found = []
    for message in slack.channel_messages(channel):
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("ticket_id") == str(ticket_id) and payload.get("kind") == kind:
            found.append(message)
    return found


async def root_of(slack: SlackEmulator, channel: str, ticket_id: uuid.UUID, kind: str) -> dict[str, Any]:
    roots = await eventually(lambda: ticket_messages(slack, channel, ticket_id, kind))
    assert len(roots) == 1, roots
    return roots[0]


def replies_text(slack: SlackEmulator, channel: str, ts: str) -> list[str]:
    return [m["text"] for m in slack.thread(channel, ts)[1:]]


def bot_replies(slack: SlackEmulator, channel: str, ts: str) -> list[str]:
    """What the bot posted under a thread (not what people typed there)."""
    return [m["text"] for m in slack.thread(channel, ts)[1:] if m.get("bot_id")]


def flat(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


async def panel_ticket(
    engine: AsyncEngine,
    org: OrgRecord,
    user: UserRecord,
    *,
    subject: str = "Panel ticket",
    priority: str = "medium",
    created_at: datetime | None = None,
) -> uuid.UUID:
    """A ticket inserted as the panel does (its triggers fire, the bot's included)."""
    async with engine.begin() as conn:
        return (
            await conn.execute(
                text(
                    "INSERT INTO support_tickets (organization_id, created_by, subject, message, priority, category, "
                    "created_at) VALUES (:o, :u, :s, 'The server does not boot any more.', :p, 'technical', "
                    "COALESCE(CAST(:c AS timestamptz), now())) RETURNING id"
                ),
                {"o": org.id, "u": user.id, "s": subject, "p": priority, "c": created_at},
            )
        ).scalar_one()


async def panel_reply(
    engine: AsyncEngine, ticket_id: uuid.UUID, user: UserRecord, message: str, *, staff: bool
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO support_ticket_replies (ticket_id, user_id, message, is_staff_reply) "
                "VALUES (:t, :u, :m, :s)"
            ),
            {"t": ticket_id, "u": user.id, "m": message, "s": staff},
        )
        await conn.execute(text("UPDATE support_tickets SET updated_at = now() WHERE id = :t"), {"t": ticket_id})


async def stored_replies(engine: AsyncEngine, ticket_id: uuid.UUID) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT user_id, message, is_staff_reply FROM support_ticket_replies WHERE ticket_id = :t "
                "ORDER BY created_at, id"
            ),
            {"t": ticket_id},
        )
        return list(rows.all())


async def ticket_row(engine: AsyncEngine, ticket_id: uuid.UUID) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT * FROM support_tickets WHERE id = :t"), {"t": ticket_id})).one()


async def activity(engine: AsyncEngine, ticket_id: uuid.UUID, event_type: str) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT user_id, entity_type, status, metadata FROM activity_logs "
                "WHERE entity_id = :t AND event_type = :e ORDER BY created_at"
            ),
            {"t": str(ticket_id), "e": event_type},
        )
        return list(rows.all())


async def send_ok(bot: RunningBot, request: Any) -> Any:
    status, body = await bot.send(request)
    assert status == 200, body
    return json.loads(body) if body.startswith("{") else body


async def say_in_thread(  # noqa: PLR0917 - reads like the sentence it sends
    bot: RunningBot,
    slack_requests: SlackRequestFactory,
    who: str,
    channel: str,
    thread_ts: str,
    words: str,
    **extra: Any,
) -> None:
    await send_ok(bot, slack_requests.message_event(who, channel, words, thread_ts=thread_ts, **extra))


async def open_ticket_from_slack(
    d: Desk, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory, values: dict[str, Any]
) -> uuid.UUID:
    """The customer runs `/cs ticket new` in their channel and submits the form with `values`."""
    request = slack_requests.slash_command(d.customer.slack_id, "ticket new", channel_id=d.customer_channel)
    assert await send_ok(d.bot, request) == ""
    view = slack.open_views(d.customer.slack_id)[-1]
    assert view["callback_id"] == NEW_CALLBACK_ID
    submission = slack_requests.view_submission(d.customer.slack_id, view, values=values)
    assert await send_ok(d.bot, submission) == ""
    return await eventually(lambda: latest_ticket_of(engine, d.org))


async def latest_ticket_of(engine: AsyncEngine, org: OrgRecord) -> uuid.UUID | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(
                text("SELECT id FROM support_tickets WHERE organization_id = :o ORDER BY created_at DESC LIMIT 1"),
                {"o": org.id},
            )
        ).scalar_one_or_none()


async def listener_ready(engine: AsyncEngine) -> None:
    """Wait until the bot's dedicated connection has run LISTEN (so a test exercises NOTIFY, not start-up)."""

    async def listening() -> bool:
        async with engine.connect() as conn:
            found = await conn.execute(
                text(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'csbot-listen' AND query ILIKE 'LISTEN%'"
                )
            )
            return found.first() is not None

    await eventually(listening)
