"""A Slack request is described for logs by its command words; what the user typed is set apart."""

from __future__ import annotations

from bot.slack.log_scope import RequestDescriber
from handlers.commands import build_table

DESCRIBE = RequestDescriber(build_table())


def test_a_command_keeps_its_words_and_sets_its_arguments_apart() -> None:
    described = DESCRIBE({"command": "/cs", "text": 'link key sk_live_1 "two words"'})
    assert described.fields == {"slack_command": "/cs link key"}
    assert set(described.private) == {'link key sk_live_1 "two words"', "sk_live_1", "two words"}


def test_unknown_and_empty_commands_log_no_words_of_the_user() -> None:
    assert DESCRIBE({"command": "/cs", "text": "sk_live_1"}).fields == {"slack_command": "/cs unknown"}
    assert DESCRIBE({"command": "/cs", "text": ""}).fields == {"slack_command": "/cs"}


def test_form_values_typed_inputs_and_message_texts_are_private() -> None:
    body = {
        "type": "view_submission",
        "view": {"state": {"values": {"b": {"a": {"type": "plain_text_input", "value": "typed in a form"}},
                                      "c": {"s": {"type": "static_select", "selected_option": {"value": "ours"}}}}}},
        "actions": [{"type": "plain_text_input", "value": "dispatched input"}, {"type": "button", "value": "ours"}],
        "event": {"text": "said", "message": {"text": "edited to"}, "previous_message": {"text": "said before"}},
        "message": {"text": "shortcut source"},
    }  # fmt: skip
    described = DESCRIBE(body)
    assert described.fields == {"slack_command": None}
    assert set(described.private) == {
        "typed in a form", "dispatched input", "said", "edited to", "said before", "shortcut source",
    }  # fmt: skip
