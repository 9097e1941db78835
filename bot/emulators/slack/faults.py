"""Injected failures and Slack's per-channel posting pace.

Faults are queued per method and consumed in order, so a test can script "429, then 500, then
succeed" for one method while every other method behaves normally.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bot.emulators.slack.state import Clock


@dataclass
class Fault:
    """What the next ``remaining`` calls of one method get instead of a normal answer."""

    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    delay: float = 0.0
    disconnect: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    remaining: int = 1


class FaultBook:
    def __init__(self) -> None:
        self._queued: dict[str, deque[Fault]] = {}
        self._slow: dict[str, float] = {}

    def add(self, method: str, fault: Fault) -> None:
        if fault.remaining > 0:
            self._queued.setdefault(method, deque()).append(fault)

    def slow(self, method: str, seconds: float) -> None:
        self._slow[method] = seconds

    def slowness(self, method: str) -> float:
        return self._slow.get(method, 0.0)

    def clear(self) -> None:
        self._queued.clear()
        self._slow.clear()

    def take(self, method: str) -> Fault | None:
        """Consume one use of the oldest fault queued for ``method``."""
        queue = self._queued.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        return fault


class ChannelPacer:
    """A token bucket per channel: ``burst`` posts at once, then ``rate`` posts per second."""

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, channel: str) -> bool:
        now = self._clock()
        tokens, last = self._buckets.get(channel, (self._burst, now))
        tokens = min(self._burst, tokens + max(0.0, now - last) * self._rate)
        allowed = tokens >= 1.0
        self._buckets[channel] = (tokens - 1.0 if allowed else tokens, now)
        return allowed
