"""Hostile user text and the check that it stayed inert in what the bot sends to Slack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

#: What a customer or the panel can write: a broadcast, a mention, a disguised link, a channel, a group.
HOSTILE = "<!channel> <@U123> <https://evil.example|click> & <#C123> <!subteam^S1>"
#: Each is live Slack markup only while its `<` is unescaped.
LIVE_MARKUP = ("<!channel", "<@U123", "<https://evil", "<#C123", "<!subteam")


def mrkdwn_texts(value: Any, *, top: bool = True) -> Iterator[str]:
    """Every string Slack parses as mrkdwn: a message's `text` and every `mrkdwn` text object."""
    if isinstance(value, dict):
        if isinstance(value.get("text"), str) and (value.get("type") == "mrkdwn" or (top and "type" not in value)):
            yield value["text"]
        for child in value.values():
            yield from mrkdwn_texts(child, top=False)
    elif isinstance(value, list):
        for child in value:
            yield from mrkdwn_texts(child, top=False)


def live_markup(message: Any) -> list[tuple[str, str]]:
    """(markup, text) for each piece of hostile markup that would be live in `message`."""
    return [(markup, text) for text in mrkdwn_texts(message) for markup in LIVE_MARKUP if markup in text]
