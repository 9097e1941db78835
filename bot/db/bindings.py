"""SQL for channel bindings: which organisation's notices a Slack channel receives (one per channel)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class BindingRow:
    team_id: str
    channel_id: str
    organization_id: uuid.UUID
    organization_name: str
    notify_billing: bool
    notify_vps: bool
    notify_tickets: bool


_SELECT = """
    SELECT b.team_id, b.channel_id, b.organization_id, o.name AS organization_name,
           b.notify_billing, b.notify_vps, b.notify_tickets
    FROM bot_channel_bindings b JOIN organizations o ON o.id = b.organization_id
"""

_GET = text(_SELECT + " WHERE b.team_id = :team_id AND b.channel_id = :channel_id")
_GET_FOR_UPDATE = text(_SELECT + " WHERE b.team_id = :team_id AND b.channel_id = :channel_id FOR UPDATE OF b")
_FOR_ORG = text(
    _SELECT + " WHERE b.organization_id = :organization_id AND b.team_id = :team_id ORDER BY b.created_at, b.channel_id"
    " LIMIT :limit OFFSET :offset"
)
_COUNT_FOR_ORG = text(
    "SELECT count(*) FROM bot_channel_bindings WHERE organization_id = :organization_id AND team_id = :team_id"
)

_UPSERT = text(
    """
    INSERT INTO bot_channel_bindings
        (team_id, channel_id, organization_id, notify_billing, notify_vps, notify_tickets, created_by)
    VALUES (:team_id, :channel_id, :organization_id, :notify_billing, :notify_vps, :notify_tickets, :created_by)
    ON CONFLICT (team_id, channel_id) DO UPDATE
        SET organization_id = EXCLUDED.organization_id,
            notify_billing = EXCLUDED.notify_billing,
            notify_vps = EXCLUDED.notify_vps,
            notify_tickets = EXCLUDED.notify_tickets,
            created_by = EXCLUDED.created_by,
            created_at = CASE WHEN bot_channel_bindings.organization_id = EXCLUDED.organization_id
                              THEN bot_channel_bindings.created_at ELSE now() END
    """
)

_DELETE = text(
    "DELETE FROM bot_channel_bindings WHERE team_id = :team_id AND channel_id = :channel_id RETURNING organization_id"
)


async def get(conn: AsyncConnection, team_id: str, channel_id: str, *, for_update: bool = False) -> BindingRow | None:
    query = _GET_FOR_UPDATE if for_update else _GET
    row = (await conn.execute(query, {"team_id": team_id, "channel_id": channel_id})).first()
    return None if row is None else BindingRow(**row._mapping)


async def for_organization(
    conn: AsyncConnection, organization_id: uuid.UUID, team_id: str, *, limit: int, offset: int = 0
) -> list[BindingRow]:
    params = {"organization_id": organization_id, "team_id": team_id, "limit": limit, "offset": offset}
    return [BindingRow(**r._mapping) for r in (await conn.execute(_FOR_ORG, params)).all()]


async def count_for_organization(conn: AsyncConnection, organization_id: uuid.UUID, team_id: str) -> int:
    params = {"organization_id": organization_id, "team_id": team_id}
    return int((await conn.execute(_COUNT_FOR_ORG, params)).scalar_one())


async def upsert(
    conn: AsyncConnection,
    *,
    team_id: str,
    channel_id: str,
    organization_id: uuid.UUID,
    notify_billing: bool,
    notify_vps: bool,
    notify_tickets: bool,
    created_by: uuid.UUID,
) -> None:
    await conn.execute(
        _UPSERT,
        {
            "team_id": team_id,
            "channel_id": channel_id,
            "organization_id": organization_id,
            "notify_billing": notify_billing,
            "notify_vps": notify_vps,
            "notify_tickets": notify_tickets,
            "created_by": created_by,
        },
    )


async def delete(conn: AsyncConnection, team_id: str, channel_id: str) -> bool:
    return (await conn.execute(_DELETE, {"team_id": team_id, "channel_id": channel_id})).first() is not None
