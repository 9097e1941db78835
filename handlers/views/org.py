"""The create-organisation modal's submission: field errors in the ack, otherwise close and create."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import orgs as render
from bot.services import orgs
from bot.services.container import Services
from bot.services.identity import Actor
from bot.slack.home import refresh_home
from handlers.acting import LINKED, Interactions
from handlers.context import slack_ref


def register(app: AsyncApp, services: Services) -> None:
    @Interactions(app, services).view(render.CREATE_CALLBACK_ID, LINKED)
    async def submit_create_organisation(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, view: dict[str, Any], actor: Actor
    ) -> None:
        name = render.submitted_name(view["state"]["values"])
        try:
            orgs.validate_name(name)
        except UserError as refusal:
            await ack(response_action="errors", errors=render.render_create_errors(refusal.message))
            return
        slack = slack_ref(body)
        channel_id = render.create_metadata(str(view.get("private_metadata") or ""))
        await ack()  # closes the modal; the confirmation is a DM queued with the organisation
        created = await orgs.create_organization(
            services.engine,
            actor,
            name,
            view_id=str(view["id"]),
            channel_id=channel_id,
            messages=render.DirectMessages(services.settings.slack_command),
        )
        if not created.already_existed:
            await refresh_home(services, client, slack)
