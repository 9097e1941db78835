"""Signed inbound requests: checked by slack-sdk's SignatureVerifier and by a real Bolt AsyncApp."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.emulators.slack import SignedRequest, SlackEmulator, SlackRequestFactory, sign, tamper, with_signature

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ALICE = "U0ALICE"
DEFINITION = {"type": "modal", "callback_id": "vps_create", "blocks": []}  # what an app sends to views.open
VIEW = {"id": "V0CS00001", **DEFINITION}  # what Slack echoes back in payloads


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class _VerifierClock(Clock):
    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def factory(clock: FakeClock) -> SlackRequestFactory:
    return SlackRequestFactory(SECRET, clock=clock)


@pytest.fixture
def verifier(clock: FakeClock) -> SignatureVerifier:
    return SignatureVerifier(SECRET, clock=_VerifierClock(clock))


@pytest.fixture
async def em() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        emulator.add_user(ALICE, name="alice")
        yield emulator


BUILDERS: dict[str, Callable[[SlackRequestFactory], SignedRequest]] = {
    "slash_command": lambda f: f.slash_command(ALICE, "vps list"),
    "block_actions_message": lambda f: f.block_actions(ALICE, [{"action_id": "a"}], channel_id="C0GENERAL"),
    "block_actions_view": lambda f: f.block_actions(ALICE, [{"action_id": "a"}], view=VIEW),
    "view_submission": lambda f: f.view_submission(ALICE, VIEW, values={"name": {"input": "web-1"}}),
    "view_closed": lambda f: f.view_closed(ALICE, VIEW, is_cleared=True),
    "message_shortcut": lambda f: f.message_shortcut(
        ALICE, "ticket_from_message", channel_id="C0GENERAL", message={"ts": "1.000100", "text": "help"}
    ),
    "global_shortcut": lambda f: f.global_shortcut(ALICE, "new_ticket"),
    "block_suggestion": lambda f: f.block_suggestion(ALICE, "org_select", "acm", block_id="org", view=VIEW),
    "event": lambda f: f.event({"type": "reaction_added", "user": ALICE}),
    "message_event": lambda f: f.message_event(ALICE, "C0GENERAL", "hello"),
    "app_mention": lambda f: f.app_mention(ALICE, "C0GENERAL", "status"),
    "app_home_opened": lambda f: f.app_home_opened(ALICE),
    "url_verification": lambda f: f.url_verification("challenge-token"),
    "ssl_check": lambda f: f.ssl_check(),
}


def test_sign_matches_slack_sdk_signature_verifier() -> None:
    body = b"token=x&text=%2Fcs+help"
    expected = SignatureVerifier(SECRET).generate_signature(timestamp="1700000000", body=body)
    assert sign(SECRET, body, 1_700_000_000) == expected


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_builder_is_accepted_and_its_forgeries_rejected(
    name: str, factory: SlackRequestFactory, verifier: SignatureVerifier
) -> None:
    request = BUILDERS[name](factory)
    assert verifier.is_valid_request(request.body, request.headers)
    assert request.headers["Content-Type"] == request.content_type
    assert not verifier.is_valid_request(tamper(request).body, request.headers)
    stale = factory.stale(request)
    assert verifier.generate_signature(timestamp=str(stale.timestamp), body=stale.body) == stale.signature
    assert not verifier.is_valid_request(stale.body, stale.headers)
    foreign = with_signature(request, sign("another-secret", request.body, request.timestamp))
    assert not verifier.is_valid_request(foreign.body, foreign.headers)


def test_timestamp_override_signs_with_that_time(factory: SlackRequestFactory) -> None:
    request = factory.slash_command(ALICE, timestamp=1_600_000_000)
    assert request.timestamp == 1_600_000_000
    assert request.signature == sign(SECRET, request.body, 1_600_000_000)


def test_slash_command_is_a_flat_form_with_slacks_fields(clock: FakeClock) -> None:
    grid = SlackRequestFactory(SECRET, enterprise_id="E0CS", clock=clock)
    request = grid.slash_command(ALICE, "vps create  web-1", channel_id="C0OPS", channel_name="ops")
    fields = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
    assert request.content_type == "application/x-www-form-urlencoded"
    assert list(fields) == [
        "token",
        "team_id",
        "team_domain",
        "enterprise_id",
        "enterprise_name",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ]
    assert (fields["command"], fields["text"], fields["channel_name"]) == ("/cs", "vps create  web-1", "ops")
    assert b"command=%2Fcs" in request.body


def test_block_actions_from_a_view_has_a_view_container_and_no_response_url(
    factory: SlackRequestFactory,
) -> None:
    payload = factory.block_actions(ALICE, [{"action_id": "refresh"}], view=VIEW).payload()
    assert payload["container"] == {"type": "view", "view_id": "V0CS00001"}
    assert payload["view"]["callback_id"] == "vps_create"
    assert "response_url" not in payload
    assert "channel" not in payload


def test_block_actions_from_a_message_carries_message_channel_and_response_url(
    factory: SlackRequestFactory,
) -> None:
    message = {"type": "message", "ts": "1700000000.000100", "text": "Approve?"}
    payload = factory.block_actions(
        ALICE, [{"action_id": "approve", "value": "42"}], channel_id="C0GENERAL", message=message
    ).payload()
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "C0GENERAL",
        "is_ephemeral": False,
    }
    assert payload["message"] == message
    assert payload["channel"] == {"id": "C0GENERAL", "name": "general"}
    assert payload["response_url"].startswith("https://hooks.slack.com/")
    assert {"action_ts", "block_id", "type"} <= set(payload["actions"][0])


def test_view_submission_fills_state_values(factory: SlackRequestFactory) -> None:
    values = {
        "name": {"input": "web-1"},
        "plan": {"select": {"type": "static_select", "selected_option": {"value": "g6-nanode-1"}}},
    }
    view = factory.view_submission(ALICE, VIEW, values=values).payload()["view"]
    assert view["state"]["values"]["name"]["input"] == {"type": "plain_text_input", "value": "web-1"}
    assert view["state"]["values"]["plan"]["select"]["selected_option"]["value"] == "g6-nanode-1"
    assert (view["id"], view["hash"].split(".")[0]) == ("V0CS00001", "1700000000")


def test_event_envelope_has_slacks_fields_and_retry_headers(factory: SlackRequestFactory) -> None:
    request = factory.event({"type": "reaction_added"}, retry_num=2, retry_reason="http_timeout")
    envelope = request.payload()
    assert request.content_type == "application/json"
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"].startswith("Ev")
    assert envelope["event_time"] == 1_700_000_000
    assert envelope["authorizations"][0]["user_id"] == "U0CSBOT"
    assert {"token", "team_id", "api_app_id", "is_ext_shared_channel", "event_context"} <= set(envelope)
    assert (request.headers["X-Slack-Retry-Num"], request.headers["X-Slack-Retry-Reason"]) == ("2", "http_timeout")
    assert "X-Slack-Retry-Num" not in factory.event({"type": "reaction_added"}).headers


def test_generated_event_ids_differ_but_a_given_one_is_kept(factory: SlackRequestFactory) -> None:
    first, second = (factory.event({"type": "x"}).payload()["event_id"] for _ in range(2))
    assert first != second
    assert factory.event({"type": "x"}, event_id="Ev0DUPLICATE").payload()["event_id"] == "Ev0DUPLICATE"


def test_app_mention_prefixes_the_bot_mention(factory: SlackRequestFactory) -> None:
    event = factory.app_mention(ALICE, "C0GENERAL", "status please").payload()["event"]
    assert event["text"] == "<@U0CSBOT> status please"


def test_url_verification_and_ssl_check_use_slacks_encodings(factory: SlackRequestFactory) -> None:
    assert factory.url_verification("abc").payload()["challenge"] == "abc"
    assert factory.ssl_check().payload()["ssl_check"] == "1"


async def test_thread_reply_event_is_also_stored_in_the_emulator(em: SlackEmulator) -> None:
    factory = SlackRequestFactory(SECRET, emulator=em)
    root = em.add_message("C0GENERAL", user=ALICE, text="my VPS is down")
    event = factory.message_event(ALICE, "C0GENERAL", "still down", thread_ts=root["ts"]).payload()["event"]
    assert (event["thread_ts"], event["parent_user_id"]) == (root["ts"], ALICE)
    assert [m["text"] for m in em.thread("C0GENERAL", root["ts"])] == ["my VPS is down", "still down"]


async def test_emulator_issued_trigger_opens_a_modal(em: SlackEmulator) -> None:
    factory = SlackRequestFactory(SECRET, emulator=em)
    trigger_id = factory.global_shortcut(ALICE, "new_ticket").payload()["trigger_id"]
    client = AsyncWebClient(token="xoxb-test-token", base_url=em.api_url)
    await client.views_open(trigger_id=trigger_id, view={**DEFINITION, "title": {"type": "plain_text", "text": "T"}})
    assert em.open_views(ALICE)[0]["callback_id"] == "vps_create"


# --- the real Bolt app against the emulator ------------------------------------------------------


def _bolt_app(em: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> AsyncApp:
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    client = AsyncWebClient(token=em.identity.bot_token, base_url=em.api_url)
    return AsyncApp(signing_secret=SECRET, client=client)


async def _dispatch(app: AsyncApp, request: SignedRequest) -> Any:
    return await app.async_dispatch(AsyncBoltRequest(body=request.body.decode(), headers=request.headers))


async def test_bolt_app_handles_a_signed_command_opening_a_modal_and_responding(
    em: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _bolt_app(em, monkeypatch)

    @app.command("/cs")
    async def cs(ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack()
        await client.views_open(
            trigger_id=body["trigger_id"], view={**DEFINITION, "title": {"type": "plain_text", "text": "New VPS"}}
        )
        await respond(text="Opening the form…")

    factory = SlackRequestFactory(SECRET, emulator=em)
    response = await _dispatch(app, factory.slash_command(ALICE, "vps create"))

    assert response.status == 200
    await em.wait_for("views.open")
    for _ in range(3000):  # up to 30 s: only a failing run waits that long
        if em.responses:
            break
        await asyncio.sleep(0.01)
    assert em.open_views(ALICE)[0]["title"]["text"] == "New VPS"
    assert [m["text"] for m in em.ephemerals(ALICE)] == ["Opening the form…"]
    assert len(em.calls_to("auth.test")) == 1


async def test_bolt_app_rejects_tampered_and_stale_requests(em: SlackEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _bolt_app(em, monkeypatch)
    factory = SlackRequestFactory(SECRET, emulator=em)
    request = factory.slash_command(ALICE, "help")
    assert (await _dispatch(app, tamper(request))).status == 401
    assert (await _dispatch(app, factory.stale(request))).status == 401


async def test_bolt_app_replies_in_thread_to_a_message_event(
    em: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _bolt_app(em, monkeypatch)

    @app.message("help")
    async def on_help(message: dict[str, Any], say: Any) -> None:
        await say(text="Try `/cs help`", thread_ts=message["ts"])

    factory = SlackRequestFactory(SECRET, emulator=em)
    request = factory.message_event(ALICE, "C0GENERAL", "help me")
    assert (await _dispatch(app, request)).status == 200
    await em.wait_for("chat.postMessage")
    root_ts = request.payload()["event"]["ts"]
    assert [m["text"] for m in em.thread("C0GENERAL", root_ts)] == ["help me", "Try `/cs help`"]
