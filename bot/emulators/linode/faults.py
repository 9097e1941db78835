"""Injected failures and slowness, queued per route key and consumed in order.

A test can script "429, then 502, then succeed" for ``instances.create`` while every other route
behaves normally. ``after_effect`` faults let the action happen first and then lie about it, which
is how a real 502 on a create that did create the server looks to a retrying client.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

_DEFAULT_REASONS = {
    400: "Invalid request",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """What the next ``remaining`` requests of one route key get instead of a normal answer."""

    status: int
    retry_after: float | None = None
    delay: float = 0.0
    body: dict[str, Any] | None = None
    after_effect: bool = False
    remaining: int = 1

    def answer(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        return {"errors": [{"reason": _DEFAULT_REASONS.get(self.status, "Error")}]}


class FaultBook:
    def __init__(self) -> None:
        self._queued: dict[str, deque[Fault]] = {}
        self._slow: dict[str, float] = {}

    def add(self, route_key: str, fault: Fault) -> None:
        if fault.remaining > 0:
            self._queued.setdefault(route_key, deque()).append(fault)

    def slow(self, route_key: str, seconds: float) -> None:
        self._slow[route_key] = seconds

    def slowness(self, route_key: str) -> float:
        return self._slow.get(route_key, 0.0)

    def clear(self) -> None:
        self._queued.clear()
        self._slow.clear()

    def take(self, route_key: str) -> Fault | None:
        """Consume one use of the oldest fault queued for ``route_key``."""
        queue = self._queued.get(route_key)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault
