"""Health, readiness and metrics endpoints over real HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from bot.app import AppOptions
from bot.app_keys import SETTINGS
from bot.db.engine import create_engine
from bot.db.migrate import migrate
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from tests.conftest import RunningBot, make_settings, start_bot
from tests.serve_fixtures import free_port


async def test_healthz_answers_while_the_process_lives(bot: RunningBot) -> None:
    status, body = await bot.get("/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})


async def test_readyz_is_503_until_migrated_then_200(
    fresh_database: Callable[[], Awaitable[str]], slack: SlackEmulator
) -> None:
    url = await fresh_database()
    runner, base = await start_bot(make_settings(url, slack), url, AppOptions(run_workers=False))
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(base + "/readyz") as response:
                assert response.status == 503
                assert "csbot migrate" in (await response.json())["reason"]
            engine = create_engine(url, pool_size=1, max_overflow=0)
            await migrate(engine)
            await engine.dispose()
            async with session.get(base + "/readyz") as response:
                assert response.status == 200
                assert (await response.json())["status"] == "ready"
    finally:
        await runner.cleanup()


async def test_readyz_is_503_when_the_database_is_unreachable(slack: SlackEmulator) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    runner, base = await start_bot(make_settings(url, slack), url, AppOptions(run_workers=False))
    try:
        async with aiohttp.ClientSession() as session, session.get(base + "/readyz") as response:
            assert response.status == 503
            assert (await response.json())["reason"] == "database unreachable"
            async with session.get(base + "/healthz") as alive:
                assert alive.status == 200
    finally:
        await runner.cleanup()


METRICS_TOKEN = "metrics-token-0123456789abcdef0123456789"


@pytest.fixture
async def metered_bot(database_url: str, slack: SlackEmulator) -> AsyncIterator[tuple[RunningBot, str]]:
    """The bot with METRICS_TOKEN and its metrics listener on a free loopback port."""
    port = free_port()
    settings = make_settings(database_url, slack, metrics_token=METRICS_TOKEN, metrics_port=port)
    runner, url = await start_bot(settings, database_url, AppOptions(run_workers=False))
    async with aiohttp.ClientSession() as session:
        yield RunningBot(url=url, app=runner.app, session=session), f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def _get(url: str, **headers: str) -> tuple[int, str, str | None]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.text(), response.headers.get("WWW-Authenticate")


async def test_metrics_are_not_public_without_a_token(bot: RunningBot) -> None:
    status, body = await bot.get("/metrics")
    assert status == 404 and "csbot_" not in body  # as any unknown path: nothing says metrics live here


async def test_metrics_on_the_public_port_answer_only_the_bearer_of_the_token(
    metered_bot: tuple[RunningBot, str],
) -> None:
    bot, _ = metered_bot
    refusals = [
        await _get(bot.url + "/metrics"),
        await _get(bot.url + "/metrics", Authorization="Bearer wrong-token"),
        await _get(bot.url + "/metrics", Authorization=f"Bearer {METRICS_TOKEN}x"),
        await _get(bot.url + "/metrics", Authorization=f"Basic {METRICS_TOKEN}"),
    ]
    assert refusals == [(401, "", 'Bearer realm="metrics"')] * 4
    status, body, _ = await _get(bot.url + "/metrics", Authorization=f"bearer {METRICS_TOKEN}")
    assert status == 200 and 'csbot_http_requests_total{method="GET",route="/metrics",status="401"} 4.0' in body


async def test_the_metrics_listener_serves_metrics_and_nothing_else(metered_bot: tuple[RunningBot, str]) -> None:
    bot, listener = metered_bot
    assert bot.app[SETTINGS].metrics_listener == ("127.0.0.1", int(listener.rsplit(":", 1)[1]))  # loopback
    assert (await _get(listener + "/metrics"))[0] == 401  # the token is asked for wherever metrics answer
    status, body, _ = await _get(listener + "/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert status == 200 and "csbot_outbox_pending" in body
    assert (await _get(listener + "/healthz"))[0] == 404
    assert (await _get(listener + "/slack/events"))[0] == 404


async def test_metrics_count_requests_by_route_template_and_status(
    metered_bot: tuple[RunningBot, str], slack_requests: SlackRequestFactory
) -> None:
    bot, listener = metered_bot
    await bot.send(slack_requests.slash_command("U0ALICE", "help"))
    await bot.send(slack_requests.tamper(slack_requests.slash_command("U0ALICE", "help")))
    status, body, _ = await _get(listener + "/metrics", Authorization=f"Bearer {METRICS_TOKEN}")
    assert status == 200
    assert 'csbot_http_requests_total{method="POST",route="/slack/events",status="200"}' in body
    assert 'csbot_http_requests_total{method="POST",route="/slack/events",status="401"}' in body
    assert "csbot_http_request_duration_seconds_bucket" in body
    assert "csbot_outbox_pending" in body
