"""What the emulator records: every Web API call and every response_url post.

Tests assert on these rather than on the bot's internals, because the bot keeps working after it
has acked a request and only its HTTP traffic shows what the user ends up seeing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
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


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a ``response_url``: the parsed JSON and how the emulator answered it."""

    hook_id: str
    channel_id: str | None
    user_id: str | None
    payload: Any
    at: float
    status: int
    body: str


def wait_summary(calls: Iterable[Call], method: str, count: int, timeout: float, matched: int) -> str:
    """A readable account of what did arrive when ``wait_for`` gives up."""
    calls = list(calls)
    lines = [f"expected {count} ok call(s) to {method} within {timeout}s, {matched} matched"]
    for call in (c for c in calls if c.method == method):
        outcome = "ok" if call.ok else f"status={call.status} error={call.error}"
        lines.append(f"  {method} {outcome} args={json.dumps(call.args, default=str)[:300]}")
    totals = Counter(c.method for c in calls)
    lines.append("all calls: " + (", ".join(f"{m}×{n}" for m, n in totals.items()) or "none"))
    return "\n".join(lines)
