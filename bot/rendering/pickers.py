"""Menus of choices (pure): every choice in a static_select while Slack can hold them all (100), a
searchable external_select above that, whose options the options endpoint serves.

A static menu needs no round trip; an external one asks the bot for options as soon as it opens
(`min_query_length` 0: the first 100 show without typing) and again as the person types.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.rendering.fit import OPTION_TEXT, OPTION_VALUE, OPTIONS, PLACEHOLDER, clip
from bot.services.choices import Choice


def option(choice: Choice) -> dict[str, Any]:
    """A menu option (plain text: names are shown as typed, never parsed)."""
    if len(choice.value) > OPTION_VALUE:
        raise ValueError(f"an option value is at most {OPTION_VALUE} characters")
    return {"text": {"type": "plain_text", "text": clip(choice.label or choice.value, OPTION_TEXT)},
            "value": choice.value}  # fmt: skip


def is_searchable(count: int) -> bool:
    """Whether a menu of `count` choices must be an external_select."""
    return count > OPTIONS


def menu(
    choices: Sequence[Choice], *, action_id: str, placeholder: str, initial: Choice | None = None,
    searchable: bool | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A static_select of every choice, or (over 100 choices, or `searchable`) an external_select."""
    element: dict[str, Any] = {
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": clip(placeholder, PLACEHOLDER)},
    }
    if searchable if searchable is not None else is_searchable(len(choices)):
        element.update(type="external_select", min_query_length=0)
        if initial is not None:
            element["initial_option"] = option(initial)
        return element
    element.update(type="static_select", options=[option(c) for c in choices])
    if initial is not None and initial in choices:
        element["initial_option"] = option(initial)
    return element


def options_answer(choices: Sequence[Choice]) -> dict[str, Any]:
    """An options endpoint's answer: at most 100 options, as Slack allows."""
    return {"options": [option(c) for c in choices[:OPTIONS]]}
