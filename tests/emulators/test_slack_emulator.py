"""The Slack emulator driven through the real slack-sdk clients, to prove wire compatibility."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from bot.emulators.slack import SlackEmulator

TOKEN = "xoxb-test-token"
ALICE = "U0ALICE"
BOB = "U0BOB"


class FakeClock:
    """A hand-driven clock so TTLs and pacing are tested without sleeping."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def em(clock: FakeClock) -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(clock=clock) as emulator:
        emulator.add_user(ALICE, name="alice", email="alice@example.com", tz="Europe/Berlin")
        emulator.add_user(BOB, name="bob")
        yield emulator


@pytest.fixture
def client(em: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=em.api_url, retry_handlers=[])


async def _error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value.response["error"]


def _modal(title: str = "Create VPS", *, blocks: int = 1, callback_id: str = "vps_create") -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Create"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"b{i}"}} for i in range(blocks)],
    }


# --- auth, routing ------------------------------------------------------------------------------


async def test_auth_test_reports_bot_identity_and_scopes_header(em: SlackEmulator, client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["user_id"] == "U0CSBOT"
    assert response["bot_id"] == "B0CSBOT"
    assert response["team_id"] == "T0CSBOT01"
    assert response["url"] == "https://containerstacks.slack.com/"
    assert "chat:write" in response.headers["x-oauth-scopes"].split(",")


async def test_wrong_token_gets_invalid_auth(em: SlackEmulator) -> None:
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=em.api_url)
    assert await _error_of(wrong.auth_test()) == "invalid_auth"


async def test_missing_token_gets_not_authed_with_http_200(em: SlackEmulator) -> None:
    async with aiohttp.ClientSession() as session, session.post(f"{em.api_url}auth.test") as response:
        assert response.status == 200
        assert await response.json() == {"ok": False, "error": "not_authed"}


async def test_token_form_param_is_accepted_like_the_header(em: SlackEmulator) -> None:
    form = {"token": TOKEN, "channel": "C0GENERAL", "text": "via form"}
    url = f"{em.api_url}chat.postMessage"
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        body = await response.json()
    assert body["ok"] is True
    assert em.channel_messages("C0GENERAL")[-1]["text"] == "via form"
    assert "token" not in em.calls[-1].args


async def test_unknown_method_returns_unknown_method(client: AsyncWebClient) -> None:
    assert await _error_of(client.api_call("nope.never")) == "unknown_method"


# --- chat ---------------------------------------------------------------------------------------


async def test_post_update_and_replies_show_the_thread_parent_first(em: SlackEmulator, client: AsyncWebClient) -> None:
    root = await client.chat_postMessage(channel="C0GENERAL", text="Ticket #7 opened")
    await client.chat_postMessage(channel="C0GENERAL", text="first update", thread_ts=root["ts"])
    await client.chat_update(channel="C0GENERAL", ts=root["ts"], text="Ticket #7 (in progress)")

    replies = await client.conversations_replies(channel="C0GENERAL", ts=root["ts"])

    assert [m["text"] for m in replies["messages"]] == ["Ticket #7 (in progress)", "first update"]
    assert replies["messages"][0]["reply_count"] == 1
    assert [m["text"] for m in em.channel_messages("C0GENERAL")] == ["Ticket #7 (in progress)"]
    assert em.thread("C0GENERAL", root["ts"])[1]["parent_user_id"] == "U0CSBOT"


async def test_reply_broadcast_also_shows_in_the_channel(em: SlackEmulator, client: AsyncWebClient) -> None:
    root = await client.chat_postMessage(channel="C0GENERAL", text="root")
    await client.chat_postMessage(channel="C0GENERAL", text="loud", thread_ts=root["ts"], reply_broadcast=True)
    assert [m["text"] for m in em.channel_messages("C0GENERAL")] == ["root", "loud"]
    assert em.channel_messages("C0GENERAL")[1]["subtype"] == "thread_broadcast"


async def test_message_ts_strictly_increases_under_a_frozen_clock(client: AsyncWebClient) -> None:
    stamps = []
    for _ in range(3):
        response = await client.chat_postMessage(channel="C0GENERAL", text="same instant")
        stamps.append(response["ts"])
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 3
    assert stamps[0] == "1700000000.000000"


async def test_concurrent_posts_never_share_a_ts(clock: FakeClock) -> None:
    async with SlackEmulator(clock=clock, pace_per_channel=None) as em:
        client = AsyncWebClient(token=TOKEN, base_url=em.api_url)
        responses = await asyncio.gather(
            *(client.chat_postMessage(channel="C0GENERAL", text=str(i)) for i in range(20))
        )
    assert len({r["ts"] for r in responses}) == 20
    assert len(em.channel_messages("C0GENERAL")) == 20


async def test_post_message_accepts_a_channel_name(em: SlackEmulator, client: AsyncWebClient) -> None:
    response = await client.chat_postMessage(channel="#general", text="by name")
    assert response["channel"] == "C0GENERAL"


async def test_metadata_is_stored_on_the_message(em: SlackEmulator, client: AsyncWebClient) -> None:
    metadata = {"event_type": "ticket_synced", "event_payload": {"ticket_id": 7}}
    response = await client.chat_postMessage(channel="C0GENERAL", text="t", metadata=metadata)
    assert em.message("C0GENERAL", response["ts"])["metadata"] == metadata


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C0MISSING", "text": "x"}, "channel_not_found"),
        ({"channel": "C0SECRET", "text": "x"}, "not_in_channel"),
        ({"channel": "C0OLD", "text": "x"}, "is_archived"),
        ({"channel": "C0GENERAL"}, "no_text"),
        ({"channel": "C0GENERAL", "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": "C0GENERAL", "text": "x", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": "C0GENERAL", "text": "x", "thread_ts": "1.000001"}, "cannot_reply_to_message"),
    ],
)
async def test_post_message_rejections_use_slack_error_codes(
    em: SlackEmulator, client: AsyncWebClient, kwargs: dict[str, Any], error: str
) -> None:
    em.add_channel("C0SECRET", name="secret", is_private=True, bot_is_member=False)
    em.add_channel("C0OLD", name="old", is_archived=True)
    # api_call sends the same JSON as chat_postMessage but skips the SDK's own missing-text warning.
    assert await _error_of(client.api_call("chat.postMessage", json=kwargs)) == error


async def test_invalid_blocks_explain_which_block(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0GENERAL", text="x", blocks=[{"type": "section"}, {"text": "?"}])
    problems = [
        "must define either `text` or `fields` [json-pointer:/blocks/0]",
        "missing required field: type [json-pointer:/blocks/1]",
    ]
    assert caught.value.response["errors"] == problems
    assert caught.value.response["response_metadata"]["messages"] == [f"[ERROR] {p}" for p in problems]


async def test_ephemeral_is_seen_only_by_its_recipient(em: SlackEmulator, client: AsyncWebClient) -> None:
    response = await client.chat_postEphemeral(channel="C0GENERAL", user=ALICE, text="only you")
    assert em.ephemerals(ALICE)[0]["ts"] == response["message_ts"]
    assert em.ephemerals(ALICE, "C0GENERAL")[0]["text"] == "only you"
    assert em.ephemerals(BOB) == []
    assert em.channel_messages("C0GENERAL") == []


async def test_ephemeral_to_a_non_member_is_user_not_in_channel(em: SlackEmulator, client: AsyncWebClient) -> None:
    em.add_channel("C0OPS", name="ops", members=[BOB])
    call = client.chat_postEphemeral(channel="C0OPS", user=ALICE, text="x")
    assert await _error_of(call) == "user_not_in_channel"


async def test_updating_a_human_message_is_cant_update_message(em: SlackEmulator, client: AsyncWebClient) -> None:
    human = em.add_message("C0GENERAL", user=ALICE, text="my words")
    assert await _error_of(client.chat_update(channel="C0GENERAL", ts=human["ts"], text="x")) == ("cant_update_message")
    missing = client.chat_update(channel="C0GENERAL", ts="1.000002", text="x")
    assert await _error_of(missing) == "message_not_found"


async def test_delete_and_react_act_on_the_bot_message(em: SlackEmulator, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0GENERAL", text="temp")
    await client.reactions_add(channel="C0GENERAL", timestamp=posted["ts"], name="ticket")
    assert em.message("C0GENERAL", posted["ts"])["reactions"][0]["name"] == "ticket"
    assert await _error_of(client.reactions_add(channel="C0GENERAL", timestamp=posted["ts"], name="ticket")) == (
        "already_reacted"
    )
    await client.chat_delete(channel="C0GENERAL", ts=posted["ts"])
    assert em.channel_messages("C0GENERAL") == []


# --- users and conversations --------------------------------------------------------------------


async def test_users_info_and_lookup_by_email_return_the_profile(client: AsyncWebClient) -> None:
    info = await client.users_info(user=ALICE)
    assert info["user"]["profile"]["email"] == "alice@example.com"
    assert info["user"]["tz"] == "Europe/Berlin"
    looked_up = await client.users_lookupByEmail(email="ALICE@example.com")
    assert looked_up["user"]["id"] == ALICE
    assert await _error_of(client.users_info(user="U0NOBODY")) == "user_not_found"
    assert await _error_of(client.users_lookupByEmail(email="x@example.com")) == "users_not_found"


async def test_conversations_info_hides_private_channels_the_bot_is_not_in(
    em: SlackEmulator, client: AsyncWebClient
) -> None:
    em.add_channel("C0TRIAGE", name="triage", is_private=True, members=[ALICE])
    em.add_channel("C0HIDDEN", name="hidden", is_private=True, bot_is_member=False)
    channel = (await client.conversations_info(channel="C0TRIAGE"))["channel"]
    assert (channel["name"], channel["is_private"], channel["is_member"], channel["is_im"]) == (
        "triage",
        True,
        True,
        False,
    )
    assert await _error_of(client.conversations_info(channel="C0HIDDEN")) == "channel_not_found"


async def test_conversations_open_gives_one_stable_dm_per_user(em: SlackEmulator, client: AsyncWebClient) -> None:
    first = await client.conversations_open(users=ALICE)
    again = await client.conversations_open(users=[ALICE], return_im=True)
    assert first["channel"]["id"] == again["channel"]["id"] == em.dm_channel_id(ALICE)
    assert first["channel"]["id"].startswith("D")
    assert again["channel"]["is_im"] is True
    assert again["already_open"] is True
    await client.chat_postMessage(channel=first["channel"]["id"], text="reminder")
    assert [m["text"] for m in em.dms(ALICE)] == ["reminder"]


async def test_posting_to_a_user_id_lands_in_their_dm(em: SlackEmulator, client: AsyncWebClient) -> None:
    response = await client.chat_postMessage(channel=BOB, text="hello bob")
    assert response["channel"] == em.dm_channel_id(BOB)
    assert em.dms(BOB)[0]["text"] == "hello bob"


async def test_conversations_open_errors(client: AsyncWebClient) -> None:
    assert await _error_of(client.conversations_open(users="U0NOBODY")) == "user_not_found"
    assert await _error_of(client.api_call("conversations.open", params={})) == "users_list_not_supplied"


async def test_replies_of_an_unknown_ts_is_thread_not_found(client: AsyncWebClient) -> None:
    call = client.conversations_replies(channel="C0GENERAL", ts="1.000003")
    assert await _error_of(call) == "thread_not_found"


# --- views --------------------------------------------------------------------------------------


async def test_views_open_update_push_keep_a_stack_and_rotate_the_hash(
    em: SlackEmulator, client: AsyncWebClient
) -> None:
    opened = (await client.views_open(trigger_id=em.new_trigger_id(ALICE), view=_modal("Loading")))["view"]
    updated = (await client.views_update(view_id=opened["id"], hash=opened["hash"], view=_modal("Ready")))["view"]
    pushed = (await client.views_push(trigger_id=em.new_trigger_id(ALICE), view=_modal("Confirm")))["view"]

    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    assert (pushed["root_view_id"], pushed["previous_view_id"]) == (opened["id"], opened["id"])
    assert [v["title"]["text"] for v in em.open_views(ALICE)] == ["Ready", "Confirm"]
    assert {"team_id", "app_id", "bot_id", "state", "private_metadata", "external_id"} <= set(pushed)


async def test_view_ids_never_repeat_across_emulators(em: SlackEmulator, client: AsyncWebClient) -> None:
    """A restarted sandbox must not hand out a view id its database already saw (forms are keyed by it)."""
    first = (await client.views_open(trigger_id=em.new_trigger_id(ALICE), view=_modal()))["view"]["id"]
    async with SlackEmulator(bot_token=TOKEN) as restarted:
        restarted.add_user(ALICE, name="alice")
        again = AsyncWebClient(token=TOKEN, base_url=restarted.api_url, retry_handlers=[])
        second = (await again.views_open(trigger_id=restarted.new_trigger_id(ALICE), view=_modal()))["view"]["id"]
    assert first != second
    assert first.startswith("V") and second.startswith("V")


async def test_views_update_with_a_stale_hash_is_hash_conflict(em: SlackEmulator, client: AsyncWebClient) -> None:
    opened = (await client.views_open(trigger_id=em.new_trigger_id(ALICE), view=_modal()))["view"]
    await client.views_update(view_id=opened["id"], view=_modal("Step 2"))
    stale = client.views_update(view_id=opened["id"], hash=opened["hash"], view=_modal("Step 3"))
    assert await _error_of(stale) == "hash_conflict"


async def test_views_update_by_external_id_and_after_close_is_not_found(
    em: SlackEmulator, client: AsyncWebClient
) -> None:
    definition = {**_modal(), "external_id": "vps-create-42"}
    opened = (await client.views_open(trigger_id=em.new_trigger_id(ALICE), view=definition))["view"]
    await client.views_update(external_id="vps-create-42", view={**_modal("Done"), "external_id": "vps-create-42"})
    assert em.open_views(ALICE)[0]["title"]["text"] == "Done"
    em.close_view(opened["id"])
    assert em.open_views(ALICE) == []
    assert await _error_of(client.views_update(view_id=opened["id"], view=_modal())) == "not_found"


async def test_fourth_view_in_a_stack_is_push_limit_reached(em: SlackEmulator, client: AsyncWebClient) -> None:
    await client.views_open(trigger_id=em.new_trigger_id(ALICE), view=_modal())
    for _ in range(2):
        await client.views_push(trigger_id=em.new_trigger_id(ALICE), view=_modal())
    call = client.views_push(trigger_id=em.new_trigger_id(ALICE), view=_modal())
    assert await _error_of(call) == "push_limit_reached"
    em.clear_views(ALICE)
    assert em.open_views(ALICE) == []


async def test_trigger_id_expires_after_three_seconds_of_the_clock(
    em: SlackEmulator, client: AsyncWebClient, clock: FakeClock
) -> None:
    trigger_id = em.new_trigger_id(ALICE)
    clock.advance(3.5)
    assert await _error_of(client.views_open(trigger_id=trigger_id, view=_modal())) == "expired_trigger_id"


async def test_trigger_id_is_single_use(em: SlackEmulator, client: AsyncWebClient, clock: FakeClock) -> None:
    trigger_id = em.new_trigger_id(ALICE)
    clock.advance(2.9)
    await client.views_open(trigger_id=trigger_id, view=_modal())
    assert await _error_of(client.views_open(trigger_id=trigger_id, view=_modal())) == "exchanged_trigger_id"
    assert await _error_of(client.views_open(trigger_id="123.456.abc", view=_modal())) == "invalid_trigger_id"


async def test_overlong_title_and_too_many_blocks_are_invalid_arguments(
    em: SlackEmulator, client: AsyncWebClient
) -> None:
    view = _modal("A title that is far too long to fit", blocks=101)
    with pytest.raises(SlackApiError) as caught:
        await client.views_open(trigger_id=em.new_trigger_id(ALICE), view=view)
    assert caught.value.response["error"] == "invalid_arguments"
    messages = caught.value.response["response_metadata"]["messages"]
    assert any("/view/title/text" in m for m in messages)
    assert any("/view/blocks" in m for m in messages)


async def test_view_over_250kb_is_view_too_large(em: SlackEmulator, client: AsyncWebClient) -> None:
    view = _modal()
    view["private_metadata"] = ""
    view["blocks"] = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}] * 90
    assert await _error_of(client.views_open(trigger_id=em.new_trigger_id(ALICE), view=view)) == "view_too_large"


async def test_views_publish_keeps_one_home_per_user_with_hash_check(em: SlackEmulator, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "v1"}}]}
    first = (await client.views_publish(user_id=ALICE, view=home))["view"]
    second = (await client.views_publish(user_id=ALICE, view=home, hash=first["hash"]))["view"]
    assert second["id"] == first["id"]
    assert em.home_view(ALICE)["hash"] == second["hash"] == em.home_views[ALICE]["hash"]
    stale = client.views_publish(user_id=ALICE, view=home, hash=first["hash"])
    assert await _error_of(stale) == "hash_conflict"
    assert em.home_view(BOB) is None


# --- faults and pacing --------------------------------------------------------------------------


async def test_post_message_over_pace_gets_429_with_retry_after(
    em: SlackEmulator, client: AsyncWebClient, clock: FakeClock
) -> None:
    for i in range(3):
        await client.chat_postMessage(channel="C0GENERAL", text=f"burst {i}")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0GENERAL", text="too fast")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "1"
    assert caught.value.response["error"] == "ratelimited"
    assert em.rate_limited_count == 1
    await client.chat_postMessage(channel=BOB, text="another channel has its own bucket")
    clock.advance(1.0)
    await client.chat_postMessage(channel="C0GENERAL", text="paced")


async def test_injected_429_is_retried_once_by_the_rate_limit_handler(em: SlackEmulator) -> None:
    em.fail("chat.postMessage", status=429, retry_after=0)
    client = AsyncWebClient(token=TOKEN, base_url=em.api_url, retry_handlers=[AsyncRateLimitErrorRetryHandler()])
    response = await client.chat_postMessage(channel="C0GENERAL", text="eventually")
    assert response["ok"] is True
    assert [c.status for c in em.calls_to("chat.postMessage")] == [429, 200]
    assert em.calls_to("chat.postMessage")[0].response == {"ok": False, "error": "ratelimited"}


async def test_injected_500_is_retried_by_the_server_error_handler(em: SlackEmulator) -> None:
    em.fail("users.info", status=500)
    handler = AsyncServerErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0.01))
    client = AsyncWebClient(token=TOKEN, base_url=em.api_url, retry_handlers=[handler])
    assert (await client.users_info(user=ALICE))["user"]["name"] == "alice"
    assert [c.status for c in em.calls_to("users.info")] == [500, 200]


async def test_injected_503_without_retries_surfaces_the_status(em: SlackEmulator, client: AsyncWebClient) -> None:
    em.fail("conversations.info", status=503, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            await client.conversations_info(channel="C0GENERAL")
        assert caught.value.response.status_code == 503
    assert (await client.conversations_info(channel="C0GENERAL"))["ok"] is True


async def test_injected_error_carries_extra_fields(em: SlackEmulator, client: AsyncWebClient) -> None:
    em.fail("chat.postMessage", error="missing_scope", extra={"needed": "chat:write", "provided": "commands"})
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C0GENERAL", text="x")
    assert caught.value.response.status_code == 200
    assert (caught.value.response["needed"], caught.value.response["provided"]) == ("chat:write", "commands")


async def test_disconnect_fault_drops_the_connection(em: SlackEmulator, client: AsyncWebClient) -> None:
    em.fail("chat.postMessage", disconnect=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.chat_postMessage(channel="C0GENERAL", text="lost")
    assert em.calls_to("chat.postMessage")[0].status == 0
    assert em.channel_messages("C0GENERAL") == []


async def test_disconnect_is_retried_by_the_connection_error_handler(em: SlackEmulator) -> None:
    em.fail("chat.postMessage", disconnect=True)
    handler = AsyncConnectionErrorRetryHandler(interval_calculator=FixedValueRetryIntervalCalculator(0.01))
    client = AsyncWebClient(token=TOKEN, base_url=em.api_url, retry_handlers=[handler])
    assert (await client.chat_postMessage(channel="C0GENERAL", text="again"))["ok"] is True
    assert [c.status for c in em.calls_to("chat.postMessage")] == [0, 200]


async def test_delayed_error_fault_answers_late_with_that_error(em: SlackEmulator, client: AsyncWebClient) -> None:
    em.fail("users.info", error="fatal_error", delay=0.05)
    started = time.monotonic()
    assert await _error_of(client.users_info(user=ALICE)) == "fatal_error"
    assert time.monotonic() - started >= 0.05


async def test_slow_method_delays_until_faults_are_cleared(em: SlackEmulator, client: AsyncWebClient) -> None:
    em.slow("auth.test", 0.2)
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started >= 0.2
    em.clear_faults()
    started = time.monotonic()
    await client.auth_test()
    assert time.monotonic() - started < 0.2


# --- waiting for background work ----------------------------------------------------------------


async def test_wait_for_returns_once_background_work_has_posted(em: SlackEmulator, client: AsyncWebClient) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel="C0GENERAL", text="done")

    task = asyncio.create_task(later())
    calls = await em.wait_for("chat.postMessage", predicate=lambda c: c.args["text"] == "done")
    await task
    assert calls[0].response["message"]["text"] == "done"


async def test_wait_for_times_out_with_a_readable_summary(em: SlackEmulator, client: AsyncWebClient) -> None:
    await _error_of(client.chat_postMessage(channel="C0MISSING", text="x"))
    with pytest.raises(AssertionError) as caught:
        await em.wait_for("chat.postMessage", timeout=0.05)
    assert "error=channel_not_found" in str(caught.value)
    assert "chat.postMessage×1" in str(caught.value)
