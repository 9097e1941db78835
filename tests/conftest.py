"""Shared fixtures: a real PostgreSQL database per run, the Slack emulator and the real bot over HTTP.

The server is `TEST_DATABASE_URL`/`DATABASE_URL` when set (CI uses the machine's PostgreSQL),
otherwise an embedded PostgreSQL started for this run. Each run creates its own database, migrates
it with the real migration code and drops it at the end. Under pytest-xdist every worker is a run of
its own (session fixtures are per process): its own database, and its own embedded server if any.
"""

from __future__ import annotations

import io
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions, create_app
from bot.db.engine import create_engine, plain_url, with_database
from bot.db.migrate import migrate
from bot.emulators.slack import SignedRequest, SlackEmulator, SlackRequestFactory
from bot.jobs.outbox import OutboxPolicy
from bot.settings import Settings
from tests import ledger_invariant

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_SECRET = "test-bot-secret-0123456789abcdef0123456789"
BOT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0CSBOT01"  # the emulator's default workspace


# -- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database (`postgres`)."""
    configured = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if configured:
        yield with_database(configured, "postgres")
        return
    from bot.db.embedded import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="csbot-test-pg-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pg")
        yield server.start()
        server.stop()


async def create_database(server_url: str, name: str) -> str:
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()


def unique_name(prefix: str = "csbot_test") -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
async def database_url(pg_server_url: str) -> AsyncIterator[str]:
    """This run's database, migrated to head with the real migration code."""
    name = unique_name()
    url = await create_database(pg_server_url, name)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    await ledger_invariant.install(url)
    yield url
    await drop_database(pg_server_url, name)


@pytest.fixture(autouse=True)
async def ledger_invariant_holds(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """After every test that used this run's database: each organisation's wallet balance is its
    opening balance plus the sum of its completed ledger rows (money never moves without a row)."""
    url = request.getfixturevalue("database_url") if "database_url" in request.fixturenames else None
    yield
    if url is not None and (broken := await ledger_invariant.broken_organisations(url)):
        pytest.fail("ledger invariant broken:\n" + "\n".join(b.describe() for b in broken), pytrace=False)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture
async def fresh_database(pg_server_url: str) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Factory for empty databases (dropped after the test), for migration and adoption tests."""
    created: list[str] = []

    async def make() -> str:
        name = unique_name("csbot_fresh")
        created.append(name)
        return await create_database(pg_server_url, name)

    yield make
    for name in created:
        await drop_database(pg_server_url, name)


async def settle_queued_outbox(engine: AsyncEngine) -> None:
    """Mark messages earlier tests left queued as dead (the test database is shared by the whole
    session), so they do not queue in front of a test's own. Rows stay, and ids are never reused:
    ticket threads of earlier tests still point at their outbox rows."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE bot_outbox SET status = 'dead', last_error = 'left by an earlier test'"
                " WHERE status IN ('pending', 'sending')"
            )
        )


@pytest.fixture
async def clean_outbox(engine: AsyncEngine) -> None:
    """Outbox tests assert on the whole queue, so they start from an empty one."""
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE bot_outbox, bot_outbox_pace RESTART IDENTITY"))


# -- Slack emulator and the bot ---------------------------------------------------------------


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    emulator = SlackEmulator(bot_token=BOT_TOKEN)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def slack_requests(slack: SlackEmulator) -> SlackRequestFactory:
    return SlackRequestFactory(SIGNING_SECRET, emulator=slack)


def make_settings(database_url: str, slack: SlackEmulator, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "bot_secret": BOT_SECRET,
        "slack_api_url": slack.api_url,
        "public_url": "http://127.0.0.1:3000",
        "log_format": "console",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class RunningBot:
    """The real aiohttp app on an ephemeral port, reached over real HTTP.

    ``send`` hands each answer back to the emulator that issued the request, which raises
    ``AnswerRejected`` when Slack would refuse it (an invalid modal in ``response_action``, …).
    """

    url: str
    app: web.Application
    session: aiohttp.ClientSession

    async def send(self, request: SignedRequest, path: str = "/slack/events") -> tuple[int, str]:
        data = io.BytesIO(request.body) if len(request.body) > 512 * 1024 else request.body
        async with self.session.post(self.url + path, data=data, headers=request.headers) as response:
            status, text = response.status, await response.text()
        request.answered(status, text)  # Slack reads the answer too: a Block Kit violation fails the test
        return status, text

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.url + path) as response:
            return response.status, await response.text()


async def start_bot(settings: Settings, database_url: str, options: AppOptions) -> tuple[web.AppRunner, str]:
    app = create_app(settings, database_url, options)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def bot(database_url: str, slack: SlackEmulator) -> AsyncIterator[RunningBot]:
    """The bot with its workers, talking to the emulator; fast outbox pacing for tests."""
    settings = make_settings(database_url, slack)
    options = AppOptions(outbox_policy=OutboxPolicy(pace_seconds=0.05, backoff_base=0.05, idle_poll_seconds=0.05))
    runner, url = await start_bot(settings, database_url, options)
    async with aiohttp.ClientSession() as session:
        yield RunningBot(url=url, app=runner.app, session=session)
    await runner.cleanup()
