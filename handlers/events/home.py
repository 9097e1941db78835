"""`app_home_opened`: publish a fresh dashboard whenever someone opens the Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.container import Services
from bot.services.identity import SlackRef
from bot.slack.home import refresh_home


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_home_opened")
    async def publish_home_on_open(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        slack = SlackRef(
            enterprise_id=str(body.get("enterprise_id") or ""),
            team_id=str(body.get("team_id") or ""),
            user_id=str(event["user"]),
        )
        await refresh_home(services, client, slack)
