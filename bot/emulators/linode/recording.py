"""What the emulator records: every request, how it was routed and how it was answered.

Tests assert on this traffic rather than on the bot's internals: it is the only thing the real
Linode would ever see, including the SDK's silent retries.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
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


def wait_summary(calls: Iterable[Call], route_key: str, count: int, timeout: float, matched: int) -> str:
    """A readable account of what did arrive when ``wait_for`` gives up."""
    calls = list(calls)
    lines = [f"expected {count} call(s) to {route_key} within {timeout}s, {matched} matched"]
    for call in (c for c in calls if c.route_key == route_key):
        body = json.dumps(call.body, default=str)[:300]
        lines.append(f"  {call.method} {call.path} -> {call.status} {call.reasons} body={body}")
    totals = Counter(c.route_key for c in calls)
    lines.append("all calls: " + (", ".join(f"{k}×{n}" for k, n in totals.items()) or "none"))
    return "\n".join(lines)
