"""The "Create support ticket" message shortcut: open the ticket form pre-filled from the message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.manifest import TICKET_SHORTCUT_CALLBACK
from bot.rendering import tickets as render
from bot.services import tickets
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from bot.slack.markup import plain_text
from handlers.acting import Interactions, Need

SUBJECT_MAX = 80


def prefill(message: dict[str, Any]) -> tuple[str, str]:
    """Subject from the first line of the message, the whole text as the ticket message."""
    text = plain_text(str(message.get("text") or "")).strip()
    first = text.splitlines()[0] if text else ""
    subject = first if len(first) <= SUBJECT_MAX else first[: SUBJECT_MAX - 1] + "…"
    return subject, text


def register(app: AsyncApp, services: Services) -> None:
    @Interactions(app, services).shortcut(TICKET_SHORTCUT_CALLBACK, Need(action=Action.VIEW))
    async def ticket_from_message(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, actor: Actor) -> None:
        """Only for a linked member of an organisation (the channel's, else their active one); the form
        is bound to that organisation."""
        subject, text = prefill(body.get("message") or {})
        view = render.render_new_modal(
            organization_id=tickets.filing_organization(actor),
            subject=subject,
            message=text,
            channel_id=(body.get("channel") or {}).get("id"),
            message_ts=body.get("message_ts"),
        )
        await client.views_open(trigger_id=body["trigger_id"], view=view)
        await ack()
