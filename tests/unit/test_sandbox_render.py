"""The sandbox's Block Kit renderer: readable text, numbered buttons and inputs, never a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.sandbox.console import ConsoleError, parse_duration
from bot.sandbox.render import DIVIDER, Renderer, initial_value, mrkdwn

USERS = {"U0ALICE01": "alice"}
CHANNELS = {"C0SUPPORT": "support"}


def renderer() -> Renderer:
    return Renderer(users=USERS.get, channels=CHANNELS.get)


def test_mrkdwn_links_mentions_bold_and_entities() -> None:
    text = (
        "*Balance* for <@U0ALICE01> in <#C0SUPPORT>: <https://pay.example/x?a=1&amp;b=2|Pay now> "
        "or <https://example.test> &lt;ok&gt; &amp; <!here> <@U0UNKNOWN>"
    )
    assert mrkdwn(text, USERS.get, CHANNELS.get) == (
        "Balance for @alice in #support: Pay now (https://pay.example/x?a=1&b=2) "
        "or https://example.test <ok> & @here @U0UNKNOWN"
    )


def test_mrkdwn_keeps_lone_asterisks_and_labelled_mentions() -> None:
    assert mrkdwn("2 * 3 = 6, a*b, <#C123|ops>") == "2 * 3 = 6, a*b, #ops"


def test_message_with_header_section_fields_context_divider_and_buttons() -> None:
    r = renderer()
    message = {
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Wallet of Acme"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "Top up *Acme*?"},
                "fields": [
                    {"type": "mrkdwn", "text": "*Balance*\n$25.00"},
                    {"type": "mrkdwn", "text": "*Runway*\n3 days"},
                ],
                "accessory": {"type": "button", "action_id": "more", "text": {"type": "plain_text", "text": "More"}},
            },
            {"type": "divider"},
            {
                "type": "actions",
                "block_id": "topup",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "ok",
                        "value": "t1",
                        "text": {"type": "plain_text", "text": "Confirm"},
                    },
                    {
                        "type": "button",
                        "action_id": "no",
                        "style": "danger",
                        "text": {"type": "plain_text", "text": "Cancel"},
                    },
                    {
                        "type": "button",
                        "action_id": "pay",
                        "url": "https://paypal.test/c?t=1",
                        "text": {"type": "plain_text", "text": "Pay"},
                    },
                ],
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "`/cs wallet`"}, {"type": "image", "alt_text": "logo"}],
            },
        ],
    }
    lines = r.message(message, source="msg")
    assert lines == [
        "== Wallet of Acme ==",
        "Top up Acme?",
        "  • Balance: $25.00",
        "  • Runway: 3 days   [1] More",
        DIVIDER,
        "[2] Confirm  [3] Cancel (danger)  [4] Pay → https://paypal.test/c?t=1",
        "  `/cs wallet` · [logo]",
    ]
    confirm = r.clickables[1]
    assert (confirm.number, confirm.label, confirm.source) == (2, "Confirm", "msg")
    assert confirm.action() == {
        "type": "button",
        "action_id": "ok",
        "block_id": "topup",
        "text": {"type": "plain_text", "text": "Confirm"},
        "value": "t1",
    }
    assert r.clickables[3].url == "https://paypal.test/c?t=1"


def test_text_only_message_and_attachments() -> None:
    lines = renderer().message({"text": "Hello &amp; welcome", "attachments": [{"text": "*note*"}]})
    assert lines == ["Hello & welcome", "┃ note"]


def test_unknown_and_malformed_blocks_are_named_not_fatal() -> None:
    blocks = [
        {"type": "shiny_new_block", "whatever": 1},
        {"no_type": True},
        "not a block",
        {"type": "actions", "elements": [{"type": "datepicker", "action_id": "d"}]},
        {"type": "image", "alt_text": "chart", "image_url": "https://x.test/i.png"},
    ]
    lines = renderer().blocks(blocks, source=None)  # type: ignore[arg-type]
    assert lines == [
        "[shiny_new_block block]",
        "[untyped block]",
        "[unsupported block: str]",
        "[datepicker]",
        "[image: chart]",
    ]


def test_selects_and_overflow_options_are_clickable_with_the_chosen_option() -> None:
    r = renderer()
    option = {"text": {"type": "plain_text", "text": "high"}, "value": "high"}
    block = {
        "type": "actions",
        "block_id": "prio",
        "elements": [
            {
                "type": "static_select",
                "action_id": "priority",
                "placeholder": {"type": "plain_text", "text": "Priority"},
                "options": [{"text": {"type": "plain_text", "text": "low"}, "value": "low"}, option],
            },
        ],
    }
    assert r.blocks([block], source="m") == ["Priority: [1] low  [2] high"]
    assert r.clickables[1].action()["selected_option"] == option


def test_modal_numbers_inputs_and_shows_current_values() -> None:
    r = renderer()
    view = {
        "id": "V1",
        "type": "modal",
        "title": {"type": "plain_text", "text": "New organisation"},
        "submit": {"type": "plain_text", "text": "Create"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Wallet starts at *$0.00*"}},
            {
                "type": "input",
                "block_id": "name",
                "label": {"type": "plain_text", "text": "Name"},
                "hint": {"type": "plain_text", "text": "You become its owner."},
                "element": {"type": "plain_text_input", "action_id": "value", "initial_value": "Acme"},
            },
            {
                "type": "input",
                "block_id": "plan",
                "optional": True,
                "label": {"type": "plain_text", "text": "Plan"},
                "element": {
                    "type": "static_select",
                    "action_id": "plan",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Nanode"}, "value": "p1"},
                        {"text": {"type": "plain_text", "text": "Linode 2 GB"}, "value": "p2"},
                    ],
                },
            },
        ],
    }
    lines = r.view(view, source=("view", "V1"), values={"plan": "Nanode"})
    assert lines == [
        "╔ New organisation ╗",
        "Wallet starts at $0.00",
        "  1. Name: Acme",
        "       (You become its owner.)",
        "  2. Plan (optional): Nanode",
        "       options: 1)\u00a0Nanode  2)\u00a0Linode 2 GB",
        "[submit] Create  [close] Cancel   (:submit / :close)",
    ]
    assert [(f.number, f.block_id, f.action_id, f.kind) for f in r.inputs] == [
        (1, "name", "value", "plain_text_input"),
        (2, "plan", "plan", "static_select"),
    ]
    assert [o["value"] for o in r.inputs[1].options()] == ["p1", "p2"]


def test_home_view_has_no_submit_line_and_rich_text_is_flattened() -> None:
    view = {
        "type": "home",
        "blocks": [
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [
                            {"type": "text", "text": "Hi "},
                            {"type": "user", "user_id": "U0ALICE01"},
                            {"type": "text", "text": " "},
                            {"type": "link", "url": "https://x.test", "text": "docs"},
                        ],
                    },
                    {
                        "type": "rich_text_list",
                        "elements": [
                            {"type": "rich_text_section", "elements": [{"type": "text", "text": "one"}]},
                        ],
                    },
                ],
            }
        ],
    }
    assert renderer().view(view) == ["Hi @alice docs (https://x.test)", "• one"]


def test_initial_values_of_inputs() -> None:
    assert initial_value({"type": "plain_text_input", "initial_value": "x"}) == "x"
    assert initial_value({"type": "static_select", "initial_option": {"text": {"text": "medium"}}}) == "medium"
    assert (
        initial_value({"type": "checkboxes", "initial_options": [{"text": {"text": "a"}}, {"text": {"text": "b"}}]})
        == "a, b"
    )
    assert initial_value({"type": "datepicker"}) == ""


def test_clock_durations() -> None:
    assert parse_duration("+3h") == timedelta(hours=3)
    assert parse_duration("1d2h30m") == timedelta(days=1, hours=2, minutes=30)
    assert parse_duration("+90s") == timedelta(seconds=90)
    with pytest.raises(ConsoleError):
        parse_duration("tomorrow")


def test_reactions_show_under_the_message() -> None:
    message = {"text": "Rebooted it.", "reactions": [{"name": "white_check_mark", "users": ["U0BOT"], "count": 1}]}
    assert Renderer().message(message) == ["Rebooted it.", ":white_check_mark: 1"]
