"""Events API listeners, one module per feature (each exposes `register(app, services)`)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services.container import Services
from handlers.events import help, home, installs, tickets


def register(app: AsyncApp, services: Services) -> None:
    """Bind every feature's event listeners (Bolt runs the first that matches: the DM answer before the
    catch-all message listener of ticket threads)."""
    if services.installations is not None:
        installs.register(app, services.installations)
    home.register(app, services)
    help.register(app, services)
    tickets.register(app, services)
