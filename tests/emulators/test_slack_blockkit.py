"""The Block Kit validator at every documented limit: N is accepted, N+1 is refused at its pointer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.emulators.slack.blockkit import message_problems, options_problems, view_problems

Payload = tuple[str, Any]  # ("message", blocks) or ("modal"/"home", view)


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def button(text: str = "Go", action_id: str = "go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain(text), "action_id": action_id, **extra}


def option(text: str = "One", value: str = "1", **extra: Any) -> dict[str, Any]:
    return {"text": plain(text), "value": value, **extra}


def select(options: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "options": options, **extra}


def grouped(groups: int) -> dict[str, Any]:
    group = {"label": plain("Group"), "options": [option()]}
    return {"type": "static_select", "action_id": "pick", "option_groups": [group] * groups}


def actions(*elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements), **extra}


def text_input(**extra: Any) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": "value", **extra}


def input_block(element: dict[str, Any] | None = None, label: str = "Name", **extra: Any) -> dict[str, Any]:
    return {"type": "input", "block_id": "name", "label": plain(label), "element": element or text_input(), **extra}


def modal(blocks: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    view = {"type": "modal", "title": plain("Create"), "blocks": blocks or [section()]}
    if any(b["type"] == "input" for b in view["blocks"]):
        view["submit"] = plain("Save")
    return {**view, **extra}


def confirm(**labels: str) -> dict[str, Any]:
    fields = {"title": "Sure?", "text": "It is final.", "confirm": "Yes", "deny": "No", **labels}
    dialog = {name: plain(text) for name, text in fields.items()}
    dialog["text"] = mrkdwn(fields["text"])
    return dialog


def problems_of(payload: Payload) -> list[str]:
    kind, value = payload
    return message_problems(value) if kind == "message" else view_problems(value, kind)


def message(*blocks: dict[str, Any]) -> Payload:
    return ("message", list(blocks))


def in_modal(*blocks: dict[str, Any]) -> Payload:
    return ("modal", modal(list(blocks)))


LIMITS: dict[str, tuple[int, Callable[[int], Payload], str]] = {
    "message blocks": (50, lambda n: message(*[section() for _ in range(n)]), "/blocks"),
    "modal blocks": (100, lambda n: in_modal(*[section() for _ in range(n)]), "/view/blocks"),
    "home blocks": (100, lambda n: ("home", {"type": "home", "blocks": [section()] * n}), "/view/blocks"),
    "section text": (3000, lambda n: message(section("x" * n)), "/blocks/0/text/text"),
    "section field text": (
        2000,
        lambda n: message({"type": "section", "fields": [mrkdwn("x" * n)]}),
        "/blocks/0/fields/0/text",
    ),
    "section fields": (10, lambda n: message({"type": "section", "fields": [mrkdwn("x")] * n}), "/blocks/0/fields"),
    "header text": (150, lambda n: message({"type": "header", "text": plain("x" * n)}), "/blocks/0/text/text"),
    "context elements": (
        10,
        lambda n: message({"type": "context", "elements": [mrkdwn("x")] * n}),
        "/blocks/0/elements",
    ),
    "actions elements": (
        25,
        lambda n: message(actions(*[button(action_id=f"b{i}") for i in range(n)])),
        "/blocks/0/elements",
    ),
    "button text": (75, lambda n: message(actions(button("x" * n))), "/blocks/0/elements/0/text/text"),
    "button value": (2000, lambda n: message(actions(button(value="x" * n))), "/blocks/0/elements/0/value"),
    "button url": (3000, lambda n: message(actions(button(url="x" * n))), "/blocks/0/elements/0/url"),
    "action_id": (255, lambda n: message(actions(button(action_id="x" * n))), "/blocks/0/elements/0/action_id"),
    "block_id": (255, lambda n: message(section(block_id="x" * n)), "/blocks/0/block_id"),
    "select options": (
        100,
        lambda n: message(actions(select([option(value=str(i)) for i in range(n)]))),
        "/blocks/0/elements/0/options",
    ),
    "option text": (75, lambda n: message(actions(select([option("x" * n)]))), "/options/0/text/text"),
    "option value": (150, lambda n: message(actions(select([option(value="x" * n)]))), "/options/0/value"),
    "option description": (
        75,
        lambda n: message(actions(select([option(description=plain("x" * n))]))),
        "/options/0/description/text",
    ),
    "option groups": (100, lambda n: message(actions(grouped(n))), "/blocks/0/elements/0/option_groups"),
    "overflow options": (
        5,
        lambda n: message(actions({"type": "overflow", "action_id": "more", "options": [option()] * n})),
        "/blocks/0/elements/0/options",
    ),
    "checkbox options": (
        10,
        lambda n: in_modal(input_block({"type": "checkboxes", "action_id": "c", "options": [option()] * n})),
        "/view/blocks/0/element/options",
    ),
    "placeholder": (
        150,
        lambda n: message(actions(select([option()], placeholder=plain("x" * n)))),
        "/placeholder/text",
    ),
    "confirm title": (100, lambda n: message(actions(button(confirm=confirm(title="x" * n)))), "/confirm/title/text"),
    "confirm text": (300, lambda n: message(actions(button(confirm=confirm(text="x" * n)))), "/confirm/text/text"),
    "confirm button": (30, lambda n: message(actions(button(confirm=confirm(deny="x" * n)))), "/confirm/deny/text"),
    "image alt_text": (
        2000,
        lambda n: message({"type": "image", "image_url": "https://x.example/a.png", "alt_text": "x" * n}),
        "/blocks/0/alt_text",
    ),
    "input label": (2000, lambda n: in_modal(input_block(label="x" * n)), "/view/blocks/0/label/text"),
    "input hint": (2000, lambda n: in_modal(input_block(hint=plain("x" * n))), "/view/blocks/0/hint/text"),
    "text input max_length": (
        3000,
        lambda n: in_modal(input_block(text_input(max_length=n))),
        "/view/blocks/0/element/max_length",
    ),
    "modal title": (24, lambda n: ("modal", modal(title=plain("x" * n))), "/view/title/text"),
    "modal submit": (24, lambda n: ("modal", modal(submit=plain("x" * n))), "/view/submit/text"),
    "modal close": (24, lambda n: ("modal", modal(close=plain("x" * n))), "/view/close/text"),
    "private_metadata": (3000, lambda n: ("modal", modal(private_metadata="x" * n)), "/view/private_metadata"),
    "callback_id": (255, lambda n: ("modal", modal(callback_id="x" * n)), "/view/callback_id"),
    "external_id": (255, lambda n: ("home", {"type": "home", "blocks": [], "external_id": "x" * n}), "/external_id"),
}


@pytest.mark.parametrize("name", list(LIMITS))
def test_limit_accepts_n_and_refuses_n_plus_one(name: str) -> None:
    limit, build, pointer = LIMITS[name]
    assert problems_of(build(limit)) == []
    refused = problems_of(build(limit + 1))
    assert refused, f"{name}: {limit + 1} was accepted"
    assert any(pointer in problem for problem in refused), refused


def test_overlong_section_text_names_slacks_limit_and_pointer() -> None:
    assert message_problems([section("x" * 3001)]) == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (message(section("")), "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
        (message(actions()), "must provide at least 1 items [json-pointer:/blocks/0/elements]"),
        (message({"type": "section"}), "must define either `text` or `fields` [json-pointer:/blocks/0]"),
        (message({"type": "carousel"}), "unsupported block type: carousel [json-pointer:/blocks/0]"),
        (message({"text": mrkdwn("x")}), "missing required field: type [json-pointer:/blocks/0]"),
        (message(section(colour="red")), "invalid additional property: colour [json-pointer:/blocks/0]"),
        (
            message({"type": "header", "text": mrkdwn("Title")}),
            "must be one of: plain_text [json-pointer:/blocks/0/text/type]",
        ),
        (
            message({"type": "section", "text": {**mrkdwn("x"), "emoji": True}}),
            "invalid additional property: emoji [json-pointer:/blocks/0/text]",
        ),
        (
            message({"type": "section", "text": {**plain("x"), "verbatim": True}}),
            "invalid additional property: verbatim [json-pointer:/blocks/0/text]",
        ),
        (
            message(actions(button(style="warning"))),
            "must be one of: primary, danger [json-pointer:/blocks/0/elements/0/style]",
        ),
        (
            message(section(block_id="a"), section(block_id="a")),
            "duplicate block_id: a [json-pointer:/blocks/1/block_id]",
        ),
        (
            message(actions(button(action_id="a"), button(action_id="a"))),
            "duplicate action_id: a [json-pointer:/blocks/0/elements/1/action_id]",
        ),
        (
            message(actions(select([option()], initial_option=option("Two", "2")))),
            "must match one of the provided options [json-pointer:/blocks/0/elements/0/initial_option]",
        ),
        (
            message(actions(select([option()], min_query_length=2))),
            "invalid additional property: min_query_length [json-pointer:/blocks/0/elements/0]",
        ),
        (
            message(actions({"type": "external_select", "action_id": "x", "options": [option()]})),
            "invalid additional property: options [json-pointer:/blocks/0/elements/0]",
        ),
        (
            message(actions({"type": "static_select", "action_id": "x"})),
            "must provide exactly one of `options` or `option_groups` [json-pointer:/blocks/0/elements/0]",
        ),
        (
            message(actions(select([option(url="https://x.example")]))),
            "invalid additional property: url [json-pointer:/blocks/0/elements/0/options/0]",
        ),
        (in_modal(input_block(button())), "unsupported type: button [json-pointer:/view/blocks/0/element]"),
        (message(actions(text_input())), "unsupported type: plain_text_input [json-pointer:/blocks/0/elements/0]"),
        (
            in_modal(input_block(text_input(min_length=10, max_length=5))),
            "must be less than or equal to max_length [json-pointer:/view/blocks/0/element/min_length]",
        ),
        (("modal", {"type": "modal", "blocks": []}), "missing required field: title [json-pointer:/view]"),
        (
            ("modal", {**modal([input_block()]), "submit": None}),
            "must provide an object [json-pointer:/view/submit]",
        ),
        (
            ("modal", {k: v for k, v in modal([input_block()]).items() if k != "submit"}),
            "missing required field: submit [json-pointer:/view]",
        ),
        (("modal", {**modal(), "id": "V1"}), "invalid additional property: id [json-pointer:/view]"),
        (
            ("modal", {**modal(), "submit_disabled": True}),
            "invalid additional property: submit_disabled [json-pointer:/view]",
        ),
        (
            ("home", {"type": "home", "title": plain("Home"), "blocks": []}),
            "invalid additional property: title [json-pointer:/view]",
        ),
        (("home", {"type": "modal", "blocks": []}), "must be 'home' [json-pointer:/view/type]"),
    ],
)
def test_slack_rules_beyond_lengths(payload: Payload, expected: str) -> None:
    assert expected in problems_of(payload)


def test_same_action_id_in_two_blocks_is_allowed() -> None:
    assert message_problems([actions(button(action_id="a")), actions(button(action_id="a"))]) == []


def test_options_answer_is_held_to_menu_limits() -> None:
    assert options_problems({"options": [option(value=str(i)) for i in range(100)]}) == []
    assert options_problems({"options": [option()] * 101}) == ["no more than 100 items allowed [json-pointer:/options]"]
    assert options_problems({"options": [option("x" * 76)]}) == [
        "must be less than 76 characters [json-pointer:/options/0/text/text]"
    ]


def test_lenient_mode_keeps_only_the_envelope() -> None:
    assert message_problems([section("x" * 5000)], strict=False) == []
    assert message_problems([section()] * 51, strict=False) == ["no more than 50 items allowed [json-pointer:/blocks]"]
    assert view_problems(modal(title=plain("x" * 25)), "modal", strict=False) == [
        "must be less than 25 characters [json-pointer:/view/title/text]"
    ]
