"""Global Bolt middleware: Events API redeliveries are dropped after the first copy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.services.container import Services
from bot.services.slack_events import is_first_delivery


def register(app: AsyncApp, services: Services) -> None:
    @app.middleware
    async def drop_duplicate_events(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        if body.get("type") == "event_callback":
            event_type = (body.get("event") or {}).get("type")
            if not await is_first_delivery(services.engine, body.get("event_id"), event_type):
                services.metrics.slack_events_duplicate.inc()
                return BoltResponse(status=200, body="")
        await next()
        return None
