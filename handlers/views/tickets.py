"""Ticket modal submissions: field errors in the ack, otherwise close the modal and do the work.

The new-ticket form is bound to the organisation it was opened for and the reply form to its ticket:
the gate re-checks membership there at submit time, and the ticket is filed (or answered) there,
whichever organisation is active by then."""

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
from bot.services.access import Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from handlers.acting import Interactions, Need
from handlers.context import slack_ref


def new_form_scope(body: dict[str, Any]) -> Target:
    metadata = render.read_new_modal_metadata(str(body["view"].get("private_metadata") or ""))
    return Target.parse(TargetKind.ORGANIZATION, metadata.get("organization_id"))


def reply_form_scope(body: dict[str, Any]) -> Target:
    return Target.parse(TargetKind.TICKET, body["view"].get("private_metadata"))


def register(app: AsyncApp, services: Services) -> None:
    support = services.settings.support_channel
    on = Interactions(app, services)

    @on.view(render.NEW_CALLBACK_ID, Need(action=Action.VIEW, scope=new_form_scope))
    async def submit_new_ticket(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], actor: Actor
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
        await ack()
        link_url = await _permalink(client, channel_id, message_ts) if message_ts else None
        try:
            await tickets.create_ticket(
                services.engine,
                actor,
                draft,
                origin_channel=channel_id,
                link_url=link_url,
                default_channel=support,
            )
        except UserError as refusal:
            await client.chat_postMessage(channel=slack.user_id, text=escape_mrkdwn(refusal.message))

    @on.view(render.REPLY_CALLBACK_ID, Need(action=Action.VIEW, scope=reply_form_scope))
    async def submit_ticket_reply(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], actor: Actor
    ) -> None:
        text = render.submitted(view["state"]["values"], "message")
        if not text:
            await ack(response_action="errors", errors={"message": "Write a reply first."})
            return
        if not tickets.reply_fits(text):
            await ack(response_action="errors", errors={"message": render.REPLY_TOO_LONG_FIELD})
            return
        slack = slack_ref(body)
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
