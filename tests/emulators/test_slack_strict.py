"""Strict Block Kit validation where Slack applies it: Web API methods, response_urls and answers."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.emulators.slack import AnswerRejected, SlackEmulator, SlackRequestFactory

TOKEN = "xoxb-test-token"
ALICE = "U0ALICE"
LONG_SECTION = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
SECTION_PROBLEM = "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"


def plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def modal(title: str = "Create", **extra: Any) -> dict[str, Any]:
    name = {"type": "input", "block_id": "name", "label": plain("Name"), "element": {"type": "plain_text_input"}}
    return {"type": "modal", "title": plain(title), "submit": plain("Save"), "blocks": [name], **extra}


@pytest.fixture
async def em() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(pace_per_channel=None) as emulator:
        emulator.add_user(ALICE, name="alice")
        emulator.add_channel("C0OPS", name="ops", members=[ALICE])
        yield emulator


@pytest.fixture
def client(em: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=em.api_url, retry_handlers=[])


async def _refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as caught:
        await call
    return dict(caught.value.response.data)


async def test_message_blocks_are_refused_with_slacks_invalid_blocks_shape(client: AsyncWebClient) -> None:
    body = await _refusal(client.chat_postMessage(channel="C0OPS", text="t", blocks=LONG_SECTION))
    assert body == {
        "ok": False,
        "error": "invalid_blocks",
        "errors": [SECTION_PROBLEM],
        "response_metadata": {"messages": [f"[ERROR] {SECTION_PROBLEM}"]},
    }


async def test_ephemeral_and_update_are_held_to_the_same_rules(client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C0OPS", text="t")
    ephemeral = client.chat_postEphemeral(channel="C0OPS", user=ALICE, text="t", blocks=LONG_SECTION)
    update = client.chat_update(channel="C0OPS", ts=posted["ts"], text="t", blocks=LONG_SECTION)
    assert (await _refusal(ephemeral))["error"] == "invalid_blocks"
    assert (await _refusal(update))["errors"] == [SECTION_PROBLEM]


async def test_text_of_exactly_forty_thousand_characters_is_accepted(client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel="C0OPS", text="x" * 40_000)
    body = await _refusal(client.api_call("chat.postMessage", json={"channel": "C0OPS", "text": "x" * 40_001}))
    assert body["error"] == "msg_too_long"


async def test_views_answer_invalid_arguments_with_flagged_messages(em: SlackEmulator, client: AsyncWebClient) -> None:
    home = client.views_publish(user_id=ALICE, view={"type": "home", "blocks": LONG_SECTION})
    assert (await _refusal(home))["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/view/blocks/0/text/text]"
    ]
    opened = (await client.views_open(trigger_id=em.new_trigger_id(ALICE), view=modal()))["view"]
    body = await _refusal(client.views_update(view_id=opened["id"], view={**modal(), "submit": None}))
    assert body["error"] == "invalid_arguments"
    pushed = client.views_push(trigger_id=em.new_trigger_id(ALICE), view=modal("A title well over the limit"))
    assert (
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
        in (await _refusal(pushed))["response_metadata"]["messages"]
    )


async def test_response_url_refuses_invalid_blocks_and_records_why(em: SlackEmulator) -> None:
    url = em.new_response_url("C0OPS", ALICE)
    response = await AsyncWebhookClient(url).send(text="t", blocks=LONG_SECTION)
    assert (response.status_code, response.body) == (400, "invalid_blocks")
    assert em.responses[-1].problems == (SECTION_PROBLEM,)
    assert em.ephemerals(ALICE) == []


async def test_lenient_emulator_accepts_what_only_full_validation_refuses() -> None:
    async with SlackEmulator(pace_per_channel=None, strict_blocks=False) as em:
        client = AsyncWebClient(token=TOKEN, base_url=em.api_url, retry_handlers=[])
        await client.chat_postMessage(channel="C0GENERAL", text="t", blocks=LONG_SECTION)
        too_many = [{"type": "divider"}] * 51
        assert (await _refusal(client.chat_postMessage(channel="C0GENERAL", text="t", blocks=too_many)))[
            "error"
        ] == "invalid_blocks"


# --- the bot's answers, as Slack reads them -----------------------------------------------------


@pytest.fixture
def factory(em: SlackEmulator) -> SlackRequestFactory:
    return SlackRequestFactory("s3cret", emulator=em)


def test_a_valid_modal_update_answer_is_accepted_and_recorded(em: SlackEmulator, factory: SlackRequestFactory) -> None:
    request = factory.view_submission(ALICE, modal(), values={"name": {"value": "web-1"}})
    request.answered(200, f'{{"response_action": "update", "view": {_json(modal("Done"))}}}')
    assert [(a.kind, a.accepted) for a in em.answers] == [("view_submission", True)]


def test_an_invalid_modal_in_an_answer_is_rejected(em: SlackEmulator, factory: SlackRequestFactory) -> None:
    request = factory.view_submission(ALICE, modal(), values={"name": {"value": "web-1"}})
    with pytest.raises(AnswerRejected, match=r"/view/title/text"):
        request.answered(200, f'{{"response_action": "push", "view": {_json(modal("x" * 25))}}}')
    assert em.answers[-1].problems == ("must be less than 25 characters [json-pointer:/view/title/text]",)


def test_errors_must_name_input_blocks_of_the_submitted_view(factory: SlackRequestFactory) -> None:
    request = factory.view_submission(ALICE, modal(), values={"name": {"value": "web-1"}})
    request.answered(200, '{"response_action": "errors", "errors": {"name": "Taken"}}')
    with pytest.raises(AnswerRejected, match="no input block with this block_id"):
        request.answered(200, '{"response_action": "errors", "errors": {"label": "Taken"}}')


def test_a_slash_command_answer_is_a_message(factory: SlackRequestFactory) -> None:
    request = factory.slash_command(ALICE, "help")
    request.answered(200, "")
    request.answered(200, "plain text is shown as is")
    request.answered(401, '{"error": "invalid request"}')  # the transport's business, not Block Kit's
    with pytest.raises(AnswerRejected, match=r"json-pointer:/blocks/0/text/text"):
        request.answered(200, _json({"text": "t", "blocks": LONG_SECTION}))


def test_options_answers_and_ignored_bodies(em: SlackEmulator, factory: SlackRequestFactory) -> None:
    options = [{"text": plain(f"o{i}"), "value": str(i)} for i in range(101)]
    suggestion = factory.block_suggestion(ALICE, "pick", "o", block_id="b", view=modal())
    with pytest.raises(AnswerRejected, match="no more than 100 items"):
        suggestion.answered(200, _json({"options": options}))
    factory.block_actions(ALICE, [{"action_id": "x"}]).answered(200, "anything at all")
    assert em.answers[-1].accepted


def _json(value: Any) -> str:
    return json.dumps(value)


def test_the_answer_to_a_tampered_request_is_not_read(em: SlackEmulator, factory: SlackRequestFactory) -> None:
    request = factory.view_submission(ALICE, modal(), values={"name": {"value": "web-1"}})
    broken = dataclasses.replace(request, body=request.body[:-5])
    broken.answered(401, '{"error": "invalid request"}')
    assert [(a.kind, a.accepted) for a in em.answers] == [("unreadable", True)]
