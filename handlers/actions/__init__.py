"""Block action listeners (buttons, selects), one module per feature."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.container import Services
from handlers.acting import PUBLIC, Interactions
from handlers.actions import admin, home, org
from handlers.actions import invoices as invoice_actions
from handlers.actions import tickets as ticket_actions
from handlers.actions import vps as vps_actions
from handlers.actions import vps_page as vps_page_actions
from handlers.actions import wallet as wallet_actions

#: Link buttons (action ids starting with this) open a URL in the browser; Slack still sends a
#: block_actions payload for them, which only needs an ack.
URL_BUTTON_PREFIX = "open_url_"


def register(app: AsyncApp, services: Services) -> None:
    @Interactions(app, services).action(URL_BUTTON_PREFIX, PUBLIC, prefix=True)
    async def acknowledge_url_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()

    org.register(app, services)
    home.register(app, services)
    admin.register(app, services)
    wallet_actions.register(app, services)
    ticket_actions.register(app, services)
    vps_actions.register(app, services)
    vps_page_actions.register(app, services)
    invoice_actions.register(app, services)
