"""What the emulator records: every API request it answered and every webhook it delivered.

Tests assert on traffic rather than on the bot's internals: which routes were called with which
``PayPal-Request-Id``, and what each webhook delivery attempt got back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.emulators.base.recording import CallLog


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


def describe(call: Call) -> str:
    """One line of a ``wait_for`` that gave up: what was asked and what it got."""
    return f"{call.method} {call.path} -> {call.status} {json.dumps(call.response, default=str)[:200]}"


def new_call_log() -> CallLog[Call]:
    return CallLog(lambda call: call.route, describe)
