"""SQL for durable background jobs (``bot_jobs``): enqueue in the caller's transaction, claim with
``FOR UPDATE SKIP LOCKED`` and a lease, then settle as done, retried later or dead."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


_ENQUEUE = text(
    """
    INSERT INTO bot_jobs (kind, payload, dedupe_key, max_attempts, next_attempt_at)
    VALUES (:kind, CAST(:payload AS jsonb), :dedupe_key, :max_attempts, now() + make_interval(secs => :delay))
    ON CONFLICT (dedupe_key) DO NOTHING RETURNING id
    """
)
_CLAIM = text(
    """
    WITH picked AS (
        SELECT id FROM bot_jobs
        WHERE (status = 'pending' AND next_attempt_at <= now()) OR (status = 'running' AND locked_until < now())
        ORDER BY next_attempt_at, id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE bot_jobs j SET status = 'running', attempts = j.attempts + 1,
        locked_until = now() + make_interval(secs => :lease)
    FROM picked WHERE j.id = picked.id
    RETURNING j.id, j.kind, j.payload, j.attempts, j.max_attempts
    """
)
_DONE = text(
    "UPDATE bot_jobs SET status = 'done', finished_at = now(), locked_until = NULL, last_error = NULL "
    "WHERE id = :id AND status = 'running'"
)
_RETRY = text(
    """
    UPDATE bot_jobs SET status = 'pending', locked_until = NULL, last_error = :error,
        next_attempt_at = now() + make_interval(secs => :delay)
    WHERE id = :id AND status = 'running'
    """
)
_DEAD = text(
    "UPDATE bot_jobs SET status = 'dead', finished_at = now(), locked_until = NULL, last_error = :error "
    "WHERE id = :id AND status = 'running'"
)
_BY_KEY = text("SELECT id, kind, payload, status, attempts, last_error FROM bot_jobs WHERE dedupe_key = :key")


async def enqueue(
    conn: AsyncConnection,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    max_attempts: int = 8,
    delay_seconds: float = 0.0,
) -> int | None:
    """Queue a job in the caller's transaction; None if ``dedupe_key`` was already queued."""
    params = {
        "kind": kind,
        "payload": json.dumps(payload, default=str),
        "dedupe_key": dedupe_key,
        "max_attempts": max_attempts,
        "delay": delay_seconds,
    }
    row = (await conn.execute(_ENQUEUE, params)).first()
    return None if row is None else int(row[0])


async def claim(engine: AsyncEngine, *, limit: int, lease_seconds: float) -> list[Job]:
    async with engine.begin() as conn:
        rows = (await conn.execute(_CLAIM, {"limit": limit, "lease": lease_seconds})).all()
    return [Job(r.id, r.kind, r.payload, r.attempts, r.max_attempts) for r in rows]


async def mark_done(engine: AsyncEngine, job_id: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(_DONE, {"id": job_id})


async def retry_later(engine: AsyncEngine, job_id: int, *, delay_seconds: float, error: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(_RETRY, {"id": job_id, "delay": delay_seconds, "error": error[:2000]})


async def mark_dead(engine: AsyncEngine, job_id: int, error: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(_DEAD, {"id": job_id, "error": error[:2000]})


async def job_by_key(conn: AsyncConnection, dedupe_key: str) -> dict[str, Any] | None:
    row = (await conn.execute(_BY_KEY, {"key": dedupe_key})).first()
    return None if row is None else dict(row._mapping)


class RetryLater(Exception):
    """Not possible yet (no IP assigned, provider busy or refusing for now); retry after a backoff."""

    def __init__(self, reason: str, *, delay_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.delay_seconds = delay_seconds
