"""SQL for "which organisation does this belong to": the owner of a ticket, a server or an organisation id."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from bot.db.plain import SqlConnection

#: One statement per kind of thing a button or form can be about (fixed table names, never user input).
_OWNER = {
    "organization": text("SELECT id FROM organizations WHERE id = :id"),
    "ticket": text("SELECT organization_id FROM support_tickets WHERE id = :id"),
    "server": text("SELECT organization_id FROM vps_instances WHERE id = :id"),
}


async def owning_organization(conn: SqlConnection, kind: str, object_id: uuid.UUID) -> uuid.UUID | None:
    """The organisation `object_id` (of `kind`: organization, ticket or server) belongs to, if it exists."""
    return (await conn.execute(_OWNER[kind], {"id": object_id})).scalar()
