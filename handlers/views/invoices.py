"""The transaction picker's submission: an invoice of the chosen transactions, in the organisation
the form was opened for (the gate re-checks membership there)."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import invoices as render
from bot.rendering.vps import read_metadata
from bot.services import invoices
from bot.services.access import Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from handlers.acting import Interactions, Need


def pick_scope(body: dict[str, Any]) -> Target:
    meta = read_metadata(str(body["view"].get("private_metadata") or ""))
    return Target.parse(TargetKind.ORGANIZATION, meta.get("organization_id"))


def register(app: AsyncApp, services: Services) -> None:
    on = Interactions(app, services)

    @on.view(render.PICK_CALLBACK_ID, Need(action=Action.VIEW, scope=pick_scope))
    async def picked(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], actor: Actor
    ) -> None:
        meta = read_metadata(str(view.get("private_metadata") or ""))
        try:
            ids = [uuid.UUID(v) for v in render.picked(view["state"]["values"])]
            if not ids:
                raise UserError("Choose at least one transaction.")
            made = await invoices.create(services.engine, actor, services.clock(), transaction_ids=ids,
                                         channel_id=meta.get("channel_id"))  # fmt: skip
        except (UserError, ValueError) as refusal:
            message = refusal.message if isinstance(refusal, UserError) else "Those transactions are not available."
            await ack(response_action="errors", errors={render.PICK_BLOCK: message[:150]})
            return
        await ack(response_action="update", view=render.result_modal(render.made(made)["text"]))
