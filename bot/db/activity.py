"""SQL for the panel's `activity_logs` (the audit trail both the panel and the bot write)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text

from bot.db.plain import SqlConnection

_INSERT = text(
    """
    INSERT INTO activity_logs
        (user_id, organization_id, event_type, entity_type, entity_id, message, status, ip_address, user_agent,
         metadata, is_read, read_at)
    VALUES (:user_id, :organization_id, :event_type, :entity_type, :entity_id, :message, :status, :ip_address,
            :user_agent, CAST(:metadata AS jsonb), CAST(:is_read AS boolean),
            CASE WHEN CAST(:is_read AS boolean) THEN now() END)
    RETURNING id
    """
)


async def insert_activity(
    conn: SqlConnection,
    *,
    user_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
    event_type: str,
    entity_type: str,
    entity_id: str | None,
    message: str,
    status: str,
    metadata: dict[str, Any],
    ip_address: str | None = None,
    user_agent: str | None = None,
    is_read: bool = False,
) -> uuid.UUID:
    """One row; `is_read` writes it as already seen (the panel's `suppressNotification`), so it stays
    in the activity history without showing up as an unread notification."""
    row = (
        await conn.execute(
            _INSERT,
            {
                "user_id": user_id,
                "organization_id": organization_id,
                "event_type": event_type,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "message": message,
                "status": status,
                "ip_address": ip_address,
                "user_agent": user_agent,
                "metadata": json.dumps(metadata, default=str),
                "is_read": is_read,
            },
        )
    ).one()
    return row.id
