"""SQL for organisation invites addressed to Slack users who have not linked an account yet."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class PendingInvite:
    id: int
    organization_id: uuid.UUID
    organization_name: str
    role: str
    invited_by: uuid.UUID | None


_UPSERT = text(
    """
    INSERT INTO bot_org_invites (organization_id, enterprise_id, team_id, slack_user_id, role, invited_by)
    VALUES (:organization_id, :enterprise_id, :team_id, :slack_user_id, :role, :invited_by)
    ON CONFLICT (organization_id, enterprise_id, team_id, slack_user_id) DO UPDATE
        SET role = EXCLUDED.role, invited_by = EXCLUDED.invited_by, created_at = now(), accepted_at = NULL
    RETURNING id
    """
)

_PENDING_FOR_UPDATE = text(
    """
    SELECT i.id, i.organization_id, o.name AS organization_name, i.role, i.invited_by
    FROM bot_org_invites i JOIN organizations o ON o.id = i.organization_id
    WHERE i.enterprise_id = :enterprise_id AND i.team_id = :team_id AND i.slack_user_id = :slack_user_id
      AND i.accepted_at IS NULL
    ORDER BY i.created_at
    FOR UPDATE OF i
    """
)

_ADD_MEMBER = text(
    """
    INSERT INTO organization_members (organization_id, user_id, role) VALUES (:organization_id, :user_id, :role)
    ON CONFLICT (organization_id, user_id) DO NOTHING
    RETURNING id
    """
)

_ACCEPT = text("UPDATE bot_org_invites SET accepted_at = now() WHERE id = :id")


async def upsert_invite(
    conn: AsyncConnection,
    *,
    organization_id: uuid.UUID,
    enterprise_id: str,
    team_id: str,
    slack_user_id: str,
    role: str,
    invited_by: uuid.UUID,
) -> int:
    params = {
        "organization_id": organization_id,
        "enterprise_id": enterprise_id,
        "team_id": team_id,
        "slack_user_id": slack_user_id,
        "role": role,
        "invited_by": invited_by,
    }
    return int((await conn.execute(_UPSERT, params)).scalar_one())


async def pending_for_update(
    conn: AsyncConnection, *, enterprise_id: str, team_id: str, slack_user_id: str
) -> list[PendingInvite]:
    params = {"enterprise_id": enterprise_id, "team_id": team_id, "slack_user_id": slack_user_id}
    return [PendingInvite(**r._mapping) for r in (await conn.execute(_PENDING_FOR_UPDATE, params)).all()]


async def add_member(conn: AsyncConnection, organization_id: uuid.UUID, user_id: uuid.UUID, role: str) -> bool:
    """Insert a membership; False if the user already belongs to the organisation."""
    params = {"organization_id": organization_id, "user_id": user_id, "role": role}
    return (await conn.execute(_ADD_MEMBER, params)).first() is not None


async def mark_accepted(conn: AsyncConnection, invite_id: int) -> None:
    await conn.execute(_ACCEPT, {"id": invite_id})
