"""Wire-level values shared by every part of the Linode emulator: clocks, timestamps and errors.

Linode answers every failure as ``{"errors": [{"reason": ..., "field": ...}]}``; raising
``LinodeApiError`` from deep inside validation or state keeps that shape in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Clock = Callable[[], float]

# linode-api4 parses timestamps with exactly this format and silently keeps the raw string when it
# fails, so a "Z" or fractional seconds would turn datetimes into strings in the bot.
API_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


def api_time(epoch: float) -> str:
    """A zone-less UTC timestamp without fractional seconds, as the real API writes them."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime(API_TIME_FORMAT)


class FakeClock:
    """A hand-driven clock, so tests move instances through their transitions without sleeping."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LinodeApiError(Exception):
    """A failure answered as ``status`` with Linode's ``{"errors": [...]}`` body."""

    def __init__(self, status: int, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.errors: list[dict[str, str]] = [_error(reason, field)]

    def also(self, reason: str, field: str | None = None) -> LinodeApiError:
        """Add one more reason; the real API reports every invalid field of a request at once."""
        self.errors.append(_error(reason, field))
        return self

    def to_body(self) -> dict[str, Any]:
        return {"errors": [dict(e) for e in self.errors]}


def _error(reason: str, field: str | None) -> dict[str, str]:
    return {"reason": reason} if field is None else {"reason": reason, "field": field}


def bad_request(reason: str, field: str | None = None) -> LinodeApiError:
    return LinodeApiError(400, reason, field)


def not_found() -> LinodeApiError:
    return LinodeApiError(404, "Not found")


def error_body(reason: str, field: str | None = None) -> dict[str, Any]:
    return {"errors": [_error(reason, field)]}
