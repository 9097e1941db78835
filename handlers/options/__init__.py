"""Options load listeners: the searches behind menus too long to list (`external_select`), served on
the same URL as interactivity (`interactivity.message_menu_options_url` in the manifest). Each is
gated like a button, and only offers what the person may choose there."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services.container import Services
from handlers.options import home, vps


def register(app: AsyncApp, services: Services) -> None:
    home.register(app, services)
    vps.register(app, services)
