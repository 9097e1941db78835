"""The one clock for what users see and what the scheduler bills: the system's, or the sandbox's.

Production runs on `system_clock`. The sandbox hands the app its own clock, which `:clock +3h`
moves, so `/cs billing`, the scheduler's ticks, the Linode sync and a deletion's final charge all
agree with the billing it runs. Security expiries (link tokens, sign-in lockouts) and the times
PostgreSQL stamps on rows keep the real clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)
