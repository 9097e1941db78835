"""SQL for the PayPal webhook inbox: raw events stored before the 200, then claimed and applied.

Each delivery's transmission id is stored in the same statement as its event, bound to the SHA-256
of its body, so headers replayed with another body are refused. Claiming uses `FOR UPDATE SKIP
LOCKED` plus a lease, so any number of workers can share the inbox and a crashed worker's claims
are taken over once the lease ends.
"""

from __future__ import annotations

import enum
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
    waits: int = 0  # rounds spent waiting for PayPal (not attempts: an outage never makes an event dead)


@dataclass(frozen=True)
class Transmission:
    """One delivery's `PAYPAL-TRANSMISSION-ID`, its (signed) time and the digest of its body."""

    transmission_id: str
    transmission_time: datetime
    body_sha256: bytes


class Stored(enum.Enum):
    NEW = "new"  # a new event
    REDELIVERY = "redelivery"  # a new transmission (or an exact re-send) of an event already stored
    REUSED_TRANSMISSION = "reused_transmission"  # this transmission id came before with another body


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
#: its hottest path, in one round trip: the transmission is claimed and, only if it was new, the
#: event stored (both or neither). Events the bot does not handle are stored already `processed`.
_STORE = """
    WITH t AS (
        INSERT INTO bot_paypal_transmissions (transmission_id, body_sha256, event_id, transmission_time)
        VALUES ($7, $8, $1, $9) ON CONFLICT (transmission_id) DO NOTHING RETURNING transmission_id
    ), e AS (
        INSERT INTO bot_paypal_events
            (event_id, event_type, resource_id, raw_body, headers, status, outcome, processed_at)
        SELECT $1, $2::varchar, $3::varchar, $4::bytea, $5::jsonb, CASE WHEN $6 THEN 'pending' ELSE 'processed' END,
               CASE WHEN $6 THEN NULL ELSE 'ignored: not an event the bot handles' END,
               CASE WHEN $6 THEN NULL ELSE now() END
        WHERE EXISTS (SELECT 1 FROM t)
        ON CONFLICT (event_id) DO UPDATE SET deliveries = bot_paypal_events.deliveries + 1
        RETURNING (xmax = 0) AS inserted
    )
    SELECT EXISTS (SELECT 1 FROM t) AS fresh, coalesce((SELECT inserted FROM e), false) AS inserted
"""
#: A transmission id seen before: the same bytes again are a harmless re-send (counted).
_RESENT = """
    WITH seen AS (SELECT 1 FROM bot_paypal_transmissions WHERE transmission_id = $1 AND body_sha256 = $2)
    UPDATE bot_paypal_events SET deliveries = deliveries + 1
    WHERE event_id = $3 AND EXISTS (SELECT 1 FROM seen)
    RETURNING event_id
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
    RETURNING e.event_id, e.event_type, e.raw_body, e.attempts, e.waits
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
#: PayPal could not be asked: back to `pending`, and this claim does not count as an attempt.
_WAITING = text(
    """
    UPDATE bot_paypal_events
    SET status = 'pending', attempts = greatest(attempts - 1, 0), waits = waits + 1, last_error = :error,
        locked_until = NULL, next_attempt_at = now() + make_interval(secs => :delay)
    WHERE event_id = :event_id
    """
)
_REQUEUE = text(
    """
    UPDATE bot_paypal_events
    SET status = 'pending', next_attempt_at = now(), attempts = 0, waits = 0, last_error = NULL
    WHERE event_id = :event_id AND status IN ('failed', 'dead') RETURNING event_id
    """
)
_PRUNE_TRANSMISSIONS = text(
    "DELETE FROM bot_paypal_transmissions WHERE received_at < now() - make_interval(secs => :seconds)"
)
_SUMMARY_COLUMNS = "event_id, event_type, resource_id, status, attempts, deliveries, outcome, last_error, received_at"
_RECENT = text(
    f"SELECT {_SUMMARY_COLUMNS} FROM bot_paypal_events ORDER BY received_at DESC, event_id LIMIT :limit OFFSET :offset"
)
_COUNT = text("SELECT count(*) FROM bot_paypal_events")
_FAILURES = text(
    f"SELECT {_SUMMARY_COLUMNS} FROM bot_paypal_events WHERE status IN ('failed', 'dead') "
    "ORDER BY received_at DESC LIMIT :limit"
)
_FAILURE_COUNT = text("SELECT count(*) FROM bot_paypal_events WHERE status IN ('failed', 'dead')")


async def store(
    pool: asyncpg.Pool,
    *,
    event_id: str,
    event_type: str,
    resource_id: str | None,
    raw_body: bytes,
    headers: dict[str, str],
    transmission: Transmission,
    handled: bool = True,
) -> Stored:
    """Store a verified event with its transmission; a transmission id already seen with another body
    stores nothing (REUSED_TRANSMISSION), with the same body it is counted as a redelivery."""
    row = await pool.fetchrow(
        _STORE, event_id, event_type, resource_id, raw_body, json.dumps(headers), handled,
        transmission.transmission_id, transmission.body_sha256, transmission.transmission_time,
    )  # fmt: skip
    assert row is not None  # the final SELECT always answers one row
    if row["fresh"]:
        return Stored.NEW if row["inserted"] else Stored.REDELIVERY
    resent = await pool.fetchval(_RESENT, transmission.transmission_id, transmission.body_sha256, event_id)
    return Stored.REDELIVERY if resent is not None else Stored.REUSED_TRANSMISSION


async def claim(engine: AsyncEngine, *, limit: int, lease_seconds: float) -> list[InboxEvent]:
    async with engine.begin() as conn:
        rows = (await conn.execute(_CLAIM, {"limit": limit, "lease": lease_seconds})).all()
    return [InboxEvent(r.event_id, r.event_type, bytes(r.raw_body), r.attempts, r.waits) for r in rows]


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


async def mark_waiting(engine: AsyncEngine, event_id: str, error: str, *, delay_seconds: float) -> None:
    """PayPal could not be asked for its copy: the event waits `delay_seconds`, attempts unchanged."""
    async with engine.begin() as conn:
        await conn.execute(_WAITING, {"event_id": event_id, "error": error[:4000], "delay": delay_seconds})


async def prune_transmissions(engine: AsyncEngine, *, older_than_seconds: float) -> int:
    """Forget transmission ids received long ago (their signed time is outside the window by then)."""
    async with engine.begin() as conn:
        return (await conn.execute(_PRUNE_TRANSMISSIONS, {"seconds": older_than_seconds})).rowcount


async def requeue(conn: AsyncConnection, event_id: str) -> bool:
    return (await conn.execute(_REQUEUE, {"event_id": event_id})).first() is not None


async def recent(conn: AsyncConnection, limit: int, offset: int = 0) -> list[InboxSummary]:
    rows = (await conn.execute(_RECENT, {"limit": limit, "offset": offset})).all()
    return [InboxSummary(**r._mapping) for r in rows]


async def count(conn: AsyncConnection) -> int:
    return int((await conn.execute(_COUNT)).scalar_one())


async def failures(conn: AsyncConnection, limit: int) -> list[InboxSummary]:
    return [InboxSummary(**r._mapping) for r in (await conn.execute(_FAILURES, {"limit": limit})).all()]


async def failure_count(conn: AsyncConnection) -> int:
    return int((await conn.execute(_FAILURE_COUNT)).scalar_one())
