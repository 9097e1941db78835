"""Slack's injected failures and its per-channel posting pace.

Faults are queued per method in a shared ``FaultPlan``; a Slack fault can also answer HTTP 200
with one of Slack's error codes and extra fields (``needed``/``provided`` for ``missing_scope``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.emulators.base import Fault
from bot.emulators.slack.state import Clock


@dataclass
class SlackFault(Fault):
    """A base fault plus Slack's ``{"ok": false, "error": code, **extra}`` answer."""

    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
