"""Injected failures per route: scripted errors, delays, dropped connections and slowness.

Faults are queued per route key and consumed in order, so a test can script "503, then 500, then
succeed" for ``orders.capture`` while every other route behaves normally.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

ROUTE_KEYS = (
    "oauth",
    "orders.create",
    "orders.get",
    "orders.capture",
    "captures.get",
    "captures.refund",
    "refunds.get",
    "certs",
    "verify",
    "checkout",
)


@dataclass
class Fault:
    """What the next ``remaining`` requests to one route get instead of a normal answer.

    ``body`` is sent as JSON when it is a dict or list, verbatim when it is ``str``/``bytes``, and
    PayPal's error body for ``status`` when it is ``None``.
    """

    status: int = 500
    delay: float = 0.0
    disconnect: bool = False
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    remaining: int = 1


class FaultBook:
    def __init__(self) -> None:
        self._queued: dict[str, deque[Fault]] = {}
        self._slow: dict[str, float] = {}

    @staticmethod
    def check(route: str) -> None:
        if route not in ROUTE_KEYS:
            raise ValueError(f"unknown route key {route!r}; expected one of {', '.join(ROUTE_KEYS)}")

    def add(self, route: str, fault: Fault) -> None:
        self.check(route)
        if fault.remaining > 0:
            self._queued.setdefault(route, deque()).append(fault)

    def slow(self, route: str, seconds: float) -> None:
        self.check(route)
        self._slow[route] = seconds

    def slowness(self, route: str) -> float:
        return self._slow.get(route, 0.0)

    def clear(self) -> None:
        self._queued.clear()
        self._slow.clear()

    def left(self, route: str | None = None) -> int:
        """Uses not yet consumed, for one route or all of them."""
        queues = [self._queued.get(route, deque())] if route else list(self._queued.values())
        return sum(fault.remaining for queue in queues for fault in queue)

    def take(self, route: str) -> Fault | None:
        """Consume one use of the oldest fault queued for ``route``."""
        queue = self._queued.get(route)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault
