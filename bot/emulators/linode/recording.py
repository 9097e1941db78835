"""What the emulator records: every request, how it was routed and how it was answered.

Tests assert on this traffic rather than on the bot's internals: it is the only thing the real
Linode would ever see, including the SDK's silent retries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request as the emulator saw and answered it. ``faulted``: an injected fault answered."""

    route_key: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int
    response: Any
    at: float
    faulted: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def reasons(self) -> list[str]:
        if isinstance(self.response, dict) and isinstance(self.response.get("errors"), list):
            return [str(e.get("reason")) for e in self.response["errors"]]
        return []


def describe(call: Call) -> str:
    """One line of a ``wait_for`` summary: the request, its answer and the start of its body."""
    body = json.dumps(call.body, default=str)[:300]
    return f"{call.method} {call.path} -> {call.status} {call.reasons} body={body}"
