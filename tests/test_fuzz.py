"""Fuzzing the HTTP surface with Hypothesis: never a 500, never a write on rejection, always an answer.

The real app and the Slack emulator run in their own event loop on a background thread, so
Hypothesis (which is synchronous) can drive them with really signed requests.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.app import AppOptions
from bot.db.engine import create_engine
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.emulators.slack.signing import sign
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, make_settings, start_bot

T = TypeVar("T")
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
#: What an HTTP client can put in a header value (aiohttp refuses control characters, as it should).
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
PAYLOAD_KEYS = ["type", "user", "actions", "view", "team", "channel", "container", "trigger_id", "response_url"]
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
JSON = st.recursive(
    JSON_LEAF,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


class LiveBot:
    """The real app on a background loop; `call` runs a coroutine there and waits for it."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.database_url = database_url
        self.call(self._start())

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    async def _start(self) -> None:
        self.slack = SlackEmulator(bot_token=BOT_TOKEN)
        await self.slack.start()
        self.factory = SlackRequestFactory(SIGNING_SECRET, emulator=self.slack)
        settings_ = make_settings(self.database_url, self.slack)
        self.runner, self.url = await start_bot(settings_, self.database_url, AppOptions(run_workers=False))
        self.session = aiohttp.ClientSession()
        self.engine = create_engine(self.database_url, pool_size=1, max_overflow=0)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        async with self.session.post(self.url + path, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def count(self, table: str) -> int:
        async with self.engine.connect() as conn:
            return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())

    async def _stop(self) -> None:
        await self.session.close()
        await self.runner.cleanup()
        await self.slack.stop()
        await self.engine.dispose()

    def close(self) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def live(database_url: str) -> Iterator[LiveBot]:
    bot = LiveBot(database_url)
    yield bot
    bot.close()


def signed_form(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = urlencode(fields).encode()
    ts = int(time.time())
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(SIGNING_SECRET, body, ts),
    }


@FUZZ
@given(command_text=st.text(max_size=400))
def test_any_slash_command_text_gets_a_clear_answer(live: LiveBot, command_text: str) -> None:
    request = live.factory.slash_command("U0FUZZER", command_text)
    status, body = live.call(live.post("/slack/events", request.body, request.headers))
    assert status == 200, body
    assert body  # an answer (help, suggestion, link prompt or refusal), never silence


@FUZZ
@given(payload=st.dictionaries(st.sampled_from(PAYLOAD_KEYS), JSON, max_size=6))
def test_arbitrary_interactive_payloads_never_fail_with_a_500(live: LiveBot, payload: dict[str, Any]) -> None:
    body, headers = signed_form({"payload": json.dumps(payload)})
    status, _ = live.call(live.post("/slack/events", body, headers))
    assert status < 500


@FUZZ
@given(action_id=st.text(max_size=40), value=st.text(max_size=200))
def test_unknown_or_garbled_button_clicks_are_answered(live: LiveBot, action_id: str, value: str) -> None:
    request = live.factory.block_actions(
        "U0FUZZER",
        [{"action_id": action_id, "block_id": "b", "type": "button", "value": value}],
        channel_id="C0GENERAL",
    )
    status, _ = live.call(live.post("/slack/events", request.body, request.headers))
    assert status == 200


@FUZZ
@given(callback_id=st.text(max_size=40), values=st.dictionaries(st.text(max_size=10), st.text(max_size=60), max_size=3))
def test_modal_submissions_with_garbage_never_fail_with_a_500(
    live: LiveBot, callback_id: str, values: dict[str, str]
) -> None:
    view = {"id": "V0FUZZ", "callback_id": callback_id, "private_metadata": "{not json", "type": "modal"}
    request = live.factory.view_submission("U0FUZZER", view, values={k or "b": {"a": v} for k, v in values.items()})
    status, _ = live.call(live.post("/slack/events", request.body, request.headers))
    assert status < 500


@FUZZ
@given(body=st.binary(max_size=2000), headers=st.dictionaries(
    st.sampled_from(["PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG",
                     "PAYPAL-CERT-URL", "PAYPAL-AUTH-ALGO", "Content-Type"]), HEADER_TEXT, max_size=6))  # fmt: skip
def test_paypal_webhook_garbage_is_rejected_without_storing_anything(
    live: LiveBot, body: bytes, headers: dict[str, str]
) -> None:
    before = live.call(live.count("bot_paypal_events"))
    status, _ = live.call(live.post("/webhooks/paypal", body, headers))
    assert status == 400
    assert live.call(live.count("bot_paypal_events")) == before


@FUZZ
@given(body=st.binary(max_size=2000), timestamp=HEADER_TEXT, signature=HEADER_TEXT)
def test_unsigned_or_badly_signed_slack_requests_are_401_and_write_nothing(
    live: LiveBot, body: bytes, timestamp: str, signature: str
) -> None:
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/json",
    }
    before = live.call(live.count("bot_slack_events"))
    status, _ = live.call(live.post("/slack/events", body, headers))
    assert status == 401
    assert live.call(live.count("bot_slack_events")) == before
