"""The emulator's side of a distributed app: workspaces, OAuth installs, token checks and uninstalls.

A mixin of ``SlackEmulator`` so the HTTP edge stays in ``server`` while everything about many
workspaces is read in one place. Tests drive the consent screen with ``approve_install`` (or over
HTTP with ``as_user``/``as_team``), exchange the code with the real ``oauth.v2.access`` and watch
``tokens_revoked``/``app_uninstalled`` arrive, signed, at ``event_url``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.emulators.base import CallLog
from bot.emulators.slack.delivery import EventDelivery, EventSender
from bot.emulators.slack.errors import SlackError
from bot.emulators.slack.installs import Install, Token, TokenStore
from bot.emulators.slack.oauth import ConsentError, OAuthApp
from bot.emulators.slack.recording import Call
from bot.emulators.slack.requests import SlackRequestFactory
from bot.emulators.slack.state import Identity, Reach, World
from bot.emulators.slack.tenancy import RequestContext, Revocation, Tenancy
from bot.emulators.slack.workspaces import Enterprise, Workspace


class DistributedApp:
    """Many workspaces and Enterprise Grid orgs, the app's OAuth flow and its uninstalls."""

    identity: Identity
    clock: Callable[[], float]
    calls: CallLog[Call]
    token_rotation: bool
    token_lifetime_seconds: float
    signing_secret: str | None
    event_url: str | None
    _world: World
    _tokens: TokenStore
    _tenancy: Tenancy
    _oauth: OAuthApp
    _events: EventSender

    # --- the app's credentials -----------------------------------------------------------------

    @property
    def client_id(self) -> str:
        return self._oauth.client_id

    @client_id.setter
    def client_id(self, value: str) -> None:
        self._oauth.client_id = value

    @property
    def client_secret(self) -> str:
        return self._oauth.client_secret

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self._oauth.client_secret = value

    @property
    def redirect_urls(self) -> list[str]:
        """The app's registered redirect URLs; empty accepts any ``redirect_uri``."""
        return self._oauth.redirect_urls

    @property
    def authorize_url(self) -> str:
        """Slack's ``https://slack.com/oauth/v2/authorize``, served here."""
        return f"{self.origin}/oauth/v2/authorize"  # type: ignore[attr-defined]

    # --- workspaces ----------------------------------------------------------------------------

    def add_enterprise(self, enterprise_id: str, name: str) -> Enterprise:
        return self._world.directory.add_enterprise(enterprise_id, name)

    def add_workspace(
        self, team_id: str, name: str, *, domain: str | None = None, enterprise_id: str | None = None
    ) -> Workspace:
        """Another workspace (with its own #general), inside ``enterprise_id``'s org if given."""
        domain = domain or name.lower().replace(" ", "-")
        return self._world.add_workspace(Workspace(team_id, name, domain, enterprise_id))

    def share_channel(self, channel_id: str, team_id: str) -> None:
        """Make ``channel_id`` a Slack Connect channel shared with ``team_id``."""
        if self._world.directory.workspace(team_id) is None:
            raise KeyError(f"unknown workspace {team_id!r}; add it with add_workspace() first")
        self._world.channels[channel_id].shared_with.add(team_id)

    def request_context(self, user_id: str, channel_id: str | None, *, host_team: bool) -> RequestContext | None:
        """Used by ``SlackRequestFactory``: the team fields of a request from ``user_id``."""
        return self._tenancy.request_context(user_id, channel_id, host_team=host_team)

    # --- the consent screen --------------------------------------------------------------------

    def approve_install(
        self, authorize_url: str, *, team_id: str, user_id: str, enterprise_install: bool = False
    ) -> str:
        """``user_id`` presses Allow on the consent screen: the redirect Slack sends the browser to.

        Raises ``ConsentError`` where Slack shows an error page instead (unknown client, bad
        ``redirect_uri``)."""
        request = self._oauth.read_authorize(authorize_url)
        workspace = self._world.directory.workspace(team_id)
        if workspace is None:
            raise KeyError(f"unknown workspace {team_id!r}; add it with add_workspace() first")
        user = self._world.users.get(user_id)
        if user is None or user.team_id != team_id:
            raise ValueError(f"{user_id!r} is not a member of {team_id!r}")
        if enterprise_install and workspace.enterprise_id is None:
            raise ValueError(f"{team_id!r} is in no Enterprise Grid org; an org-wide install needs one")
        return self._oauth.approve(request, team_id=team_id, enterprise_id=workspace.enterprise_id,
                                   enterprise_install=enterprise_install, user_id=user_id)  # fmt: skip

    def deny_install(self, authorize_url: str) -> str:
        """The user presses Cancel: ``redirect_uri?error=access_denied&state=…``."""
        return self._oauth.deny(self._oauth.read_authorize(authorize_url))

    async def _handle_authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        try:
            authorize = self._oauth.read_authorize(query)
            if query.get("deny"):
                raise web.HTTPFound(self._oauth.deny(authorize))
            if query.get("as_user"):
                team_id = query.get("as_team") or self._world.team_of_user(query["as_user"])
                enterprise = query.get("enterprise_install") in ("1", "true")
                target = self.approve_install(str(request.url), team_id=team_id, user_id=query["as_user"],
                                              enterprise_install=enterprise)  # fmt: skip
                raise web.HTTPFound(target)
        except ConsentError as exc:
            return web.Response(status=exc.status, text=f"Slack: {exc.error}", content_type="text/plain")
        except (KeyError, ValueError) as exc:
            return web.Response(status=400, text=f"Slack: {exc}", content_type="text/plain")
        return web.Response(text=self._consent_page(query, authorize.scopes), content_type="text/html")

    def _consent_page(self, query: dict[str, str], scopes: tuple[str, ...]) -> str:
        """Who may allow the install: one link per workspace member, and Cancel."""
        links = []
        for user in self._world.users.values():
            if user.is_bot or user.deleted or self._world.directory.workspace(user.team_id) is None:
                continue
            href = "?" + urlencode({**query, "as_user": user.id, "as_team": user.team_id})
            links.append(f'<li><a href="{html.escape(href)}">Allow as {html.escape(user.name)} '
                         f"in {html.escape(user.team_id)}</a></li>")  # fmt: skip
        deny = "?" + urlencode({**query, "deny": "1"})
        return (f"<html><body><h1>Install the app</h1><p>Scopes: {html.escape(', '.join(scopes))}</p>"
                f'<ul>{"".join(links)}</ul><a href="{html.escape(deny)}">Cancel</a></body></html>')  # fmt: skip

    # --- oauth.v2.access and apps.uninstall ------------------------------------------------------

    def _client_call(self, request: web.Request, args: dict[str, Any]) -> dict[str, Any]:
        """``oauth.v2.access``: exchange a code, or (token rotation) a refresh token."""
        try:
            self._oauth.check_client(args, request.headers.get("Authorization", ""))
            grant_type = args.get("grant_type") or "authorization_code"
            if grant_type == "refresh_token":
                return self._tenancy.refresh(str(args.get("refresh_token") or ""), lifetime=self.token_lifetime_seconds)
            if grant_type != "authorization_code":
                raise SlackError("invalid_grant_type")
            code = self._oauth.redeem(str(args.get("code") or ""), args.get("redirect_uri") or None)
            lifetime = self.token_lifetime_seconds if self.token_rotation else None
            return self._tenancy.install(code, lifetime=lifetime)
        except SlackError as exc:
            return exc.to_body()

    def _apps_uninstall(self, token: Token, args: dict[str, Any]) -> dict[str, Any]:
        try:
            self._oauth.check_client(args, "")
        except SlackError as exc:
            return exc.to_body()
        install = token.install
        if install.is_enterprise_install:
            self.uninstall(enterprise_id=install.enterprise_id)
        else:
            self.uninstall(team_id=install.team_id)
        return {"ok": True}

    def uninstall(self, team_id: str | None = None, enterprise_id: str | None = None) -> None:
        """Someone removes the app from a workspace (or an org-wide install from its org): every
        token of it is revoked, and ``tokens_revoked`` and ``app_uninstalled`` are sent."""
        for install in self._tenancy.installs_of(team_id, enterprise_id):
            self._announce(self._tenancy.uninstall(install))

    def revoke(self, token: str) -> None:
        """Revoke one token (as ``auth.revoke`` or an admin would); ``tokens_revoked`` follows."""
        revocation = self._tenancy.revoke(token)
        if revocation.bot_user_ids or revocation.user_ids:
            self._announce(revocation)

    def installs(self) -> list[Install]:
        """Every install so far (the default workspace's first), active or not."""
        return list(self._tokens.installs)

    # --- events Slack sends by itself ------------------------------------------------------------

    def _announce(self, revocation: Revocation) -> None:
        install = revocation.install
        enterprise = self._world.directory.enterprise(install.enterprise_id)
        factory = SlackRequestFactory(
            self.signing_secret or "",
            team_id=install.team_id or install.enterprise_id,
            team_domain=self._world.directory.workspaces[install.team_id].domain if install.team_id else None,
            enterprise_id=install.enterprise_id,
            enterprise_name=enterprise.name if enterprise else None,
            api_app_id=self.identity.app_id,
            bot_user_id=install.bot_user_id,
            clock=self.clock,
            is_enterprise_install=install.is_enterprise_install,
        )
        url = self.event_url if self.signing_secret else None
        tokens: dict[str, list[str]] = {}
        if revocation.user_ids:
            tokens["oauth"] = list(revocation.user_ids)
        if revocation.bot_user_ids:
            tokens["bot"] = list(revocation.bot_user_ids)
        if tokens:
            self._events.send(url, factory.event({"type": "tokens_revoked", "tokens": tokens}))
        if revocation.uninstalled:
            self._events.send(url, factory.event({"type": "app_uninstalled"}))

    @property
    def event_deliveries(self) -> list[EventDelivery]:
        """Events Slack sent by itself, in the order they were answered."""
        return list(self._events.deliveries)

    async def deliveries_done(self) -> list[EventDelivery]:
        """Wait for every event delivery started so far; all deliveries."""
        await self._events.drain()
        return self.event_deliveries

    # --- recording -------------------------------------------------------------------------------

    def calls_for_team(self, team_id: str) -> list[Call]:
        """Calls that acted in workspace ``team_id``, oldest first."""
        return [call for call in self.calls if call.team_id == team_id]

    def _acted_in(self, args: dict[str, Any], reach: Reach) -> str | None:
        """The workspace an org-wide token's call acted in: the ``team_id`` it named, or its target's."""
        if args.get("team_id"):
            return str(args["team_id"])
        channel = self._world.channels.get(str(args.get("channel") or args.get("channel_id") or ""))
        if channel is not None and (reach is None or channel.team_id in reach):
            return channel.team_id
        user_id = args.get("user") or args.get("user_id")
        return self._world.team_of_user(str(user_id)) if user_id in self._world.users else None
