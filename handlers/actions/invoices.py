"""The invoice list's "Send me the file" control; the gate checks membership of the invoice's organisation."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import invoices as render
from bot.rendering.identity import render_refusal
from bot.services import invoices
from bot.services.access import Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from handlers.acting import Interactions, Need
from handlers.context import channel_id


def _parts(body: dict[str, Any]) -> tuple[str, str]:
    action = body["actions"][0]
    option = action.get("selected_option") or {}
    organization, _, invoice = str(option.get("value") or action.get("value") or "").partition("|")
    return organization, invoice


def invoice_scope(body: dict[str, Any]) -> Target:
    return Target.parse(TargetKind.ORGANIZATION, _parts(body)[0])


def register(app: AsyncApp, services: Services) -> None:
    on = Interactions(app, services)

    @on.action(render.SEND_ACTION_ID, Need(action=Action.VIEW, scope=invoice_scope))
    async def send_again(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        try:
            invoice_id = uuid.UUID(_parts(body)[1])
            found, where = await invoices.deliver_again(
                services.engine, actor, invoice_id, channel_id=channel_id(body), command=services.settings.slack_command
            )
        except (UserError, ValueError) as refusal:
            message = refusal.message if isinstance(refusal, UserError) else "That invoice is no longer available."
            await respond(**{**render_refusal(message), "replace_original": False})
            return
        await respond(**render.sent_again(found.invoice_number, where.in_channel))
