"""Triage card controls: assign to me / to someone, priority, status, reply (a modal) and close.

Each control acks at once, re-checks that the clicker is linked staff, and changes the ticket; the
card itself is updated in place through the outbox by the ticket sync, never from here.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import tickets as render
from bot.rendering.escape import escape_mrkdwn
from bot.services import tickets
from bot.services.container import Services
from bot.services.identity import Actor, SlackRef, resolve_actor
from handlers.context import channel_id, slack_ref
from handlers.errors import guarded

NOT_LINKED = "Link your Slack account to ContainerStacks first."


def _ticket_and_value(action: dict[str, Any]) -> tuple[uuid.UUID, str]:
    """`<ticket id>:<value>` from a select option, or the ticket id from a button value / block id."""
    raw = str((action.get("selected_option") or {}).get("value") or action.get("value") or "")
    if not raw and str(action.get("block_id", "")).startswith(render.CARD_BLOCK_PREFIX):
        raw = str(action["block_id"]).removeprefix(render.CARD_BLOCK_PREFIX)
    ticket, _, value = raw.partition(":")
    return uuid.UUID(ticket), value


def register(app: AsyncApp, services: Services) -> None:
    engine = services.engine
    support = services.settings.support_channel

    async def run(body: dict[str, Any], client: AsyncWebClient, work: Callable[[Actor], Awaitable[object]]) -> None:
        slack = slack_ref(body)
        where = channel_id(body)
        try:
            actor = await resolve_actor(services.pool, slack, where)
            if actor is None:
                raise UserError(NOT_LINKED)
            await work(actor)
        except (UserError, ValueError) as refusal:
            text = refusal.message if isinstance(refusal, UserError) else "That control is no longer valid."
            if where:
                await client.chat_postEphemeral(channel=where, user=slack.user_id, text=escape_mrkdwn(text))

    @app.action(render.ACTION_ASSIGN_ME)
    @guarded(services)
    async def assign_ticket_to_me(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any]
    ) -> None:
        await ack()
        await run(
            body,
            client,
            lambda actor: tickets.assign(
                engine, actor, _ticket_and_value(action)[0], actor.slack, default_channel=support
            ),
        )

    @app.action(render.ACTION_ASSIGN_USER)
    @guarded(services)
    async def assign_ticket_to_user(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any]
    ) -> None:
        await ack()

        async def work(actor: Actor) -> object:
            chosen = SlackRef(actor.slack.enterprise_id, actor.slack.team_id, str(action.get("selected_user") or ""))
            return await tickets.assign(engine, actor, _ticket_and_value(action)[0], chosen, default_channel=support)

        await run(body, client, work)

    @app.action(render.ACTION_PRIORITY)
    @guarded(services)
    async def change_ticket_priority(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any]
    ) -> None:
        await ack()
        ticket_id, priority = _ticket_and_value(action)
        await run(
            body,
            client,
            lambda actor: tickets.change_priority(engine, actor, ticket_id, priority, default_channel=support),
        )

    @app.action(render.ACTION_STATUS)
    @guarded(services)
    async def change_ticket_status(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any]
    ) -> None:
        await ack()
        ticket_id, status = _ticket_and_value(action)
        await run(
            body, client, lambda actor: tickets.change_status(engine, actor, ticket_id, status, default_channel=support)
        )

    @app.action(render.ACTION_CLOSE)
    @guarded(services)
    async def close_ticket(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any]) -> None:
        await ack()
        ticket_id = _ticket_and_value(action)[0]
        await run(
            body,
            client,
            lambda actor: tickets.change_status(engine, actor, ticket_id, "closed", default_channel=support),
        )

    @app.action(render.ACTION_REPLY)
    @guarded(services)
    async def open_ticket_reply(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any]
    ) -> None:
        """Open the modal first (trigger ids expire in 3 s), then ack; the submission checks staff again."""
        ticket_id = _ticket_and_value(action)[0]
        ticket = await tickets.ticket_for_modal(engine, ticket_id)
        await client.views_open(trigger_id=body["trigger_id"], view=render.render_reply_modal(ticket))
        await ack()
