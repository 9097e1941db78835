"""Slack listeners only: parse the payload, call a domain service, render. No SQL here."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services.container import Services
from handlers import actions, commands, errors, events, middleware, options, shortcuts, views


def register_listeners(app: AsyncApp, services: Services) -> None:
    """Bind every listener, middleware and the error handler to a Bolt app."""
    errors.register(app, services)
    middleware.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    options.register(app, services)
    shortcuts.register(app, services)
    events.register(app, services)
