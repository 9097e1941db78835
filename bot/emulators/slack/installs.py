"""Installs of the app and the tokens bound to them: issue, check, rotate, revoke.

Every Web API token belongs to one install (a workspace, or a whole Enterprise Grid org for an
org-wide install). A token is checked the way Slack does: unknown → ``invalid_auth``, revoked →
``token_revoked``, a rotating token past its lifetime → ``token_expired``. With token rotation a
refresh token is single use; the access token it replaced keeps working until it expires.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from bot.emulators.slack.errors import SlackError
from bot.emulators.slack.state import Clock

BOT = "bot"
USER = "user"


@dataclass
class Install:
    """The app in one workspace (``team_id``) or one whole org (``is_enterprise_install``)."""

    team_id: str | None
    enterprise_id: str | None
    is_enterprise_install: bool
    bot_user_id: str
    bot_id: str
    scopes: tuple[str, ...] | None
    """None: the emulator's live ``scopes`` (the default install, which tests narrow on the fly)."""
    installer_id: str | None = None
    user_scopes: tuple[str, ...] = ()
    active: bool = True
    tokens: list[Token] = field(default_factory=list)

    def covers(self, team_id: str | None, enterprise_id: str | None) -> bool:
        if self.is_enterprise_install:
            return enterprise_id is not None and enterprise_id == self.enterprise_id
        return team_id is not None and team_id == self.team_id


@dataclass
class Token:
    value: str
    install: Install
    kind: str
    user_id: str
    """The bot user of a bot token, the installing user of a user token."""
    expires_at: float | None = None
    revoked: bool = False


@dataclass
class RefreshToken:
    value: str
    install: Install
    kind: str
    user_id: str
    used: bool = False


def new_token(prefix: str) -> str:
    return f"{prefix}-{secrets.randbelow(10**12)}-{secrets.randbelow(10**12)}-{secrets.token_hex(12)}"


class TokenStore:
    """All installs and their access and refresh tokens."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.installs: list[Install] = []
        self._tokens: dict[str, Token] = {}
        self._refresh: dict[str, RefreshToken] = {}

    def add(self, install: Install) -> Install:
        self.installs.append(install)
        return install

    def issue(
        self, install: Install, kind: str, user_id: str, *, lifetime: float | None, value: str | None = None
    ) -> tuple[Token, RefreshToken | None]:
        """A new access token; with a ``lifetime`` (token rotation) also its single-use refresh token."""
        prefix = "xoxb" if kind == BOT else "xoxp"
        if value is None:
            value = f"xoxe.{new_token(prefix)}" if lifetime else new_token(prefix)
        token = Token(value, install, kind, user_id, self._clock() + lifetime if lifetime else None)
        self._tokens[value] = token
        install.tokens.append(token)
        if not lifetime:
            return token, None
        refresh = RefreshToken(f"xoxe-1-{secrets.token_hex(24)}", install, kind, user_id)
        self._refresh[refresh.value] = refresh
        return token, refresh

    def check(self, value: str) -> Token:
        token = self._tokens.get(value)
        if token is None:
            raise SlackError("invalid_auth")
        if token.revoked:
            raise SlackError("token_revoked")
        if token.expires_at is not None and self._clock() >= token.expires_at:
            raise SlackError("token_expired")
        return token

    def peek(self, value: str) -> Token | None:
        return self._tokens.get(value)

    def refresh(self, value: str, lifetime: float) -> tuple[Token, RefreshToken]:
        """Spend a refresh token for a new access token and a new refresh token."""
        refresh = self._refresh.get(value)
        if refresh is None or refresh.used or not refresh.install.active:
            raise SlackError("invalid_refresh_token")
        refresh.used = True
        token, new_refresh = self.issue(refresh.install, refresh.kind, refresh.user_id, lifetime=lifetime)
        assert new_refresh is not None
        return token, new_refresh

    def revoke(self, token: Token) -> bool:
        """Revoke one token; False when it already was."""
        if token.revoked:
            return False
        token.revoked = True
        return True

    def uninstall(self, install: Install) -> list[Token]:
        """Revoke every token of ``install`` (and its refresh tokens); the tokens newly revoked."""
        install.active = False
        for refresh in self._refresh.values():
            if refresh.install is install:
                refresh.used = True
        return [token for token in install.tokens if self.revoke(token)]

    def covering(self, team_id: str | None, enterprise_id: str | None) -> Install | None:
        """The active install serving ``team_id``: its own, else its org's org-wide install."""
        for install in reversed(self.installs):
            if install.active and not install.is_enterprise_install and install.covers(team_id, enterprise_id):
                return install
        for install in reversed(self.installs):
            if install.active and install.covers(team_id, enterprise_id):
                return install
        return None
