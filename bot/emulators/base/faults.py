"""Fault plans: failures queued per route or method and consumed in order, plus standing slowness.

A test scripts "429, then 500, then succeed" for one key while every other key behaves normally.
Each emulator extends ``Fault`` with what its provider can answer (Slack error codes, Linode bodies).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar


@dataclass
class Fault:
    """What the next ``remaining`` requests of one key get instead of a normal answer."""

    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    disconnect: bool = False
    remaining: int = 1

    async def hold(self) -> None:
        """Wait out the fault's delay, as a slow failing upstream would."""
        if self.delay:
            await asyncio.sleep(self.delay)


F = TypeVar("F", bound=Fault)


class FaultPlan(Generic[F]):
    """Queued faults and slowness per key; ``keys`` (when given) are the only keys accepted."""

    def __init__(self, keys: Iterable[str] | None = None) -> None:
        self._keys = tuple(keys) if keys is not None else None
        self._queued: dict[str, deque[F]] = {}
        self._slow: dict[str, float] = {}

    def check(self, key: str) -> None:
        if self._keys is not None and key not in self._keys:
            raise ValueError(f"unknown route key {key!r}; expected one of {', '.join(self._keys)}")

    def add(self, key: str, fault: F) -> None:
        self.check(key)
        if fault.remaining > 0:
            self._queued.setdefault(key, deque()).append(fault)

    def slow(self, key: str, seconds: float) -> None:
        self.check(key)
        self._slow[key] = seconds

    def slowness(self, key: str) -> float:
        return self._slow.get(key, 0.0)

    def clear(self) -> None:
        self._queued.clear()
        self._slow.clear()

    def take(self, key: str) -> F | None:
        """Consume one use of the oldest fault queued for ``key``."""
        queue = self._queued.get(key)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault
