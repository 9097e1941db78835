"""What the emulator records: every Web API call and every response_url post.

Tests assert on these rather than on the bot's internals, because the bot keeps working after it
has acked a request and only its HTTP traffic shows what the user ends up seeing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One Web API request as the emulator saw and answered it (status 0: connection dropped)."""

    method: str
    args: dict[str, Any]
    at: float
    status: int
    response: dict[str, Any]
    team_id: str | None = None
    """The workspace the call acted in (the token's, or the channel's for an org-wide token)."""
    enterprise_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        return self.response.get("error")


@dataclass(frozen=True)
class Incoming:
    """The parts of an API request every answer is recorded with."""

    method: str
    args: dict[str, Any]
    at: float
    team_id: str | None = None
    enterprise_id: str | None = None


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a ``response_url``: the parsed JSON, how it was answered and why it was refused."""

    hook_id: str
    channel_id: str | None
    user_id: str | None
    payload: Any
    at: float
    status: int
    body: str
    problems: tuple[str, ...] = ()


def describe(call: Call) -> str:
    """One line of a ``wait_for`` summary: the outcome and the start of the arguments."""
    outcome = "ok" if call.ok else f"status={call.status} error={call.error}"
    return f"{call.method} {outcome} args={json.dumps(call.args, default=str)[:300]}"
