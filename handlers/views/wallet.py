"""The Home's Top up form: the amount is checked like `/cs wallet topup <amount>`, then the same
preview (with Confirm) arrives in the person's DM with the bot, where the usual flow goes on.

The form is bound to the organisation it was opened for: the gate re-checks the top-up role there."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import wallet as render
from bot.services import wallet
from bot.services.access import Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from handlers.acting import Interactions, Need


def amount_form_scope(body: dict[str, Any]) -> Target:
    return Target.parse(TargetKind.ORGANIZATION, body["view"].get("private_metadata"))


def register(app: AsyncApp, services: Services) -> None:
    @Interactions(app, services).view(
        render.TOPUP_AMOUNT_CALLBACK_ID, Need(action=Action.TOP_UP_WALLET, scope=amount_form_scope)
    )
    async def submit_topup_amount(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], actor: Actor
    ) -> None:
        try:
            preview = await wallet.prepare_topup(
                services.engine, actor, services.settings, paypal_configured=services.paypal is not None,
                amount_text=render.submitted_amount(view["state"]["values"]),
            )  # fmt: skip
        except UserError as refusal:
            await ack(response_action="errors", errors=render.amount_errors(refusal.message))
            return
        await ack()
        message = render.render_topup_preview(preview)
        await client.chat_postMessage(channel=actor.slack.user_id, text=message["text"], blocks=message["blocks"])
