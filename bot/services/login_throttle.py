"""Throttle for credential checks (link page passwords, pasted API keys), shared by every replica.

Each attempt is charged as a failure *before* the credential is checked, atomically with the lock
check, so a burst of parallel guesses cannot slip past the limit; a success takes its charge back.
A key that reaches its limit within the window is locked for `LOCKOUT`, and while it is locked no
credential check runs at all.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import login_attempts as attempts_db
from bot.errors import UserError
from bot.services.identity import SlackRef

#: Failed passwords per email address (any client) before that address is locked.
MAX_EMAIL_FAILURES = 5
#: Failed passwords per client IP (any email). Higher than per email: offices and NAT share IPs.
MAX_IP_FAILURES = 20
#: Wrong API keys pasted by one Slack user.
MAX_SLACK_FAILURES = 5
#: Failures older than this no longer count.
FAILURE_WINDOW = timedelta(minutes=15)
#: How long a key stays locked once it reaches its limit.
LOCKOUT = timedelta(minutes=15)
#: One charge in this many also prunes idle rows.
PRUNE_ONE_IN = 20


class TooManyAttempts(UserError):
    """Too many failed attempts. Please wait 15 minutes, then try again."""

    def __init__(self, retry_after: timedelta = LOCKOUT) -> None:
        self.retry_after = max(retry_after, timedelta(seconds=1))
        minutes = math.ceil(self.retry_after.total_seconds() / 60)
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many failed attempts. Please wait {minutes} {unit}, then try again.")


@dataclass(frozen=True)
class Limit:
    """A throttle key and how many failures it may collect within the window."""

    key: str
    max_failures: int


def ip_limit(address: str | None) -> Limit:
    return Limit(f"ip:{address or 'unknown'}", MAX_IP_FAILURES)


def email_limit(email: str) -> Limit:
    return Limit(f"email:{email.strip().lower()}"[:320], MAX_EMAIL_FAILURES)


def slack_limit(slack: SlackRef) -> Limit:
    return Limit(f"slack:{slack.team_id}:{slack.user_id}", MAX_SLACK_FAILURES)


@dataclass(frozen=True)
class Decision:
    refused: bool
    failures: int
    window_started_at: datetime
    locked_until: datetime | None


def decide(
    *, failures: int, window_started_at: datetime, locked_until: datetime | None, now: datetime, max_failures: int
) -> Decision:
    """Refuse while locked; otherwise count one more failure (in a fresh window if the old one ended)."""
    if locked_until is not None and locked_until > now:
        return Decision(True, failures, window_started_at, locked_until)
    if locked_until is not None or now - window_started_at >= FAILURE_WINDOW:
        failures, window_started_at = 0, now
    failures += 1
    return Decision(False, failures, window_started_at, now + LOCKOUT if failures >= max_failures else None)


async def charge(engine: AsyncEngine, limits: Sequence[Limit]) -> None:
    """Count an attempt against every key, or raise `TooManyAttempts` (counting nothing) if one is locked."""
    async with engine.begin() as conn:
        decisions: list[tuple[Limit, Decision]] = []
        for limit in sorted(limits, key=lambda item: item.key):  # one lock order: no deadlocks
            row = await attempts_db.lock_row(conn, limit.key)
            decision = decide(
                failures=row.failures,
                window_started_at=row.window_started_at,
                locked_until=row.locked_until,
                now=row.now,
                max_failures=limit.max_failures,
            )
            if decision.refused:
                raise TooManyAttempts(decision.locked_until - row.now if decision.locked_until else LOCKOUT)
            decisions.append((limit, decision))
        for limit, decision in decisions:
            await attempts_db.save(
                conn,
                limit.key,
                failures=decision.failures,
                window_started_at=decision.window_started_at,
                locked_until=decision.locked_until,
            )
        if secrets.randbelow(PRUNE_ONE_IN) == 0:
            await attempts_db.prune(conn)


async def succeeded(engine: AsyncEngine, *, clear: Sequence[Limit] = (), refund: Sequence[Limit] = ()) -> None:
    """After a correct credential: forget `clear` keys entirely and take the charge back from `refund` keys."""
    async with engine.begin() as conn:
        for limit in sorted(clear, key=lambda item: item.key):
            await attempts_db.clear(conn, limit.key)
        for limit in sorted(refund, key=lambda item: item.key):
            await attempts_db.refund(conn, limit.key, limit=limit.max_failures)
