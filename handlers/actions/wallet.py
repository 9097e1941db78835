"""Wallet buttons: confirm or cancel a top-up preview, and page through the ledger history.

Each listener acks at once and then works, re-checking the actor and their role at click time
(roles and wallets may have changed since the message was shown).
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import wallet as render
from bot.services import wallet
from bot.services.container import Services
from handlers.acting import actor_or_prompt
from handlers.context import channel_id
from handlers.errors import guarded

STALE_BUTTON = "That button is no longer valid. Run the command again."
HISTORY_ACTIONS = re.compile(f"^({render.HISTORY_OLDER_ACTION_ID}|{render.HISTORY_NEWER_ACTION_ID})$")


def register(app: AsyncApp, services: Services) -> None:
    @app.action(render.TOPUP_CANCEL_ACTION_ID)
    @guarded(services)
    async def cancel_topup(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        await ack()
        await respond(**render.render_topup_cancelled())

    @app.action(render.TOPUP_CONFIRM_ACTION_ID)
    @guarded(services)
    async def confirm_topup(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        await ack()
        request = render.parse_topup_value(str(action.get("value") or ""))
        actor = await actor_or_prompt(services, body, respond)
        if actor is None:
            return
        if request is None:
            await respond(**render.render_problem(STALE_BUTTON))
            return
        await respond(**render.render_topup_working(request))
        try:
            started = await wallet.confirm_topup(
                services.engine, services.paypal, services.settings, actor, request, channel_id=channel_id(body)
            )
        except wallet.TopupNotStarted as failure:
            await respond(**render.render_problem(failure.message, transient=failure.transient))
            return
        except UserError as refusal:
            await respond(**render.render_problem(refusal.message))
            return
        await respond(**render.render_topup_started(started))

    @app.action(HISTORY_ACTIONS)
    @guarded(services)
    async def page_history(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        await ack()
        parsed = render.parse_history_value(str(action.get("value") or ""))
        actor = await actor_or_prompt(services, body, respond)
        if actor is None:
            return
        if parsed is None:
            await respond(**render.replacement(STALE_BUTTON))
            return
        org_id, offset, limit = parsed
        try:
            in_org = await wallet.actor_in_org(services.engine, actor, org_id)
            page = await wallet.history_page(services.engine, in_org, limit=limit, offset=offset)
        except UserError as refusal:
            await respond(**render.render_problem(refusal.message))
            return
        await respond(**render.render_history(page), replace_original=True)
