"""SQL the server page reads beyond the server row: this month's billed hours, the plan row as the
panel stores it (whatever columns a later panel added), which organisation owns a Linode, and the
label change of a hostname update."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class MonthUse:
    hours: int
    amount: Decimal


_MONTH = text(
    """
    SELECT count(*) AS hours, coalesce(sum(total_amount), 0) AS amount FROM vps_billing_cycles
    WHERE vps_instance_id = :server AND status = 'billed'
      AND billing_period_start >= :start AND billing_period_start < :end
    """
)
#: The whole row as JSON: a later panel's backup price columns come along when they exist.
_PLAN_ROW = text(
    "SELECT to_jsonb(p) AS row FROM vps_plans p WHERE p.id::text = :plan OR p.provider_plan_id = :plan "
    "ORDER BY (p.id::text = :plan) DESC LIMIT 1"
)
_OWNERS = text(
    "SELECT provider_instance_id, organization_id FROM vps_instances WHERE provider_instance_id = ANY(:ids) "
    "AND (provider_type IS NULL OR provider_type = 'linode')"  # another provider's ids are not Linode's
)
_LABEL_TAKEN = text(
    "SELECT 1 FROM vps_instances WHERE organization_id = :org AND lower(label) = lower(:label) AND id <> :id"
)
_SET_LABEL = text("UPDATE vps_instances SET label = :label, updated_at = now() WHERE id = :id")


async def month_use(conn: AsyncConnection, server_id: uuid.UUID, start: datetime, end: datetime) -> MonthUse:
    row = (await conn.execute(_MONTH, {"server": server_id, "start": start, "end": end})).one()
    return MonthUse(int(row.hours), Decimal(row.amount))


async def plan_row(conn: AsyncConnection, plan_id: str) -> dict[str, Any] | None:
    found = (await conn.execute(_PLAN_ROW, {"plan": plan_id})).first()
    return dict(found.row) if found is not None else None


async def owners(conn: AsyncConnection, linode_ids: list[int]) -> dict[int, uuid.UUID]:
    """The organisation of each Linode id the panel's rows know (ids as the panel stores them: text)."""
    rows = (await conn.execute(_OWNERS, {"ids": [str(i) for i in linode_ids]})).all()
    return {int(r.provider_instance_id): r.organization_id for r in rows if r.provider_instance_id.isdigit()}


async def label_taken(conn: AsyncConnection, organization_id: uuid.UUID, server_id: uuid.UUID, label: str) -> bool:
    params = {"org": organization_id, "label": label, "id": server_id}
    return (await conn.execute(_LABEL_TAKEN, params)).first() is not None


async def set_label(conn: AsyncConnection, server_id: uuid.UUID, label: str) -> None:
    await conn.execute(_SET_LABEL, {"id": server_id, "label": label})
