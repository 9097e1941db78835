"""SQL for spend over time: what each server of an organisation was charged, per UTC day."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class DaySpend:
    day: date
    server_id: uuid.UUID
    label: str
    amount: Decimal


_DAILY = text(
    """
    SELECT (c.billing_period_start AT TIME ZONE 'UTC')::date AS day, c.vps_instance_id AS server_id,
        coalesce(v.label, f.label, '(deleted)') AS label, sum(c.total_amount) AS amount
    FROM vps_billing_cycles c
    LEFT JOIN vps_instances v ON v.id = c.vps_instance_id
    LEFT JOIN LATERAL (SELECT label FROM bot_billing_failures WHERE vps_instance_id = c.vps_instance_id
                       AND label IS NOT NULL LIMIT 1) f ON true
    WHERE c.organization_id = :org AND c.status = 'billed'
      AND c.billing_period_start >= :start AND c.billing_period_start < :end
    GROUP BY 1, 2, 3
    ORDER BY 1, 3
    """
)


async def daily_spend(
    conn: AsyncConnection, organization_id: uuid.UUID, start: datetime, end: datetime
) -> list[DaySpend]:
    rows = (await conn.execute(_DAILY, {"org": organization_id, "start": start, "end": end})).all()
    return [DaySpend(r.day, r.server_id, r.label, Decimal(r.amount)) for r in rows]
