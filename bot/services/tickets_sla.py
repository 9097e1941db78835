"""First-response SLAs and the digest hour: the settings staff choose, with their defaults.

SLA hours come from the `bot_settings` row `ticket_sla_hours` (JSON like {"urgent": 1}), falling
back to the defaults below; the reminders and the digest that use them are `bot.jobs.tickets_jobs`.
"""

from __future__ import annotations

import json

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db import tickets as tickets_db

SLA_HOURS_KEY = "ticket_sla_hours"
DIGEST_HOUR_KEY = "ticket_digest_hour"
DEFAULT_SLA_HOURS = {"urgent": 1, "high": 4, "medium": 24, "low": 72}
DEFAULT_DIGEST_HOUR = 9


async def sla_hours(conn: AsyncConnection) -> dict[str, int]:
    hours = dict(DEFAULT_SLA_HOURS)
    raw = await tickets_db.get_setting(conn, SLA_HOURS_KEY)
    if raw:
        try:
            configured = json.loads(raw)
        except ValueError:
            configured = {}
        for key, value in configured.items() if isinstance(configured, dict) else ():
            if key in hours and isinstance(value, int) and value > 0:
                hours[key] = value
    return hours
