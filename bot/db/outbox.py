"""SQL for the durable Slack outbox: enqueue inside the caller's transaction, claim, settle.

Ordering: only the oldest undelivered row of a channel (its *head*) can be claimed, and a claimed
row keeps blocking its channel until it is settled, so messages reach a channel in insert order
even with several workers. Pacing: `bot_outbox_pace.next_at` says when a channel may get its next
message, shared by every replica.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.plain import SqlConnection

OutboxKind = Literal["post", "update", "ephemeral", "upload", "reaction"]


@dataclass(frozen=True)
class OutboxMessage:
    """A claimed outbox row, ready to deliver."""

    id: int
    channel: str
    kind: OutboxKind
    payload: dict[str, Any]
    attempts: int
    enterprise_id: str | None = None  # the workspace it is for; None: the configured (or home) one
    team_id: str | None = None


#: The workspace is the caller's when given, else the one the channel or user was seen in (distributed
#: mode fills the directory; in single-workspace mode it stays empty and rows mean the configured token),
#: else for a user the workspace they linked from.
_ENQUEUE = text(
    """
    INSERT INTO bot_outbox (channel, kind, payload, dedupe_key, enterprise_id, team_id)
    SELECT :channel, :kind, CAST(:payload AS jsonb), :dedupe_key,
           CASE WHEN CAST(:team_id AS varchar) IS NOT NULL THEN :enterprise_id
                WHEN d.team_id IS NOT NULL THEN d.enterprise_id ELSE NULLIF(i.enterprise_id, '') END,
           COALESCE(CAST(:team_id AS varchar), d.team_id, i.team_id)
    FROM (SELECT 1) AS one
    LEFT JOIN bot_slack_conversations d ON d.conversation_id = :channel
    LEFT JOIN LATERAL (
        SELECT enterprise_id, team_id FROM bot_slack_identities
        WHERE slack_user_id = :channel AND d.team_id IS NULL ORDER BY linked_at DESC LIMIT 1
    ) i ON true
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id
    """
)

_CLAIM = text(
    """
    WITH heads AS (
        SELECT DISTINCT ON (channel) id
        FROM bot_outbox
        WHERE status IN ('pending', 'sending')
        ORDER BY channel, id
    ),
    picked AS (
        SELECT o.id
        FROM bot_outbox o
        JOIN heads h ON h.id = o.id
        LEFT JOIN bot_outbox_pace p ON p.channel = o.channel
        WHERE ((o.status = 'pending' AND o.next_attempt_at <= now())
               OR (o.status = 'sending' AND o.locked_until < now()))
          AND (p.next_at IS NULL OR p.next_at <= now())
        ORDER BY o.id
        LIMIT :limit
        FOR UPDATE OF o SKIP LOCKED
    )
    UPDATE bot_outbox o
    SET status = 'sending',
        attempts = o.attempts + 1,
        locked_until = now() + make_interval(secs => :lease)
    FROM picked
    WHERE o.id = picked.id
    RETURNING o.id, o.channel, o.kind, o.payload, o.attempts, o.enterprise_id, o.team_id
    """
)

_DELIVERED = text(
    """
    WITH done AS (
        UPDATE bot_outbox
        SET status = 'delivered', delivered_at = now(), result = CAST(:result AS jsonb),
            locked_until = NULL, last_error = NULL
        WHERE id = :id AND status = 'sending'
        RETURNING channel
    )
    INSERT INTO bot_outbox_pace (channel, next_at)
    SELECT channel, now() + make_interval(secs => :pace) FROM done
    ON CONFLICT (channel) DO UPDATE SET next_at = EXCLUDED.next_at
    """
)

_POSTPONE = text(
    """
    UPDATE bot_outbox
    SET status = 'pending', locked_until = NULL, last_error = :error,
        attempts = attempts - :refund,
        next_attempt_at = now() + make_interval(secs => :delay)
    WHERE id = :id AND status = 'sending'
    """
)

_PACE_CHANNEL = text(
    """
    INSERT INTO bot_outbox_pace (channel, next_at)
    VALUES (:channel, now() + make_interval(secs => :delay))
    ON CONFLICT (channel) DO UPDATE SET next_at = GREATEST(bot_outbox_pace.next_at, EXCLUDED.next_at)
    """
)

_DEAD = text(
    """
    UPDATE bot_outbox
    SET status = 'dead', locked_until = NULL, last_error = :error
    WHERE id = :id AND status = 'sending'
    """
)

_PLAIN = text(
    """
    UPDATE bot_outbox
    SET payload = CAST(:payload AS jsonb), plain_fallback = :reason, status = 'pending', locked_until = NULL,
        attempts = attempts - 1, next_attempt_at = now(), last_error = :reason
    WHERE id = :id AND status = 'sending'
    """
)

_PENDING_COUNT = text("SELECT count(*) FROM bot_outbox WHERE status IN ('pending', 'sending')")


async def enqueue(
    conn: SqlConnection,
    channel: str,
    payload: dict[str, Any],
    *,
    kind: OutboxKind = "post",
    dedupe_key: str | None = None,
    team_id: str | None = None,
    enterprise_id: str | None = None,
) -> int | None:
    """Queue a Slack message in the caller's transaction; returns None if `dedupe_key` was seen."""
    params = {
        "channel": channel,
        "kind": kind,
        "payload": json.dumps(payload),
        "dedupe_key": dedupe_key,
        "team_id": team_id,
        "enterprise_id": enterprise_id if team_id is not None else None,
    }
    row = (await conn.execute(_ENQUEUE, params)).first()
    return None if row is None else int(row[0])


async def claim(engine: AsyncEngine, *, limit: int, lease_seconds: float) -> list[OutboxMessage]:
    """Claim up to `limit` channel heads that are due and not paced, one per channel."""
    async with engine.begin() as conn:
        rows = (await conn.execute(_CLAIM, {"limit": limit, "lease": lease_seconds})).all()
    return [
        OutboxMessage(
            id=r.id,
            channel=r.channel,
            kind=r.kind,
            payload=r.payload,
            attempts=r.attempts,
            enterprise_id=r.enterprise_id,
            team_id=r.team_id,
        )
        for r in rows
    ]


async def mark_delivered(engine: AsyncEngine, message_id: int, result: dict[str, Any], *, pace_seconds: float) -> None:
    async with engine.begin() as conn:
        await conn.execute(_DELIVERED, {"id": message_id, "result": json.dumps(result), "pace": pace_seconds})


async def send_plain(engine: AsyncEngine, message_id: int, payload: dict[str, Any], reason: str) -> None:
    """Slack refused the message's content: queue its plain version at once, in its place in the channel
    (the refused attempt is not counted), and keep Slack's `reason` on the row."""
    async with engine.begin() as conn:
        await conn.execute(_PLAIN, {"id": message_id, "payload": json.dumps(payload), "reason": reason})


async def postpone(
    engine: AsyncEngine,
    message: OutboxMessage,
    *,
    delay_seconds: float,
    error: str,
    counts_as_attempt: bool = True,
    pace_channel: bool = False,
) -> None:
    """Put a message back in the queue; rate limits do not count against its attempts."""
    async with engine.begin() as conn:
        await conn.execute(
            _POSTPONE,
            {
                "id": message.id,
                "delay": delay_seconds,
                "error": error[:2000],
                "refund": 0 if counts_as_attempt else 1,
            },
        )
        if pace_channel:
            await conn.execute(_PACE_CHANNEL, {"channel": message.channel, "delay": delay_seconds})


#: A queued notice (`bot.services.notices`) that a replica of an earlier release claimed during a
#: rolling upgrade: it sent the row as it was, Slack answered `no_text`, and the row went dead.
_REVIVE_NOTICES = text(
    """
    UPDATE bot_outbox
    SET status = 'pending', attempts = 0, next_attempt_at = now(), locked_until = NULL,
        last_error = 'revived: sent by an older replica as no_text'
    WHERE status = 'dead' AND payload ? 'notice' AND last_error LIKE '%no\\_text%'
    """
)


async def revive_notices_sent_by_older_replicas(conn: SqlConnection) -> int:
    """Put notices an older replica could not write back in the queue (they keep their place)."""
    return (await conn.execute(_REVIVE_NOTICES)).rowcount or 0


async def mark_dead(engine: AsyncEngine, message_id: int, error: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(_DEAD, {"id": message_id, "error": error[:2000]})


async def pending_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(_PENDING_COUNT)).scalar_one())
