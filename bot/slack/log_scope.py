"""What a Slack request may say about itself in logs, and what of it a user typed.

A slash command is logged by its command words (`/cs link key`), never its arguments; forms by
their callback id, never their values; messages by channel and ts, never their text. The values
people typed are returned apart, for `bot.logging.keep_private` to mask wherever they would leak.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.commands import CommandTable, tokenize
from bot.logging import keep_private

H = TypeVar("H")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class RequestLog:
    """`fields` are safe for any log line; `private` is everything the user entered."""

    fields: dict[str, str | None]
    private: tuple[str, ...]


_current: contextvars.ContextVar[RequestLog | None] = contextvars.ContextVar("csbot_request_log", default=None)


def enter_request(log: RequestLog) -> None:
    """From here on in this request (its task and the tasks it starts): `log` describes it, and
    what the user typed is masked in every log line."""
    _current.set(log)
    keep_private(log.private)


def request_fields() -> dict[str, str | None]:
    """The loggable description of the Slack request being handled ({} outside one)."""
    found = _current.get()
    return dict(found.fields) if found else {}


@dataclass(frozen=True)
class RequestDescriber(Generic[H]):
    """Describes requests with the bot's command table, so only known command words are logged."""

    table: CommandTable[H]

    def __call__(self, body: dict[str, Any]) -> RequestLog:
        command = body.get("command")
        if not isinstance(command, str):
            return RequestLog({"slack_command": None}, tuple(_typed(body)))
        text = str(body.get("text") or "")
        tokens = tokenize(text)
        match = self.table.match(tokens) if tokens else None
        words = match.spec.words if match else (UNKNOWN if tokens else "")
        arguments = match.args if match else tokens  # the command words themselves stay readable
        return RequestLog({"slack_command": f"{command} {words}".strip()}, (text, *arguments))


def _typed(body: dict[str, Any]) -> Iterator[str]:
    """Every string a person entered in an interaction or event: form inputs, message texts."""
    for state in (_get(body.get("view"), "state"), body.get("state")):
        yield from _input_values(_get(state, "values"))
    for action in body.get("actions") or ():
        if _get(action, "type") == "plain_text_input" and isinstance(_get(action, "value"), str):
            yield action["value"]
    event = body.get("event")
    for message in (event, _get(event, "message"), _get(event, "previous_message"), body.get("message")):
        if isinstance(_get(message, "text"), str):
            yield message["text"]  # type: ignore[index]


def _get(container: object, key: str) -> Any:
    return container.get(key) if isinstance(container, dict) else None


def _input_values(values: object) -> Iterator[str]:
    """Typed values of a view's state (`{block: {action: {"value": …}}}`); selections are ours."""
    if not isinstance(values, dict):
        return
    for block in values.values():
        for element in block.values() if isinstance(block, dict) else ():
            if isinstance(element, dict) and isinstance(element.get("value"), str):
                yield element["value"]
