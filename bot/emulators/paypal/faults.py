"""Injected failures per route: scripted errors, delays, dropped connections and slowness.

Faults are queued per route key and consumed in order, so a test can script "503, then 500, then
succeed" for ``orders.capture`` while every other route behaves normally.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bot.emulators.base import faults as base
from bot.emulators.base.faults import FaultPlan

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
class Fault(base.Fault):
    """What the next ``remaining`` requests to one route get instead of a normal answer.

    ``body`` is sent as JSON when it is a dict or list, verbatim when it is ``str``/``bytes``, and
    PayPal's error body for ``status`` when it is ``None``.
    """

    status: int | None = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FaultBook(FaultPlan[Fault]):
    """The shared fault plan over PayPal's route keys, and how many scripted failures are left."""

    def __init__(self) -> None:
        super().__init__(ROUTE_KEYS)

    def left(self, route: str | None = None) -> int:
        """Uses not yet consumed, for one route or all of them."""
        queues = [self._queued.get(route, deque())] if route else list(self._queued.values())
        return sum(fault.remaining for queue in queues for fault in queue)
