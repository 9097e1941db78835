"""Hourly housekeeping: forget Events API ids long after Slack stops retrying, old job slots, and
PayPal transmission ids once their signed time can no longer be accepted, spent OAuth states; and
queue again the notices a replica of an earlier release killed during a rolling upgrade."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import billing_reports, oauth_states
from bot.db import outbox as outbox_db
from bot.db import paypal_events as inbox_db
from bot.db import slack_events as events_db

log = logging.getLogger(__name__)

SLOT_RETENTION_DAYS = 40
#: Extra time a PayPal transmission id is kept beyond the replay window (clock skew, slow replicas).
TRANSMISSION_MARGIN_SECONDS = 3600


def transmission_retention_seconds(max_age_seconds: int) -> int:
    """A transmission is accepted only while its signed time is within `max_age_seconds` of arrival,
    so any replay comes within 2 × that of the first receipt; keep the ids that long, plus a margin."""
    return 2 * max_age_seconds + TRANSMISSION_MARGIN_SECONDS


async def housekeeping(engine: AsyncEngine, now: datetime, *, paypal_max_age_seconds: int = 900) -> int:
    """Returns how many rows were removed (the time is unused: retention is relative to now())."""
    del now
    removed = await events_db.prune(engine)
    async with engine.begin() as conn:
        removed += await billing_reports.prune_slots(conn, older_than_days=SLOT_RETENTION_DAYS)
        removed += await oauth_states.forget_old(conn)
        revived = await outbox_db.revive_notices_sent_by_older_replicas(conn)
    if revived:
        log.warning("outbox.notices_revived", extra={"count": revived})
    retention = transmission_retention_seconds(paypal_max_age_seconds)
    removed += await inbox_db.prune_transmissions(engine, older_than_seconds=retention)
    return removed
