"""Ticket modal submissions: field errors in the ack, otherwise close the modal and do the work."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import tickets as render
from bot.rendering.escape import escape_mrkdwn
from bot.services import tickets
from bot.services.container import Services
from bot.services.identity import resolve_actor
from handlers.context import slack_ref
from handlers.errors import guarded

NOT_LINKED = "Your Slack account is not linked to ContainerStacks. Type {command} link first."


def register(app: AsyncApp, services: Services) -> None:
    support = services.settings.support_channel

    @app.view(render.NEW_CALLBACK_ID)
    @guarded(services)
    async def submit_new_ticket(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
    ) -> None:
        values = view["state"]["values"]
        draft = tickets.TicketDraft(
            *(render.submitted(values, b) for b in ("subject", "category", "priority", "message"))
        )
        if errors := tickets.validate_draft(draft):
            await ack(response_action="errors", errors=errors)
            return
        slack = slack_ref(body)
        channel_id, message_ts = render.new_modal_metadata(str(view.get("private_metadata") or ""))
        actor = await resolve_actor(services.pool, slack, channel_id)
        if actor is None:
            await ack(
                response_action="errors", errors={"subject": NOT_LINKED.format(command=services.settings.slack_command)}
            )
            return
        await ack()
        link_url = await _permalink(client, channel_id, message_ts) if message_ts else None
        try:
            await tickets.create_ticket(
                services.engine,
                actor,
                draft,
                requester_target=tickets.requester_target(channel_id, slack.user_id),
                link_url=link_url,
                default_channel=support,
            )
        except UserError as refusal:
            await client.chat_postMessage(channel=slack.user_id, text=escape_mrkdwn(refusal.message))

    @app.view(render.REPLY_CALLBACK_ID)
    @guarded(services)
    async def submit_ticket_reply(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any]
    ) -> None:
        text = render.submitted(view["state"]["values"], "message")
        if not text:
            await ack(response_action="errors", errors={"message": "Write a reply first."})
            return
        slack = slack_ref(body)
        actor = await resolve_actor(services.pool, slack, None)
        if actor is None:
            await ack(
                response_action="errors", errors={"message": NOT_LINKED.format(command=services.settings.slack_command)}
            )
            return
        await ack()
        try:
            await tickets.reply(
                services.engine, actor, uuid.UUID(str(view["private_metadata"])), text, default_channel=support
            )
        except UserError as refusal:
            await client.chat_postMessage(channel=slack.user_id, text=escape_mrkdwn(refusal.message))


async def _permalink(client: AsyncWebClient, channel_id: str | None, message_ts: str) -> str | None:
    """The shortcut's source message link; a ticket is still filed when Slack cannot give one."""
    if not channel_id:
        return None
    try:
        response = await client.chat_getPermalink(channel=channel_id, message_ts=message_ts)
    except SlackApiError:
        return None
    return response.get("permalink")
