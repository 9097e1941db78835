"""`app_uninstalled` and `tokens_revoked` (distributed mode): the workspace's install is marked gone,
its channel bindings disabled and its queued messages ended; a reinstall brings it back."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.slack.installations import Installations


def register(app: AsyncApp, installations: Installations) -> None:
    async def forget(context: AsyncBoltContext, reason: str) -> None:
        # Bolt reads who the event is for from `authorizations[0]` (an org-wide install's events carry
        # the enterprise id as their `team_id`, and the org-wide flag only there).
        enterprise_id = context.enterprise_id or ""
        team_id = "" if context.is_enterprise_install else (context.team_id or "")
        await installations.uninstall(enterprise_id, team_id, reason=reason)

    @app.event("app_uninstalled")
    async def app_uninstalled(context: AsyncBoltContext) -> None:
        await forget(context, "app_uninstalled")

    @app.event("tokens_revoked")
    async def tokens_revoked(context: AsyncBoltContext, event: dict[str, Any]) -> None:
        if (event.get("tokens") or {}).get("bot"):  # user tokens only: the app keeps none, nothing changes
            await forget(context, "tokens_revoked")
