"""Distributed mode under test: the emulator with several workspaces, and the real bot installed
into them through its own HTTP routes (`/slack/install`, Slack's consent, `/slack/oauth_redirect`)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web

from bot.app import AppOptions, create_app
from bot.app_keys import INSTALLATIONS
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.outbox import OutboxPolicy
from bot.slack.installations import Installations
from tests.conftest import SIGNING_SECRET, make_settings
from tests.serve_fixtures import free_port

TOKEN_KEY = "7f" * 32
FAST = OutboxPolicy(pace_seconds=0.05, backoff_base=0.05, idle_poll_seconds=0.05)


def team_id(prefix: str = "T") -> str:
    """A workspace id of its own per test (the database is shared by the session)."""
    return prefix + secrets.token_hex(4).upper()


@dataclass
class Workspaces:
    """The bot (distributed mode) on a real port and the emulator hosting the workspaces."""

    slack: SlackEmulator
    url: str
    app: web.Application
    session: aiohttp.ClientSession
    requests: SlackRequestFactory

    @property
    def installations(self) -> Installations:
        return self.app[INSTALLATIONS]

    async def start_install(self) -> tuple[str, str]:
        """GET /slack/install: (Slack's authorize URL it redirects to, the state cookie it set)."""
        async with self.session.get(self.url + "/slack/install", allow_redirects=False) as response:
            assert response.status == 302, await response.text()
            cookie = response.headers["Set-Cookie"].split(";")[0]
            return response.headers["Location"], cookie

    async def finish(self, redirect: str, cookie: str) -> tuple[int, str]:
        """The browser arriving back at the bot from Slack's consent page."""
        parts = urlsplit(redirect)
        async with self.session.get(
            self.url + parts.path + "?" + parts.query, headers={"Cookie": cookie}, allow_redirects=False
        ) as response:
            return response.status, await response.text()

    async def install(self, team: str, user: str, *, enterprise_install: bool = False) -> str:
        authorize, cookie = await self.start_install()
        redirect = self.slack.approve_install(
            authorize, team_id=team, user_id=user, enterprise_install=enterprise_install
        )
        status, page = await self.finish(redirect, cookie)
        assert status == 200, page
        return page

    async def send(self, request: object) -> tuple[int, str]:
        async with self.session.post(
            self.url + "/slack/events",
            data=request.body,  # type: ignore[attr-defined]
            headers=request.headers,  # type: ignore[attr-defined]
        ) as response:
            return response.status, await response.text()


@pytest.fixture(name="workspaces")
async def workspaces_fixture(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Workspaces]:
    """`@pytest.mark.parametrize("workspaces", [{"token_rotation": True}], indirect=True)` for rotation;
    a "settings" entry in that dict overrides the bot's settings."""
    emulator_options = dict(getattr(request, "param", {}))
    overrides = emulator_options.pop("settings", {})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    slack = SlackEmulator(
        client_id="1234.5678",
        client_secret="emulated-client-secret",
        redirect_urls=[url + "/slack/oauth_redirect"],
        signing_secret=SIGNING_SECRET,
        event_url=url + "/slack/events",
        **emulator_options,
    )
    await slack.start()
    settings = make_settings(
        database_url,
        slack,
        slack_bot_token=None,
        slack_client_id="1234.5678",
        slack_client_secret="emulated-client-secret",
        slack_token_key=TOKEN_KEY,
        public_url=url,
        **overrides,
    )
    app = create_app(settings, database_url, AppOptions(outbox_policy=FAST, ticket_sync_every_seconds=0.2))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    async with aiohttp.ClientSession() as session:
        yield Workspaces(slack, url, app, session, SlackRequestFactory(SIGNING_SECRET, emulator=slack))
    await runner.cleanup()
    await slack.stop()
