"""response_url hooks driven through slack-sdk's AsyncWebhookClient, which is what Bolt's respond() uses."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.emulators.slack import SlackEmulator, SlackRequestFactory

ALICE = "U0ALICE"


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def em(clock: FakeClock) -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(clock=clock) as emulator:
        emulator.add_user(ALICE, name="alice")
        yield emulator


@pytest.fixture
def factory(em: SlackEmulator, clock: FakeClock) -> SlackRequestFactory:
    return SlackRequestFactory("s3cret", emulator=em, clock=clock)


async def test_ephemeral_response_is_seen_by_the_caller_and_answered_ok(em: SlackEmulator) -> None:
    url = em.new_response_url("C0GENERAL", ALICE)
    response = await AsyncWebhookClient(url).send(text="Your VPS is booting", response_type="ephemeral")
    assert (response.status_code, response.body) == (200, "ok")
    assert [m["text"] for m in em.ephemerals(ALICE, "C0GENERAL")] == ["Your VPS is booting"]
    assert em.responses[0].payload == {"text": "Your VPS is booting", "response_type": "ephemeral"}


async def test_in_channel_response_posts_a_channel_message_in_the_thread(em: SlackEmulator) -> None:
    root = em.add_message("C0GENERAL", user=ALICE, text="help")
    url = em.new_response_url("C0GENERAL", ALICE)
    await AsyncWebhookClient(url).send_dict({"text": "on it", "response_type": "in_channel", "thread_ts": root["ts"]})
    assert [m["text"] for m in em.thread("C0GENERAL", root["ts"])] == ["help", "on it"]


async def test_sixth_post_to_a_response_url_is_refused(em: SlackEmulator) -> None:
    client = AsyncWebhookClient(em.new_response_url("C0GENERAL", ALICE))
    statuses = [(await client.send(text=f"update {i}")).status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]
    assert em.responses[-1].body == "expired_url"
    assert len(em.ephemerals(ALICE)) == 5


async def test_response_url_expires_after_thirty_minutes(em: SlackEmulator, clock: FakeClock) -> None:
    client = AsyncWebhookClient(em.new_response_url("C0GENERAL", ALICE))
    clock.now += 30 * 60 + 1
    response = await client.send(text="too late")
    assert (response.status_code, response.body) == (404, "expired_url")


async def test_unknown_response_url_is_not_found(em: SlackEmulator) -> None:
    response = await AsyncWebhookClient(f"{em.base_url}/response/nope").send(text="x")
    assert response.status_code == 404


async def test_replace_original_rewrites_the_clicked_ephemeral(em: SlackEmulator, factory: SlackRequestFactory) -> None:
    client = AsyncWebClient(token="xoxb-test-token", base_url=em.api_url)
    posted = await client.chat_postEphemeral(channel="C0GENERAL", user=ALICE, text="Destroy vps-1?")
    ephemeral = em.ephemerals(ALICE)[0]
    click = factory.block_actions(ALICE, [{"action_id": "vps_destroy_confirm", "value": "vps-1"}], message=ephemeral)
    payload = click.payload()
    assert "message" not in payload
    assert payload["container"]["is_ephemeral"] is True

    await AsyncWebhookClient(payload["response_url"]).send(text="Destroying vps-1…", replace_original=True)

    assert [(m["ts"], m["text"]) for m in em.ephemerals(ALICE)] == [(posted["message_ts"], "Destroying vps-1…")]


async def test_delete_original_removes_the_clicked_channel_message(
    em: SlackEmulator, factory: SlackRequestFactory
) -> None:
    client = AsyncWebClient(token="xoxb-test-token", base_url=em.api_url)
    posted = await client.chat_postMessage(channel="C0GENERAL", text="Approve refund?")
    click = factory.block_actions(ALICE, [{"action_id": "refund_approve"}], message=posted["message"])
    await AsyncWebhookClient(click.payload()["response_url"]).send(delete_original=True)
    assert em.channel_messages("C0GENERAL") == []


async def test_replace_original_after_a_slash_command_posts_a_new_ephemeral(
    em: SlackEmulator, factory: SlackRequestFactory
) -> None:
    url = factory.slash_command(ALICE, "vps list").payload()["response_url"]
    await AsyncWebhookClient(url).send(text="3 servers", replace_original=True)
    assert [m["text"] for m in em.ephemerals(ALICE)] == ["3 servers"]


async def test_response_url_fault_returns_the_injected_status(em: SlackEmulator) -> None:
    em.fail("response_url", status=500)
    client = AsyncWebhookClient(em.new_response_url("C0GENERAL", ALICE))
    assert (await client.send(text="x")).status_code == 500
    assert (await client.send(text="x")).status_code == 200
