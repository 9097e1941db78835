"""Account events: one per action phase, going ``started`` → ``finished`` as the clock passes.

An event's status is derived from the clock when it is read, rather than stored and updated, so
a test that advances the fake clock sees the same thing a poller would see at that moment. An
event whose start lies in the future (the boot phase after provisioning) is not yet visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.emulators.linode.wire import api_time, not_found

USERNAME = "csbot-emulator"


@dataclass
class Event:
    id: int
    action: str
    entity: dict[str, Any]
    created_at: float
    finish_at: float
    failed_at: float | None = None
    seen: bool = False

    def visible(self, now: float) -> bool:
        return self.created_at <= now

    def in_progress(self, now: float) -> bool:
        return self.failed_at is None and self.created_at <= now < self.finish_at

    def to_api(self, now: float) -> dict[str, Any]:
        if self.failed_at is not None:
            status, percent, duration = "failed", self._percent(self.failed_at), None
        elif now >= self.finish_at:
            status, percent, duration = "finished", 100, round(self.finish_at - self.created_at, 3)
        else:
            status, percent, duration = "started", self._percent(now), None
        return {
            "id": self.id,
            "action": self.action,
            "status": status,
            "percent_complete": percent,
            "created": api_time(self.created_at),
            "entity": dict(self.entity),
            "secondary_entity": None,
            "username": USERNAME,
            "duration": duration,
            "message": "",
            "seen": self.seen,
            "read": self.seen,
            "rate": None,
            "time_remaining": None,
        }

    def _percent(self, at: float) -> int:
        span = self.finish_at - self.created_at
        if span <= 0:
            return 100
        return max(0, min(99, int(100 * (at - self.created_at) / span)))


class EventLog:
    def __init__(self, first_id: int = 9_000_001) -> None:
        self.events: list[Event] = []
        self._next_id = first_id

    def add(self, action: str, entity: dict[str, Any], start: float, seconds: float) -> Event:
        event = Event(self._next_id, action, dict(entity), start, start + seconds)
        self._next_id += 1
        self.events.append(event)
        return event

    def visible(self, now: float) -> list[dict[str, Any]]:
        return [e.to_api(now) for e in self.events if e.visible(now)]

    def get(self, event_id: int, now: float) -> Event:
        for event in self.events:
            if event.id == event_id and event.visible(now):
                return event
        raise not_found()

    def abort(self, entity_id: int, now: float) -> None:
        """Fail what is running for ``entity_id`` and forget phases that have not begun."""
        for event in self.events:
            if event.entity.get("id") == entity_id and event.in_progress(now):
                event.failed_at = now
        self.events = [e for e in self.events if e.entity.get("id") != entity_id or e.visible(now)]
