"""Events API delivery rules: each event id is processed once, whichever replica receives it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import slack_events as events_db


async def is_first_delivery(engine: AsyncEngine, event_id: str | None, event_type: str | None) -> bool:
    """Slack retries an event when our 200 was late or lost; only the first copy gets processed.

    Deduplication is by `event_id` in the database, never by the retry headers: a retry may be the
    only copy that ever arrived.
    """
    if not event_id:
        return True
    return await events_db.record_first_delivery(engine, event_id, event_type)
