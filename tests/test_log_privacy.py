"""What people type never reaches a log line: command arguments, form values, message texts.

The logs are read as operators get them: the JSON lines of the real handler, at DEBUG. The bot
runs for real against the emulator; listeners fail through real conditions (Slack refusing a call,
the database unreachable), so the error handler, tracebacks and Bolt's own logging are all covered.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions
from bot.emulators.slack import SignedRequest, SlackEmulator, SlackRequestFactory
from bot.logging import CHATTY_LOGGERS, configure_logging
from bot.rendering import tickets as ticket_render
from tests.conftest import BOT_SECRET, BOT_TOKEN, SIGNING_SECRET, RunningBot, make_settings, start_bot
from tests.factories import add_slack_user, link_slack, make_org, make_user

SECRET = "sk_live_51HxQvT8secretKEYdoNotLog"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The production log configuration at DEBUG, writing JSON lines to a buffer."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, {name: logging.getLogger(name).level for name in CHATTY_LOGGERS})
    stream = io.StringIO()
    configure_logging("DEBUG", "json", [SIGNING_SECRET, BOT_TOKEN, BOT_SECRET], stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


async def logged(stream: io.StringIO, event: str, count: int = 1) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        while len(found := [e for e in lines(stream) if e["event"] == event]) < count:
            await asyncio.sleep(0.02)
    return found


async def linked_owner(engine: AsyncEngine, slack: SlackEmulator) -> str:
    slack_id = add_slack_user(slack)
    owner = await make_user(engine)
    await make_org(engine, owner)
    await link_slack(engine, slack_id, owner)
    return slack_id


async def test_link_key_with_a_failing_listener_logs_the_command_words_but_never_the_key(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, json_logs: io.StringIO
) -> None:
    user = add_slack_user(slack)
    slack.fail("views.open", error="internal_error")  # Slack refuses to open the key form
    status, _ = await bot.send(slack_requests.slash_command(user, f"link key {SECRET}"))
    assert status == 200
    [failure] = await logged(json_logs, "slack.listener_failed")
    assert failure["slack_command"] == "/cs link key" and failure["ref"].startswith("ERR-")
    assert "internal_error" in failure["exc"]  # the traceback is still there for the operator
    assert SECRET not in json_logs.getvalue()


@pytest.fixture
async def unreachable_bot(slack: SlackEmulator) -> AsyncIterator[RunningBot]:
    """The bot while its database does not answer (nothing listens on port 1)."""
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    runner, base = await start_bot(make_settings(url, slack), url, AppOptions(run_workers=False))
    async with aiohttp.ClientSession() as session:
        yield RunningBot(url=base, app=runner.app, session=session)
    await runner.cleanup()


async def test_no_log_line_of_a_run_of_commands_forms_and_messages_carries_what_was_typed(  # noqa: PLR0917
    bot: RunningBot,
    unreachable_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    json_logs: io.StringIO,
) -> None:
    for chatty in ("csbot.bolt", "slack_bolt"):  # even with Bolt's own debug lines turned on
        logging.getLogger(chatty).setLevel(logging.DEBUG)
    owner = await linked_owner(engine, slack)
    commands = [
        f"wallet topup {SECRET}", f"org use {SECRET}", f"vps {SECRET}", f"ticket {SECRET}", f"help {SECRET}",
        SECRET, f"org create {SECRET}", f"link key {SECRET}", f'org invite "{SECRET} with spaces"',
    ]  # fmt: skip
    requests: list[tuple[RunningBot, SignedRequest]] = [
        (bot, slack_requests.slash_command(owner, text)) for text in commands
    ]
    requests += [(unreachable_bot, slack_requests.slash_command(owner, text)) for text in commands[:3]]
    for target, request in requests:
        assert (await target.send(request))[0] == 200
    await bot.send(slack_requests.slash_command(owner, "ticket new"))
    form = slack.open_views(owner)[-1]
    values = {
        "subject": {"value": f"Key {SECRET}"},
        "category": {"value": "technical"},
        "priority": {"value": {"type": "static_select", "selected_option": {"value": "high"}}},
        "message": {"value": f"My key is\n{SECRET}\nplease rotate it"},
    }
    assert form["callback_id"] == ticket_render.NEW_CALLBACK_ID
    for target in (bot, unreachable_bot):
        assert (await target.send(slack_requests.view_submission(owner, form, values=values)))[0] == 200
    parent = slack.add_message("C0GENERAL", user=owner, text="Which key?")
    message = slack_requests.message_event(owner, "C0GENERAL", f"here it is {SECRET}", thread_ts=parent["ts"])
    for target in (bot, unreachable_bot):
        await target.send(message)

    failures = await logged(json_logs, "slack.listener_failed", count=4)
    await asyncio.sleep(0.5)  # what still runs after the acks logs too
    assert {f.get("slack_command") for f in failures} >= {"/cs wallet topup", "/cs org use", "/cs vps"}
    assert any(e["logger"] == "csbot.bolt" for e in lines(json_logs))  # Bolt's own debug lines were written
    assert SECRET not in json_logs.getvalue()
