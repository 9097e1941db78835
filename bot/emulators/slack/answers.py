"""Slack's reading of the bot's HTTP answers to what Slack sent it.

A slash command's answer is a message, a ``view_submission``'s answer may replace, push or annotate
the modal, and an options request's answer is a list of options: Slack holds each to the same
Block Kit rules as the Web API, and shows the user an error instead when they break them. Block
actions, shortcuts and events have their answer bodies ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.emulators.slack.blockkit import MESSAGE_TEXT_MAX, message_problems, options_problems, view_problems

RESPONSE_ACTIONS = ("errors", "update", "push", "clear")


@dataclass(frozen=True)
class Answer:
    """The bot's answer to one signed request, and what Slack would refuse in it."""

    kind: str
    status: int
    body: str
    problems: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return not self.problems


class AnswerRejected(AssertionError):
    """Slack would not accept the bot's answer; the user would see an error instead."""


def kind_of(payload: dict[str, Any]) -> str:
    """``slash_command`` for a command form, else the interactive or envelope ``type``."""
    if "command" in payload:
        return "slash_command"
    return str(payload.get("type") or "unknown")


def answer_problems(payload: dict[str, Any], status: int, body: str, *, strict: bool = True) -> list[str]:
    """What Slack would refuse in a 200 answer; other statuses are the transport's business."""
    kind = kind_of(payload)
    if status != 200 or not body.strip():
        return []
    if kind == "slash_command":
        return _message_answer(body, strict=strict)
    if kind == "view_submission":
        return _submission_answer(payload.get("view"), body, strict=strict)
    if kind == "block_suggestion":
        parsed = _json(body)
        return options_problems(parsed) if isinstance(parsed, dict) else ["must provide an object [json-pointer:]"]
    return []


def _json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _message_answer(body: str, *, strict: bool) -> list[str]:
    parsed = _json(body)
    if not isinstance(parsed, dict):
        too_long = len(body) > MESSAGE_TEXT_MAX
        return [f"must be less than {MESSAGE_TEXT_MAX + 1} characters [json-pointer:/text]"] if too_long else []
    problems: list[str] = []
    if len(str(parsed.get("text") or "")) > MESSAGE_TEXT_MAX:
        problems.append(f"must be less than {MESSAGE_TEXT_MAX + 1} characters [json-pointer:/text]")
    if parsed.get("response_type", "ephemeral") not in ("ephemeral", "in_channel"):
        problems.append("must be one of: ephemeral, in_channel [json-pointer:/response_type]")
    if "blocks" in parsed:
        problems.extend(message_problems(parsed["blocks"], strict=strict))
    return problems


def _submission_answer(submitted: Any, body: str, *, strict: bool) -> list[str]:
    parsed = _json(body)
    if not isinstance(parsed, dict):
        return ["must provide an object [json-pointer:]"]
    action = parsed.get("response_action")
    if action not in RESPONSE_ACTIONS:
        return [f"must be one of: {', '.join(RESPONSE_ACTIONS)} [json-pointer:/response_action]"]
    if action in ("update", "push"):
        return view_problems(parsed.get("view"), "modal", strict=strict)
    if action == "errors":
        return _error_problems(submitted, parsed.get("errors"))
    return []


def _error_problems(submitted: Any, errors: Any) -> list[str]:
    """``errors`` maps input blocks of the submitted view to non-empty messages."""
    if not isinstance(errors, dict) or not errors:
        return ["must provide a non-empty object [json-pointer:/errors]"]
    problems = [
        f"must be a non-empty string [json-pointer:/errors/{block_id}]"
        for block_id, message in errors.items()
        if not (isinstance(message, str) and message)
    ]
    blocks = submitted.get("blocks") if isinstance(submitted, dict) else None
    if isinstance(blocks, list):  # a test may submit a bare definition; then there is nothing to match
        inputs = {b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"}
        problems.extend(
            f"no input block with this block_id in the view [json-pointer:/errors/{block_id}]"
            for block_id in errors
            if block_id not in inputs
        )
    return problems
