"""slack-sdk's `AsyncInstallationStore` over `bot.slack.installations`, for Bolt's OAuth flow.

Bolt hands each finished install to `async_save`; requests are authorized by
`bot.slack.authorize.WorkspaceAuthorize`, which uses the same `Installations` (and its cache)
directly. Only bot tokens are kept: the app asks for no user scopes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.slack.installations import Granted, Installations, WorkspaceBot

log = logging.getLogger(__name__)


class PostgresInstallationStore(AsyncInstallationStore):
    """Installs in `bot_slack_installations`, tokens sealed; deleting means "uninstalled"."""

    def __init__(self, installations: Installations) -> None:
        self._installations = installations

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        expires_at = installation.bot_token_expires_at
        await self._installations.save(
            Granted(
                enterprise_id=installation.enterprise_id or "",
                team_id="" if installation.is_enterprise_install else (installation.team_id or ""),
                is_enterprise_install=bool(installation.is_enterprise_install),
                enterprise_name=installation.enterprise_name,
                team_name=installation.team_name,
                app_id=installation.app_id,
                bot_id=installation.bot_id or "",
                bot_user_id=installation.bot_user_id or "",
                bot_token=installation.bot_token or "",
                bot_refresh_token=installation.bot_refresh_token,
                bot_token_expires_at=datetime.fromtimestamp(expires_at, UTC) if expires_at else None,
                bot_scopes=",".join(installation.bot_scopes or []),
                installer_user_id=installation.user_id,
            )
        )

    async def async_save_bot(self, bot: Bot) -> None:
        raise NotImplementedError("installs arrive whole through async_save; refreshes go through Installations")

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        found = await self._installations.bot_for(enterprise_id, None if is_enterprise_install else team_id)
        return None if found is None else as_bot(found)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self._installations.bot_for(enterprise_id, None if is_enterprise_install else team_id)
        if found is None:
            return None
        bot = as_bot(found)
        return Installation(
            **{k: getattr(bot, k) for k in ("app_id", "enterprise_id", "enterprise_name", "team_id", "team_name")},
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            bot_token_expires_at=bot.bot_token_expires_at,
            user_id=found.installer_user_id or "",
            is_enterprise_install=bot.is_enterprise_install,
            installed_at=bot.installed_at,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._installations.uninstall(enterprise_id or "", team_id or "", reason="app_uninstalled")

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if user_id is None:  # a user's own token would be per user; the app keeps none
            await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)


def as_bot(found: WorkspaceBot) -> Bot:
    return Bot(
        app_id=found.app_id,
        enterprise_id=found.enterprise_id or None,
        enterprise_name=found.enterprise_name,
        team_id=found.team_id or None,
        team_name=found.team_name,
        bot_token=found.bot_token,
        bot_id=found.bot_id,
        bot_user_id=found.bot_user_id,
        bot_scopes=found.bot_scopes,
        bot_token_expires_at=int(found.expires_at.timestamp()) if found.expires_at else None,
        is_enterprise_install=found.is_enterprise_install,
        installed_at=found.installed_at.timestamp(),
    )
