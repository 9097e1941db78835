"""SQL for Events API deduplication: an event id is processed by whoever inserts it first."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_RECORD = text(
    """
    INSERT INTO bot_slack_events (event_id, event_type) VALUES (:event_id, :event_type)
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
    """
)
_PRUNE = text("DELETE FROM bot_slack_events WHERE received_at < now() - make_interval(hours => :hours)")


async def record_first_delivery(engine: AsyncEngine, event_id: str, event_type: str | None) -> bool:
    """True the first time an event id is seen (across every replica), False for a redelivery."""
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                _RECORD, {"event_id": event_id[:64], "event_type": event_type[:64] if event_type else None}
            )
        ).first()
    return row is not None


async def prune(engine: AsyncEngine, *, older_than_hours: int = 48) -> int:
    """Forget old event ids; Slack stops retrying an event after about 5 minutes."""
    async with engine.begin() as conn:
        return (await conn.execute(_PRUNE, {"hours": older_than_hours})).rowcount
