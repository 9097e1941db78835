"""The API-key link modal's submission: link, or show a field error; the key is never echoed or logged."""

from __future__ import annotations

import functools
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering.identity import LINK_KEY_ACTION, LINK_KEY_BLOCK, LINK_KEY_CALLBACK, render_linked_dm
from bot.services import linking
from bot.services.container import Services
from bot.slack.home import refresh_home
from handlers.acting import PUBLIC, Interactions
from handlers.context import slack_names, slack_ref


def register(app: AsyncApp, services: Services) -> None:
    confirmation = functools.partial(render_linked_dm, command=services.settings.slack_command)

    @Interactions(app, services).view(LINK_KEY_CALLBACK, PUBLIC)
    async def submit_api_key(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        values = body["view"]["state"]["values"]
        key = str((values.get(LINK_KEY_BLOCK, {}).get(LINK_KEY_ACTION) or {}).get("value") or "")
        slack = slack_ref(body)
        try:
            await linking.link_with_api_key(
                services.engine, slack, key, names=slack_names(body), confirmation=confirmation
            )
        except UserError as refusal:  # wrong key or too many attempts: say so on the field
            await ack(response_action="errors", errors={LINK_KEY_BLOCK: refusal.message})
            return
        await ack()  # closes the modal; the confirmation DM is already queued
        await refresh_home(services, client, slack)
