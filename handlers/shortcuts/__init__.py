"""Shortcut listeners (global and message shortcuts), one module per feature."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services.container import Services
from handlers.shortcuts import tickets


def register(app: AsyncApp, services: Services) -> None:
    """Bind every feature's shortcut listeners."""
    tickets.register(app, services)
