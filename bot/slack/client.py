"""Slack Web API clients built from settings (the base URL is injectable so emulators work)."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.installations import Installations

REQUEST_TIMEOUT_SECONDS = 10


def interactive_client(
    token: str | None, base_url: str, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """For work done while a user waits: retries connection errors, 429 (Retry-After) and 5xx.

    Pass the process's `session`: without one, slack-sdk opens a new connection (and TLS handshake)
    for every API call, which is most of the time a `views.open` before an ack takes.
    """
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,
        timeout=REQUEST_TIMEOUT_SECONDS,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def outbox_client(token: str, base_url: str, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """For the outbox worker: no in-call retries, because the worker reschedules durably instead
    of sleeping on a 429 while other channels wait."""
    return AsyncWebClient(
        token=token, base_url=base_url, session=session, timeout=REQUEST_TIMEOUT_SECONDS, retry_handlers=[]
    )


def with_token(client: AsyncWebClient, token: str | None) -> AsyncWebClient:
    """A client like `client` (base URL, session, retries) acting with another workspace's token."""
    return AsyncWebClient(
        token=token,
        base_url=client.base_url,
        session=client.session,
        timeout=client.timeout,
        retry_handlers=list(client.retry_handlers or []),
    )


class NotInstalled(Exception):
    """The workspace a message is for has uninstalled the app (or never installed it). For the home
    workspace (`home`) that is likely temporary: the reseller installs it first, but may not have yet."""

    def __init__(self, workspace: str, *, home: bool = False) -> None:
        super().__init__(workspace)
        self.home = home


@dataclass(frozen=True)
class Workspace:
    """The workspace a client acts in: '' where Slack has no enterprise."""

    enterprise_id: str
    team_id: str


class WorkspaceClients:
    """The Slack client for work done outside a request (the outbox): the configured token in
    single-workspace mode; in distributed mode the installed bot of the row's workspace, and for
    rows without one (triage, admin) the home workspace's. A row can never borrow another
    workspace's token: a workspace without an active install raises `NotInstalled`."""

    def __init__(
        self,
        *,
        single: AsyncWebClient | None = None,
        installations: Installations | None = None,
        base_url: str = "https://slack.com/api/",
        session: aiohttp.ClientSession | None = None,
        home_team: str | None = None,
    ) -> None:
        if (single is None) == (installations is None):
            raise ValueError("either one configured client or the installations")
        self._single = single
        self._installations = installations
        self._base_url = base_url
        self._session = session
        self._home_team = home_team

    @property
    def distributed(self) -> bool:
        return self._installations is not None

    async def client_for(
        self, enterprise_id: str | None, team_id: str | None
    ) -> tuple[AsyncWebClient, Workspace | None]:
        """The client, and in distributed mode the workspace it acts in (None: the configured token)."""
        if self._single is not None:
            return self._single, None
        assert self._installations is not None
        home = not (team_id or enterprise_id)
        if home:
            bot = await self._installations.home_bot(self._home_team)
        else:
            bot = await self._installations.bot_for(enterprise_id, team_id)
        if bot is None:
            raise NotInstalled(team_id or enterprise_id or "home", home=home)
        acting = Workspace(bot.enterprise_id, team_id or bot.team_id)
        return outbox_client(bot.bot_token, self._base_url, self._session), acting

    async def still_installed(self, workspace: Workspace) -> bool:
        """After Slack refused a token: drop this process's copy and ask the database again (another
        replica may have seen the uninstall, or refreshed the token)."""
        assert self._installations is not None
        self._installations.forget(workspace.enterprise_id, workspace.team_id)
        return await self._installations.bot_for(workspace.enterprise_id, workspace.team_id) is not None
