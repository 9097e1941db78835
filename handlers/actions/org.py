"""Organisation buttons: open the create modal, and confirm or cancel a member removal."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import orgs as render
from bot.rendering.escape import escape_mrkdwn
from bot.services import orgs
from bot.services.container import Services
from bot.services.identity import resolve_actor
from handlers.acting import link_prompt
from handlers.commands.org import refresh_homes
from handlers.context import channel_id, slack_ref
from handlers.errors import guarded

STALE_BUTTON = "That button is no longer valid. Run the command again."


def _ids(value: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    parsed = render.parse_remove_value(value)
    if parsed is None:
        return None
    try:
        return uuid.UUID(parsed[0]), uuid.UUID(parsed[1])
    except ValueError:
        return None


def register(app: AsyncApp, services: Services) -> None:
    @app.action(render.CREATE_BUTTON_ACTION_ID)
    @guarded(services)
    async def open_create_modal(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        view = render.render_create_modal("", channel_id=channel_id(body))
        await client.views_open(trigger_id=body["trigger_id"], view=view)
        await ack()

    @app.action(render.REMOVE_CANCEL_ACTION_ID)
    @guarded(services)
    async def cancel_removal(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await respond(**render.render_replacement(render.REMOVE_CANCELLED))

    @app.action(render.REMOVE_CONFIRM_ACTION_ID)
    @guarded(services)
    async def confirm_removal(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        """Re-check everything at click time (roles may have changed since the question was asked)."""
        await ack()
        slack = slack_ref(body)
        actor = await resolve_actor(services.pool, slack, channel_id(body))
        ids = _ids(str(action.get("value") or ""))
        if actor is None:
            await respond(**await link_prompt(services, slack))
            return
        if ids is None:
            await respond(**render.render_replacement(STALE_BUTTON))
            return
        try:
            removal = await orgs.remove_member(services.engine, actor, *ids, channel_id=channel_id(body))
        except UserError as refusal:
            await respond(**render.render_replacement(f":no_entry_sign: {escape_mrkdwn(refusal.message)}"))
            return
        await respond(**render.render_removed(removal))
        await refresh_homes(services, client, removal.refresh)
