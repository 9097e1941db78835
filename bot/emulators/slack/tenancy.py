"""Many workspaces, one app: installs made through OAuth, the tokens they get and what they reach.

Choices where Slack's behaviour is not pinned down by its documentation:

* **Reinstalling** into a workspace (or org) issues a new bot token for the same bot user; the
  tokens of the earlier install stay valid (Slack's docs do not promise their revocation), until
  the app is uninstalled, which revokes every token of every install of that workspace.
* An **org-wide** (Enterprise Grid) install has one bot user (``W…``) for the whole org; its token
  reaches every workspace of that enterprise and ``auth.test`` names the enterprise as its team.
* A **user token** (``xoxp-``, from ``user_scope``) is issued, checked, rotated and revoked like a
  bot token; ``auth.test`` answers as that user, other methods act as the install's bot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.emulators.slack.errors import SlackError
from bot.emulators.slack.installs import BOT, USER, Install, RefreshToken, Token, TokenStore
from bot.emulators.slack.oauth import AuthCode
from bot.emulators.slack.state import Identity, User, World


@dataclass(frozen=True)
class RequestContext:
    """Who a signed request from one user (in one channel) is addressed to, as Slack fills it in."""

    team_id: str
    team_domain: str
    enterprise_id: str | None
    enterprise_name: str | None
    is_enterprise_install: bool
    bot_user_id: str | None
    user_team: str
    is_ext_shared_channel: bool


@dataclass(frozen=True)
class Revocation:
    """Tokens revoked together: what ``tokens_revoked`` (and ``app_uninstalled``) must report."""

    install: Install
    bot_user_ids: tuple[str, ...]
    user_ids: tuple[str, ...]
    uninstalled: bool


class Tenancy:
    """Installs over the world's workspaces; the default workspace has its fixed token from the start."""

    def __init__(self, world: World, tokens: TokenStore) -> None:
        self.world = world
        self.tokens = tokens
        default = world.identity
        self._bots: dict[str, tuple[str, str]] = {default.team_id: (default.bot_user_id, default.bot_id)}
        install = tokens.add(Install(default.team_id, None, False, default.bot_user_id, default.bot_id, None))
        tokens.issue(install, BOT, default.bot_user_id, lifetime=None, value=default.bot_token)

    # --- identities and reach ------------------------------------------------------------------

    def reach(self, install: Install) -> frozenset[str]:
        if install.is_enterprise_install and install.enterprise_id:
            return self.world.directory.teams_of(install.enterprise_id) | {install.enterprise_id}
        return frozenset({install.team_id or ""})

    def identity(self, token: Token) -> Identity:
        """The install behind ``token`` in the shape the Web API methods use."""
        install = token.install
        directory = self.world.directory
        app_id = self.world.identity.app_id
        if install.is_enterprise_install:
            enterprise = directory.enterprises[install.enterprise_id or ""]
            return Identity(token.value, enterprise.id, f"{enterprise.domain}.enterprise", install.bot_user_id,
                            install.bot_id, app_id, enterprise.name, enterprise.id, True)  # fmt: skip
        workspace = directory.workspaces[install.team_id or ""]
        if workspace.id == self.world.identity.team_id and token.value == self.world.identity.bot_token:
            return self.world.identity
        return Identity(token.value, workspace.id, workspace.domain, install.bot_user_id, install.bot_id, app_id,
                        workspace.name, workspace.enterprise_id)  # fmt: skip

    def _bot_for(self, key: str, *, org_wide: bool) -> tuple[str, str]:
        """The app's bot user in a workspace (or org): made on first install, the same ever after."""
        if key not in self._bots:
            bot_user_id = f"{'W' if org_wide else 'U'}{key[1:]}BOT"
            self._bots[key] = (bot_user_id, f"B{key[1:]}")
            if org_wide:  # an org-level user, in no workspace's #general
                self.world.users[bot_user_id] = User(bot_user_id, "containerstacks", key, is_bot=True)
            else:
                self.world.add_user(bot_user_id, name="containerstacks", is_bot=True, team_id=key)
        return self._bots[key]

    # --- installing ----------------------------------------------------------------------------

    def install(self, code: AuthCode, *, lifetime: float | None) -> dict[str, Any]:
        """Turn an approved code into an install and Slack's ``oauth.v2.access`` answer."""
        directory = self.world.directory
        org_wide = code.enterprise_install
        key = (code.enterprise_id or "") if org_wide else code.team_id
        bot_user_id, bot_id = self._bot_for(key, org_wide=org_wide)
        request = code.request
        team_id = None if org_wide else code.team_id
        install = Install(team_id, code.enterprise_id, org_wide, bot_user_id, bot_id, request.scopes, code.user_id,
                          request.user_scopes)  # fmt: skip
        self.tokens.add(install)
        workspace = directory.workspaces[code.team_id]
        enterprise = directory.enterprise(code.enterprise_id)
        body: dict[str, Any] = {
            "ok": True,
            "app_id": self.world.identity.app_id,
            "authed_user": {"id": code.user_id},
            "team": None if org_wide else {"id": workspace.id, "name": workspace.name},
            "enterprise": {"id": enterprise.id, "name": enterprise.name} if enterprise else None,
            "is_enterprise_install": org_wide,
        }
        if request.scopes:
            token, refresh = self.tokens.issue(install, BOT, bot_user_id, lifetime=lifetime)
            body.update(scope=",".join(request.scopes), token_type=BOT, bot_user_id=bot_user_id)
            body.update(_token_fields(token, refresh, lifetime))
        if request.user_scopes:
            token, refresh = self.tokens.issue(install, USER, code.user_id, lifetime=lifetime)
            body["authed_user"].update(scope=",".join(request.user_scopes), token_type=USER)
            body["authed_user"].update(_token_fields(token, refresh, lifetime))
        return body

    def refresh(self, refresh_token: str, *, lifetime: float) -> dict[str, Any]:
        """``grant_type=refresh_token``: a new access token and a new single-use refresh token."""
        token, refresh = self.tokens.refresh(refresh_token, lifetime)
        install = token.install
        directory = self.world.directory
        workspace = directory.workspace(install.team_id)
        enterprise = directory.enterprise(install.enterprise_id)
        scopes = install.scopes if token.kind == BOT else install.user_scopes
        body: dict[str, Any] = {
            "ok": True,
            "app_id": self.world.identity.app_id,
            "scope": ",".join(scopes or ()),
            "token_type": token.kind,
            "team": {"id": workspace.id, "name": workspace.name} if workspace else None,
            "enterprise": {"id": enterprise.id, "name": enterprise.name} if enterprise else None,
            "is_enterprise_install": install.is_enterprise_install,
            **_token_fields(token, refresh, lifetime),
        }
        if token.kind == BOT:
            body["bot_user_id"] = install.bot_user_id
        else:
            body["user_id"] = token.user_id
        return body

    # --- uninstalling --------------------------------------------------------------------------

    def installs_of(self, team_id: str | None, enterprise_id: str | None) -> list[Install]:
        """Active installs of one workspace, or the org-wide installs of one enterprise."""
        if team_id is None and enterprise_id is None:
            raise ValueError("name the workspace (team_id) or the org (enterprise_id) to uninstall from")
        found = [i for i in self.tokens.installs if i.active]
        if team_id is not None:
            return [i for i in found if not i.is_enterprise_install and i.team_id == team_id]
        return [i for i in found if i.is_enterprise_install and i.enterprise_id == enterprise_id]

    def uninstall(self, install: Install) -> Revocation:
        revoked = self.tokens.uninstall(install)
        return _revocation(install, revoked, uninstalled=True)

    def revoke(self, value: str) -> Revocation:
        token = self.tokens.peek(value)
        if token is None:
            raise SlackError("invalid_auth")
        revoked = [token] if self.tokens.revoke(token) else []
        return _revocation(token.install, revoked, uninstalled=False)

    # --- signed requests -----------------------------------------------------------------------

    def request_context(self, user_id: str, channel_id: str | None, *, host_team: bool) -> RequestContext | None:
        """Team fields for a request from ``user_id``; None when they are the default workspace's.

        ``host_team`` (events): a Slack Connect channel's events go to the channel's host team.
        """
        world = self.world
        directory = world.directory
        user = world.users.get(user_id)
        user_team = user.team_id if user and directory.workspace(user.team_id) else directory.default.id
        channel = world.channels.get(channel_id or "")
        shared = channel is not None and bool(channel.shared_with)
        team_id = channel.team_id if (host_team and shared and channel is not None) else user_team
        if team_id == directory.default.id and user_team == team_id and not shared:
            return None
        workspace = directory.workspaces[team_id]
        enterprise = directory.enterprise(workspace.enterprise_id)
        install = self.tokens.covering(team_id, workspace.enterprise_id)
        return RequestContext(
            team_id=team_id,
            team_domain=workspace.domain,
            enterprise_id=enterprise.id if enterprise else None,
            enterprise_name=enterprise.name if enterprise else None,
            is_enterprise_install=bool(install and install.is_enterprise_install),
            bot_user_id=install.bot_user_id if install else None,
            user_team=user_team,
            is_ext_shared_channel=shared,
        )

    def bot_author_for(self, user_id: str) -> dict[str, Any] | None:
        """The bot that answers ``user_id`` (their workspace's install); None for the default workspace."""
        ctx = self.request_context(user_id, None, host_team=False)
        install = self.tokens.covering(ctx.team_id, ctx.enterprise_id) if ctx else None
        if install is None:
            return None
        return {"user": install.bot_user_id, "bot_id": install.bot_id, "app_id": self.world.identity.app_id}


def _token_fields(token: Token, refresh: RefreshToken | None, lifetime: float | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"access_token": token.value}
    if refresh is not None and lifetime:
        fields.update(refresh_token=refresh.value, expires_in=int(lifetime))
    return fields


def _revocation(install: Install, revoked: list[Token], *, uninstalled: bool) -> Revocation:
    bots = tuple(dict.fromkeys(t.user_id for t in revoked if t.kind == BOT))
    users = tuple(dict.fromkeys(t.user_id for t in revoked if t.kind == USER))
    return Revocation(install, bots, users, uninstalled)
