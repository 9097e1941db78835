"""Web API error values shared by the emulator's state and method modules.

Slack answers almost every failure with HTTP 200 and ``{"ok": false, "error": code}``; raising
``SlackError`` from deep inside the state keeps that shape in one place.
"""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """A Web API failure, answered as HTTP 200 ``{"ok": false, "error": code, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def invalid_arguments(*messages: str) -> SlackError:
    """Slack's schema-validation failure, which lists the offending JSON pointers."""
    return SlackError("invalid_arguments", response_metadata={"messages": list(messages)})
