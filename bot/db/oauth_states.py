"""SQL for OAuth `state` values: issued for one install attempt, consumed once, expiring."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_ISSUE = text(
    "INSERT INTO bot_slack_oauth_states (state, expires_at) VALUES (:state, now() + make_interval(secs => :seconds))"
)
#: Atomic: of two redirects carrying the same state, exactly one consumes it.
_CONSUME = text(
    """
    UPDATE bot_slack_oauth_states SET consumed_at = now()
    WHERE state = :state AND consumed_at IS NULL AND expires_at > now()
    RETURNING state
    """
)
_FORGET_OLD = text("DELETE FROM bot_slack_oauth_states WHERE expires_at < now() - interval '1 day'")


async def issue(conn: AsyncConnection, state: str, *, seconds: float) -> None:
    await conn.execute(_ISSUE, {"state": state, "seconds": seconds})


async def consume(conn: AsyncConnection, state: str) -> bool:
    return (await conn.execute(_CONSUME, {"state": state})).first() is not None


async def forget_old(conn: AsyncConnection) -> int:
    """Housekeeping: states a day past their expiry say nothing any more."""
    return (await conn.execute(_FORGET_OLD)).rowcount
