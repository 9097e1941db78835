"""What the emulator records: every API request it answered and every webhook it delivered.

Tests assert on traffic rather than on the bot's internals: which routes were called with which
``PayPal-Request-Id``, and what each webhook delivery attempt got back.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request as the emulator saw and answered it (status 0: the connection was dropped)."""

    route: str
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    status: int
    response: Any
    at: float
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def request_id(self) -> str | None:
        return self.headers.get("paypal-request-id")


@dataclass(frozen=True)
class Delivery:
    """One webhook POST attempt (status 0: no HTTP answer, e.g. connection refused or timeout)."""

    url: str
    event_id: str | None
    transmission_id: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def wait_summary(calls: Iterable[Call], route: str, count: int, timeout: float, matched: int) -> str:
    """A readable account of what did arrive when ``wait_for`` gives up."""
    calls = list(calls)
    lines = [f"expected {count} matching call(s) to {route} within {timeout}s, {matched} matched"]
    for call in (c for c in calls if c.route == route):
        lines.append(f"  {call.method} {call.path} -> {call.status} {json.dumps(call.response, default=str)[:200]}")
    totals = Counter(c.route for c in calls)
    lines.append("all calls: " + (", ".join(f"{r}×{n}" for r, n in totals.items()) or "none"))
    return "\n".join(lines)
