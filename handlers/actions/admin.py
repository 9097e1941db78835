"""Staff buttons of `/cs admin payments`: replaying a failed PayPal event, and paging the recent events."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering.admin_payments import EVENT_PAGER, REPLAY_ACTION_ID, render_payments_overview
from bot.rendering.identity import render_refusal
from bot.rendering.paging import PageRef
from bot.services import admin_payments
from bot.services.container import Services
from bot.services.identity import Actor
from handlers.acting import Interactions, Need
from handlers.actions.paging import register_pager
from handlers.commands.admin import payments_page
from handlers.context import channel_id


def register(app: AsyncApp, services: Services) -> None:
    on = Interactions(app, services)

    async def show_events(actor: Actor, ref: PageRef) -> dict[str, Any]:
        return await payments_page(services, actor, offset=ref.offset)

    register_pager(on, EVENT_PAGER, Need(staff=True), show_events)

    @on.action(REPLAY_ACTION_ID, Need(staff=True))
    async def replay_payment_event(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        event_id = str(body["actions"][0].get("value") or "")
        try:
            await admin_payments.replay(services.engine, actor, event_id, channel_id=channel_id(body))
        except UserError as refusal:
            await respond(**render_refusal(refusal.message), replace_original=False)
            return
        overview = await admin_payments.overview(services.engine, actor)
        command = services.settings.slack_command
        shown = render_payments_overview(overview, command, replayed=event_id)
        await respond(**shown, replace_original=True)  # the used Replay button gives way to its outcome
