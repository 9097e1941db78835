"""Signed Slack requests through the real aiohttp server and Bolt app, answered via the emulator."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace

import pytest
from slack_bolt.context.ack.async_ack import AsyncAck
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app_keys import BOLT, SERVICES
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering.errors import INTERNAL_ERROR
from bot.rendering.escape import escape_mrkdwn
from bot.rendering.help import HELP_POINTER, HELP_TITLE
from handlers.commands import build_table
from handlers.errors import guarded
from tests.conftest import RunningBot


async def test_help_is_answered_ephemerally_within_slacks_deadline(
    bot: RunningBot, slack_requests: SlackRequestFactory
) -> None:
    started = time.monotonic()
    status, body = await bot.send(slack_requests.slash_command("U0ALICE", "help"))
    elapsed = time.monotonic() - started
    assert status == 200
    answer = json.loads(body)
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"] == HELP_TITLE
    for spec in build_table().specs:  # as Slack shows it: `<slug>` stays text; staff commands to staff only
        assert (escape_mrkdwn(f"/cs {spec.usage}") in body) is not spec.staff_only, spec.usage
    assert elapsed < 3.0  # Slack's ack deadline, not a performance target


async def test_bare_command_shows_help(bot: RunningBot, slack_requests: SlackRequestFactory) -> None:
    status, body = await bot.send(slack_requests.slash_command("U0ALICE", ""))
    assert status == 200
    assert HELP_TITLE in body


async def test_unknown_subcommand_suggests_the_closest_and_points_to_help(
    bot: RunningBot, slack_requests: SlackRequestFactory
) -> None:
    status, body = await bot.send(slack_requests.slash_command("U0ALICE", "hepl me"))
    answer = json.loads(body)
    assert status == 200
    assert "Did you mean `/cs help [topic]`?" in answer["text"]
    assert HELP_POINTER.format(command="/cs") in answer["text"]


async def test_bad_signature_is_rejected_before_any_listener(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    request = slack_requests.slash_command("U0ALICE", "help")
    status, _ = await bot.send(slack_requests.tamper(request))
    assert status == 401
    status, _ = await bot.send(slack_requests.with_signature(request, "v0=" + "0" * 64))
    assert status == 401
    assert slack.calls == []  # not even auth.test: nothing past signature verification ran


async def test_stale_timestamp_is_rejected(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    stale = slack_requests.slash_command("U0ALICE", "help", timestamp=int(time.time()) - 301)
    status, _ = await bot.send(stale)
    assert status == 401
    assert slack.calls == []


async def test_unsigned_event_is_not_recorded(
    bot: RunningBot, engine: AsyncEngine, slack_requests: SlackRequestFactory
) -> None:
    event = slack_requests.message_event("U0ALICE", "C0GENERAL", "hi")
    forged = replace(event, headers={k: v for k, v in event.headers.items() if k != "X-Slack-Signature"})
    status, _ = await bot.send(forged)
    assert status == 401
    event_id = json.loads(event.body)["event_id"]
    async with engine.connect() as conn:
        stored = await conn.execute(text("SELECT 1 FROM bot_slack_events WHERE event_id = :e"), {"e": event_id})
    assert stored.first() is None


async def test_url_verification_echoes_the_challenge(bot: RunningBot, slack_requests: SlackRequestFactory) -> None:
    status, body = await bot.send(
        slack_requests.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
    )
    assert status == 200
    assert json.loads(body) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_retried_event_is_processed_once(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    """Slack's retries of one @mention (same event id) get one answer, not four."""
    original = slack_requests.app_mention("U0ALICE", "C0GENERAL", "hi", event_id="Ev0RETRIED01")
    event = json.loads(original.body)["event"]
    retries = [
        slack_requests.event(event, event_id="Ev0RETRIED01", retry_num=n, retry_reason="http_timeout")
        for n in (1, 2, 3)
    ]
    statuses = await asyncio.gather(*(bot.send(r) for r in [original, *retries]))
    assert [s for s, _ in statuses] == [200, 200, 200, 200]
    await asyncio.sleep(0.3)
    answers = [c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == event["ts"]]
    assert len(answers) == 1


async def test_unhandled_events_are_acked_so_slack_does_not_retry(
    bot: RunningBot, slack_requests: SlackRequestFactory
) -> None:
    status, _ = await bot.send(slack_requests.message_event("U0ALICE", "C0GENERAL", "just chatting"))
    assert status == 200


async def test_listener_failure_answers_with_a_reference_that_is_logged(
    bot: RunningBot, slack_requests: SlackRequestFactory, caplog: pytest.LogCaptureFixture
) -> None:
    @bot.app[BOLT].command("/boom")
    async def explode() -> None:
        raise ZeroDivisionError("kaboom")

    with caplog.at_level(logging.ERROR, logger="csbot.slack"):
        status, body = await bot.send(slack_requests.slash_command("U0ALICE", "", command="/boom"))
    assert status == 200
    answer = json.loads(body)
    assert answer["response_type"] == "ephemeral"
    ref = answer["text"].split("`")[-2]
    assert ref.startswith("ERR-")
    assert INTERNAL_ERROR.format(ref=ref) == answer["text"]
    assert "kaboom" not in body
    failures = [r for r in caplog.records if r.getMessage() == "slack.listener_failed"]
    assert [getattr(r, "ref", None) for r in failures] == [ref]


async def test_failure_after_ack_reaches_the_user_through_response_url(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    @bot.app[BOLT].action("explode_later")
    @guarded(bot.app[SERVICES])
    async def explode_later(ack: AsyncAck, body: dict[str, object], client: object) -> None:
        await ack()
        raise RuntimeError("after ack")

    request = slack_requests.block_actions(
        "U0ALICE",
        [{"action_id": "explode_later", "block_id": "b", "type": "button", "value": "x"}],
        channel_id="C0GENERAL",
    )
    status, _ = await bot.send(request)
    assert status == 200
    async with asyncio.timeout(5):
        while not slack.responses:
            await asyncio.sleep(0.02)
    reply = slack.responses[-1].payload
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert "ERR-" in reply["text"]


async def test_oversized_body_is_refused(bot: RunningBot, slack_requests: SlackRequestFactory) -> None:
    huge = slack_requests.slash_command("U0ALICE", "x" * (1024 * 1024 + 10))
    status, _ = await bot.send(huge)
    assert status == 413
