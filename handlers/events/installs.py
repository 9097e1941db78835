"""`app_uninstalled` and `tokens_revoked` (distributed mode): the workspace's install is marked gone,
its channel bindings disabled and its queued messages ended; a reinstall brings it back."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack.installations import Installations


def register(app: AsyncApp, installations: Installations) -> None:
    async def forget(body: dict[str, Any], reason: str) -> None:
        enterprise_id = str(body.get("enterprise_id") or "")
        org_wide = bool(body.get("is_enterprise_install"))
        team_id = "" if org_wide else str(body.get("team_id") or "")
        await installations.uninstall(enterprise_id, team_id, reason=reason)

    @app.event("app_uninstalled")
    async def app_uninstalled(body: dict[str, Any]) -> None:
        await forget(body, "app_uninstalled")

    @app.event("tokens_revoked")
    async def tokens_revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        if (event.get("tokens") or {}).get("bot"):  # user tokens only: the app keeps none, nothing changes
            await forget(body, "tokens_revoked")
