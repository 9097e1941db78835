"""Web API error values shared by the emulator's state and method modules.

Slack answers almost every failure with HTTP 200 and ``{"ok": false, "error": code}``; raising
``SlackError`` from deep inside the state keeps that shape in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class SlackError(Exception):
    """A Web API failure, answered as HTTP 200 ``{"ok": false, "error": code, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def invalid_arguments(*problems: str) -> SlackError:
    """Slack's schema-validation failure of a method's arguments (views), one line per problem."""
    return SlackError("invalid_arguments", response_metadata={"messages": flagged(problems)})


def invalid_blocks(problems: Iterable[str]) -> SlackError:
    """A message's blocks broke Block Kit's rules: bare ``errors`` plus flagged metadata messages."""
    problems = list(problems)
    return SlackError("invalid_blocks", errors=problems, response_metadata={"messages": flagged(problems)})


def flagged(problems: Iterable[str]) -> list[str]:
    """Problems as ``response_metadata.messages`` carries them, each marked ``[ERROR]``."""
    return [f"[ERROR] {problem}" for problem in problems]
