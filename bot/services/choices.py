"""Choices a menu offers, and searching them (the text typed into a searchable menu).

A menu with more choices than Slack can hold is searched instead of listed: the options endpoint
answers each search with the best matches. Matching is the same everywhere: case-insensitive, every
typed word found in the label or the value, choices whose label or value starts with the text first,
otherwise in the order they were offered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    """One option: what is sent back when it is picked, and what the person reads."""

    value: str
    label: str


def search(choices: Iterable[Choice], query: str, *, limit: int) -> list[Choice]:
    """The choices matching `query` (all of them when it is blank), best first, at most `limit`."""
    wanted = query.casefold().split()
    whole = " ".join(wanted)
    starting: list[Choice] = []
    containing: list[Choice] = []
    for choice in choices:
        label, value = choice.label.casefold(), choice.value.casefold()
        if not all(word in label or word in value for word in wanted):
            continue
        (starting if label.startswith(whole) or value.startswith(whole) else containing).append(choice)
    return (starting + containing)[:limit]


def like_patterns(query: str) -> tuple[str, str]:
    """(`%query%`, `query%`) for SQL ILIKE, with the wildcards a person may type taken literally."""
    escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%", f"{escaped}%"
