"""Installed workspaces in distributed mode: find a workspace's bot token, keep it fresh, forget it.

Every Slack request and every outbox message asks for a token, so lookups are cached in-process by
(enterprise, team) for `cache_seconds`: with thousands of installs a request costs no extra database
round trip. This process drops an entry at once when it saves, rotates or uninstalls; another
replica's change reaches it within `cache_seconds` (an uninstalled workspace's token is refused by
Slack meanwhile, and a rotated one stays valid until it expires).

Rotation: a token within `rotate_before` of expiring is refreshed under the row's lock (`SELECT …
FOR UPDATE`). A replica that waited on the lock finds the token already fresh and uses it, so two
replicas never spend the same refresh token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import installations as installations_db
from bot.db.installations import InstallationRow, InstalledBot, NewInstallation
from bot.slack.token_crypto import TokenCipher, TokenUnreadable

log = logging.getLogger(__name__)

CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class WorkspaceBot(InstalledBot):
    """An active installation with its token opened."""

    installation_id: int
    version: int
    bot_token: str
    expires_at: datetime | None
    installed_at: datetime

    def __repr__(self) -> str:  # the token never reaches a log line through a repr
        return f"WorkspaceBot(enterprise_id={self.enterprise_id!r}, team_id={self.team_id!r}, v{self.version})"


@dataclass(frozen=True)
class OAuthClient:
    """The app's OAuth credentials and a client for `oauth.v2.access` (token refreshes)."""

    client_id: str
    client_secret: str
    client: AsyncWebClient


@dataclass(frozen=True)
class Granted(InstalledBot):
    """The tokens and facts of one OAuth install, as Slack's `oauth.v2.access` gave them."""

    bot_token: str
    bot_refresh_token: str | None
    bot_token_expires_at: datetime | None


class Installations:
    """The one way the bot reads, stores, refreshes and forgets workspace tokens."""

    def __init__(
        self,
        engine: AsyncEngine,
        cipher: TokenCipher,
        oauth: OAuthClient | None,
        *,
        rotate_before: timedelta = timedelta(minutes=120),
        cache_seconds: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        self._oauth = oauth
        self._rotate_before = rotate_before
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cache: dict[tuple[str, str], tuple[float, WorkspaceBot]] = {}

    async def bot_for(self, enterprise_id: str | None, team_id: str | None) -> WorkspaceBot | None:
        """The workspace's bot (its own install, else its org's org-wide one), refreshed if due."""
        key = (enterprise_id or "", team_id or "")
        cached = self._cache.get(key)
        if cached is not None and self._monotonic() - cached[0] < self._cache_seconds:
            bot: WorkspaceBot | None = cached[1]
        else:
            async with self._engine.connect() as conn:
                row = await installations_db.find(conn, *key)
            bot = self._opened(row) if row is not None else None
        if bot is not None and self._due(bot):
            bot = await self.refresh(bot)
        if bot is None:
            self._cache.pop(key, None)
        else:
            self._cache[key] = (self._monotonic(), bot)
        return bot

    async def home_bot(self, home_team: str | None) -> WorkspaceBot | None:
        """The reseller's workspace (triage and admin channels): SLACK_HOME_TEAM, else the first install."""
        cached = self._cache.get(("", home_team or ""))
        if home_team and cached is not None and self._monotonic() - cached[0] < self._cache_seconds:
            return cached[1]  # the home workspace is asked for by every triage card and admin alert
        async with self._engine.connect() as conn:
            if home_team:
                enterprise = await installations_db.enterprise_of(conn, home_team)  # it may be in a Grid org
                where: tuple[str, str] | None = (enterprise, home_team)
            else:
                row = await installations_db.first(conn)
                where = None if row is None else (row.enterprise_id, row.team_id)
        bot = None if where is None else await self.bot_for(*where)
        if bot is not None and home_team:
            self._cache[("", home_team)] = (self._monotonic(), bot)
        return bot

    async def save(self, granted: Granted) -> WorkspaceBot:
        """Store an install (or a reinstall, which enables the workspace's bindings again)."""
        where = {"enterprise_id": granted.enterprise_id, "team_id": granted.team_id}
        new = NewInstallation(
            **{k: v for k, v in granted.__dict__.items() if k not in {"bot_token", "bot_refresh_token"}},
            bot_token=self._cipher.seal(granted.bot_token, purpose="bot_token", **where),
            bot_refresh_token=(
                self._cipher.seal(granted.bot_refresh_token, purpose="bot_refresh_token", **where)
                if granted.bot_refresh_token
                else None
            ),
        )
        async with self._engine.begin() as conn:
            row = await installations_db.save(conn, new)
        self.forget(row.enterprise_id, row.team_id)
        bot = self._opened(row)
        assert bot is not None  # just sealed with this very key
        log.info("slack.installed", extra={"enterprise_id": row.enterprise_id, "team_id": row.team_id})
        return bot

    async def uninstall(self, enterprise_id: str, team_id: str, *, reason: str) -> bool:
        """The app left the workspace (or org): disable its bindings and end its queued messages."""
        async with self._engine.begin() as conn:
            gone = await installations_db.uninstall(conn, enterprise_id, team_id, reason)
        self.forget(enterprise_id, team_id)
        if gone:
            log.info("slack.uninstalled", extra={"enterprise_id": enterprise_id, "team_id": team_id, "reason": reason})
        return gone

    def forget(self, enterprise_id: str, team_id: str) -> None:
        """Drop cached entries of that install (an org-wide one is cached under each of its teams)."""
        for key, (_, bot) in list(self._cache.items()):
            if (bot.enterprise_id, bot.team_id) == (enterprise_id, team_id) or key == (enterprise_id, team_id):
                del self._cache[key]

    async def refresh(self, bot: WorkspaceBot) -> WorkspaceBot | None:
        """Refresh a rotating token under the row lock; a replica that waited uses the winner's token."""
        if self._oauth is None:
            return bot
        async with self._engine.begin() as conn:
            row = await installations_db.lock(conn, bot.installation_id)
            if row is None or row.uninstalled_at is not None:
                return None
            current = self._opened(row)
            if current is None or not self._due(current):
                return current  # another replica refreshed it while this one waited for the lock
            where = {"enterprise_id": row.enterprise_id, "team_id": row.team_id}
            try:
                refresh_token = self._cipher.open(row.bot_refresh_token or b"", purpose="bot_refresh_token", **where)
                answer = await self._oauth.client.oauth_v2_access(
                    client_id=self._oauth.client_id,
                    client_secret=self._oauth.client_secret,
                    grant_type="refresh_token",
                    refresh_token=refresh_token,
                )
            except (SlackApiError, TokenUnreadable) as exc:
                error = exc.response.get("error") if isinstance(exc, SlackApiError) else "unreadable refresh token"
                log.error("slack.token_refresh_failed", extra={**where, "slack_error": error})
                return current if current.expires_at and current.expires_at > _now() else None
            rotated = await installations_db.store_rotated(
                conn,
                row.id,
                bot_token=self._cipher.seal(answer["access_token"], purpose="bot_token", **where),
                bot_refresh_token=self._cipher.seal(answer["refresh_token"], purpose="bot_refresh_token", **where),
                expires_at=_now() + timedelta(seconds=int(answer["expires_in"])),
            )
        self.forget(row.enterprise_id, row.team_id)
        log.info("slack.token_refreshed", extra=where)
        return self._opened(rotated)

    def _due(self, bot: WorkspaceBot) -> bool:
        return bot.expires_at is not None and bot.expires_at - _now() <= self._rotate_before

    def _opened(self, row: InstallationRow) -> WorkspaceBot | None:
        try:
            token = self._cipher.open(
                row.bot_token, enterprise_id=row.enterprise_id, team_id=row.team_id, purpose="bot_token"
            )
        except TokenUnreadable:
            log.error(
                "slack.token_unreadable",
                extra={"enterprise_id": row.enterprise_id, "team_id": row.team_id, "hint": "SLACK_TOKEN_KEY changed?"},
            )
            return None
        facts = {f.name: getattr(row, f.name) for f in fields(InstalledBot)}
        return WorkspaceBot(
            **facts, installation_id=row.id, version=row.version, bot_token=token,
            expires_at=row.bot_token_expires_at, installed_at=row.installed_at,
        )  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)
