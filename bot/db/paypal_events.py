"""SQL for the PayPal webhook inbox: raw events stored before the 200, then claimed and applied.

Claiming uses `FOR UPDATE SKIP LOCKED` plus a lease, so any number of workers can share the inbox
and a crashed worker's claims are taken over once the lease ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db.plain import SqlConnection


@dataclass(frozen=True)
class InboxEvent:
    event_id: str
    event_type: str
    raw_body: bytes
    attempts: int


@dataclass(frozen=True)
class InboxSummary:
    event_id: str
    event_type: str
    resource_id: str | None
    status: str
    attempts: int
    deliveries: int
    outcome: str | None
    last_error: str | None
    received_at: datetime


#: asyncpg SQL (positional parameters): the receiving route writes through a plain asyncpg pool,
#: its hottest path. Events the bot does not handle are stored already `processed`.
_STORE = """
    INSERT INTO bot_paypal_events (event_id, event_type, resource_id, raw_body, headers, status, outcome, processed_at)
    VALUES ($1, $2, $3, $4, $5::jsonb, CASE WHEN $6 THEN 'pending' ELSE 'processed' END,
            CASE WHEN $6 THEN NULL ELSE 'ignored: not an event the bot handles' END,
            CASE WHEN $6 THEN NULL ELSE now() END)
    ON CONFLICT (event_id) DO UPDATE SET deliveries = bot_paypal_events.deliveries + 1
    RETURNING (xmax = 0) AS inserted
"""
_CLAIM = text(
    """
    WITH picked AS (
        SELECT event_id FROM bot_paypal_events
        WHERE (status IN ('pending', 'failed') AND next_attempt_at <= now())
           OR (status = 'processing' AND locked_until < now())
        ORDER BY received_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE bot_paypal_events e
    SET status = 'processing', attempts = e.attempts + 1, locked_until = now() + make_interval(secs => :lease)
    FROM picked WHERE e.event_id = picked.event_id
    RETURNING e.event_id, e.event_type, e.raw_body, e.attempts
    """
)
_PROCESSED = text(
    """
    UPDATE bot_paypal_events
    SET status = 'processed', outcome = :outcome, processed_at = now(), locked_until = NULL, last_error = NULL
    WHERE event_id = :event_id
    """
)
_FAILED = text(
    """
    UPDATE bot_paypal_events
    SET status = :status, last_error = :error, locked_until = NULL,
        next_attempt_at = now() + make_interval(secs => :delay)
    WHERE event_id = :event_id
    """
)
_REQUEUE = text(
    """
    UPDATE bot_paypal_events SET status = 'pending', next_attempt_at = now(), attempts = 0, last_error = NULL
    WHERE event_id = :event_id AND status IN ('failed', 'dead') RETURNING event_id
    """
)
_SUMMARY_COLUMNS = "event_id, event_type, resource_id, status, attempts, deliveries, outcome, last_error, received_at"
_RECENT = text(f"SELECT {_SUMMARY_COLUMNS} FROM bot_paypal_events ORDER BY received_at DESC LIMIT :limit")
_FAILURES = text(
    f"SELECT {_SUMMARY_COLUMNS} FROM bot_paypal_events WHERE status IN ('failed', 'dead') "
    "ORDER BY received_at DESC LIMIT :limit"
)


async def store(
    pool: asyncpg.Pool,
    *,
    event_id: str,
    event_type: str,
    resource_id: str | None,
    raw_body: bytes,
    headers: dict[str, str],
    handled: bool = True,
) -> bool:
    """Store a verified event; True if new, False for a redelivery (counted, not stored twice)."""
    inserted = await pool.fetchval(_STORE, event_id, event_type, resource_id, raw_body, json.dumps(headers), handled)
    return bool(inserted)


async def claim(engine: AsyncEngine, *, limit: int, lease_seconds: float) -> list[InboxEvent]:
    async with engine.begin() as conn:
        rows = (await conn.execute(_CLAIM, {"limit": limit, "lease": lease_seconds})).all()
    return [InboxEvent(r.event_id, r.event_type, bytes(r.raw_body), r.attempts) for r in rows]


async def mark_processed(conn: SqlConnection, event_id: str, outcome: str) -> None:
    await conn.execute(_PROCESSED, {"event_id": event_id, "outcome": outcome[:2000]})


async def mark_failed(engine: AsyncEngine, event_id: str, error: str, *, delay_seconds: float, dead: bool) -> None:
    """Record a failure in its own transaction (the work's transaction was rolled back)."""
    params = {
        "event_id": event_id,
        "error": error[:4000],
        "delay": delay_seconds,
        "status": "dead" if dead else "failed",
    }
    async with engine.begin() as conn:
        await conn.execute(_FAILED, params)


async def requeue(conn: AsyncConnection, event_id: str) -> bool:
    return (await conn.execute(_REQUEUE, {"event_id": event_id})).first() is not None


async def recent(conn: AsyncConnection, limit: int) -> list[InboxSummary]:
    return [InboxSummary(**r._mapping) for r in (await conn.execute(_RECENT, {"limit": limit})).all()]


async def failures(conn: AsyncConnection, limit: int) -> list[InboxSummary]:
    return [InboxSummary(**r._mapping) for r in (await conn.execute(_FAILURES, {"limit": limit})).all()]
