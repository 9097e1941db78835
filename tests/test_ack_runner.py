"""The listener runner answers Slack on the ack itself and keeps Bolt's ack-first contract.

Requests are really signed and go through the Bolt app `build_bolt_app` makes, against the
Slack emulator (Bolt checks the token with auth.test on the first request).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.listener.async_listener import AsyncCustomListener
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import drain_listener_tasks
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.slack.ack_runner import PromptAckRunner
from bot.slack.bolt_app import build_bolt_app

SECRET = "ack-runner-signing-secret"
TOKEN = "xoxb-ack-runner"


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(bot_token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
def bolt(slack: SlackEmulator) -> AsyncApp:
    return build_bolt_app(SECRET, AsyncWebClient(token=TOKEN, base_url=slack.api_url))


def command(slack: SlackEmulator, text: str = "") -> AsyncBoltRequest:
    signed = SlackRequestFactory(SECRET, emulator=slack).slash_command("U0ACKRUNNER", text, command="/x")
    return AsyncBoltRequest(body=signed.body.decode(), headers=signed.headers)


def test_the_app_answers_through_the_prompt_runner(bolt: AsyncApp) -> None:
    assert isinstance(bolt.listener_runner, PromptAckRunner)


async def test_the_answer_leaves_while_the_listener_keeps_working(bolt: AsyncApp, slack: SlackEmulator) -> None:
    release, finished = asyncio.Event(), asyncio.Event()

    @bolt.command("/x")
    async def slow_after_ack(ack: Any) -> None:
        await ack("on it")
        await release.wait()
        finished.set()

    response = await bolt.async_dispatch(command(slack))
    assert (response.status, response.body) == (200, "on it")
    assert not finished.is_set()  # the answer did not wait for the work after the ack
    release.set()
    await drain_listener_tasks(5)  # shutdown finds the listener by its task name
    assert finished.is_set()


async def test_a_failure_before_the_ack_is_the_answer(bolt: AsyncApp, slack: SlackEmulator) -> None:
    seen: list[Exception] = []

    @bolt.error
    async def record(error: Exception) -> None:
        seen.append(error)

    @bolt.command("/x")
    async def fails(ack: Any) -> None:
        raise RuntimeError("before the ack")

    response = await bolt.async_dispatch(command(slack))
    assert response.status == 500
    assert [str(e) for e in seen] == ["before the ack"]


async def test_a_failure_after_the_ack_reaches_the_error_handler(bolt: AsyncApp, slack: SlackEmulator) -> None:
    seen: list[tuple[str, BoltResponse | None]] = []

    @bolt.error
    async def record(error: Exception, response: BoltResponse | None) -> None:
        seen.append((str(error), response))

    @bolt.command("/x")
    async def fails_later(ack: Any) -> None:
        await ack("accepted")
        raise RuntimeError("after the ack")

    response = await bolt.async_dispatch(command(slack))
    assert (response.status, response.body) == (200, "accepted")
    await drain_listener_tasks(5)
    assert seen == [("after the ack", None)]  # already answered: the handler only reports


async def test_a_listener_that_never_acks_times_out_with_bolts_warning(
    bolt: AsyncApp, slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    release = asyncio.Event()

    async def forgets_to_ack(ack: Any) -> None:
        await release.wait()

    listener = AsyncCustomListener(
        app_name="test", ack_function=forgets_to_ack, lazy_functions=[], matchers=[], middleware=[],
        ack_timeout=0.05,  # type: ignore[arg-type]  # Bolt types it int; seconds either way
    )  # fmt: skip
    request = command(slack)
    with caplog.at_level(logging.WARNING, logger="csbot.bolt"):
        answer = await bolt.listener_runner.run(request, BoltResponse(status=200), "forgets_to_ack", listener)
    assert answer is None
    assert any("forgets_to_ack" in r.getMessage() for r in caplog.records)
    release.set()
    await drain_listener_tasks(5)
