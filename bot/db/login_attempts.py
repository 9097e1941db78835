"""SQL for the sign-in throttle (`bot_login_attempts`): one row per key such as `ip:…` or `email:…`.

Rows are read `FOR UPDATE` inside the caller's transaction, so replicas counting the same key at
the same moment take turns and no attempt goes uncounted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class AttemptRow:
    key: str
    failures: int
    window_started_at: datetime
    locked_until: datetime | None
    now: datetime  # the database's clock, so every replica judges windows by the same time


_ENSURE = text("INSERT INTO bot_login_attempts (key) VALUES (:key) ON CONFLICT (key) DO NOTHING")
_LOCK = text(
    "SELECT key, failures, window_started_at, locked_until, now() AS now FROM bot_login_attempts "
    "WHERE key = :key FOR UPDATE"
)
_SAVE = text(
    "UPDATE bot_login_attempts SET failures = :failures, window_started_at = :window_started_at, "
    "locked_until = :locked_until WHERE key = :key"
)
_CLEAR = text("DELETE FROM bot_login_attempts WHERE key = :key")
#: A success takes back the failure its attempt was charged; below the limit the key is unlocked.
_REFUND = text(
    """
    UPDATE bot_login_attempts
    SET failures = GREATEST(failures - 1, 0),
        locked_until = CASE WHEN failures - 1 < :limit THEN NULL ELSE locked_until END
    WHERE key = :key
    """
)
_PRUNE = text(
    """
    DELETE FROM bot_login_attempts WHERE key IN (
        SELECT key FROM bot_login_attempts
        WHERE window_started_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())
        LIMIT 500
    )
    """
)


async def lock_row(conn: AsyncConnection, key: str) -> AttemptRow:
    """The key's row (created empty if new), locked until the caller's transaction ends."""
    await conn.execute(_ENSURE, {"key": key})
    row = (await conn.execute(_LOCK, {"key": key})).one()
    return AttemptRow(**row._mapping)


async def save(
    conn: AsyncConnection, key: str, *, failures: int, window_started_at: datetime, locked_until: datetime | None
) -> None:
    params = {"key": key, "failures": failures, "window_started_at": window_started_at, "locked_until": locked_until}
    await conn.execute(_SAVE, params)


async def clear(conn: AsyncConnection, key: str) -> None:
    await conn.execute(_CLEAR, {"key": key})


async def refund(conn: AsyncConnection, key: str, *, limit: int) -> None:
    await conn.execute(_REFUND, {"key": key, "limit": limit})


async def prune(conn: AsyncConnection) -> None:
    """Forget keys idle for a day (bounded, so a large backlog is cleared a slice at a time)."""
    await conn.execute(_PRUNE)
