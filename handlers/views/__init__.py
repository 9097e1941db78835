"""Modal submission listeners, one module per feature (each exposes `register(app, services)`)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services.container import Services
from handlers.views import invoices as invoice_views
from handlers.views import link, org, tickets
from handlers.views import vps as vps_views
from handlers.views import vps_page as vps_page_views
from handlers.views import wallet as wallet_views


def register(app: AsyncApp, services: Services) -> None:
    """Bind every feature's view listeners."""
    link.register(app, services)
    org.register(app, services)
    tickets.register(app, services)
    vps_views.register(app, services)
    wallet_views.register(app, services)
    vps_page_views.register(app, services)
    invoice_views.register(app, services)
