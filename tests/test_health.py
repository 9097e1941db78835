"""Health, readiness and metrics endpoints over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import aiohttp

from bot.app import AppOptions
from bot.db.engine import create_engine
from bot.db.migrate import migrate
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from tests.conftest import RunningBot, make_settings, start_bot


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


async def test_metrics_count_requests_by_route_template_and_status(
    bot: RunningBot, slack_requests: SlackRequestFactory
) -> None:
    await bot.send(slack_requests.slash_command("U0ALICE", "help"))
    await bot.send(slack_requests.tamper(slack_requests.slash_command("U0ALICE", "help")))
    status, body = await bot.get("/metrics")
    assert status == 200
    assert 'csbot_http_requests_total{method="POST",route="/slack/events",status="200"}' in body
    assert 'csbot_http_requests_total{method="POST",route="/slack/events",status="401"}' in body
    assert "csbot_http_request_duration_seconds_bucket" in body
    assert "csbot_outbox_pending" in body
