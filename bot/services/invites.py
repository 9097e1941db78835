"""Invites waiting for a Slack user to link: they become memberships the moment the user links."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db import invites as invites_db
from bot.services import audit
from bot.services.identity import SlackRef


@dataclass(frozen=True)
class AcceptedInvite:
    organization_id: uuid.UUID
    organization_name: str
    role: str
    added: bool  # False when the user was already a member (the invite is still closed)


async def accept_pending_invites(conn: AsyncConnection, slack: SlackRef, user_id: uuid.UUID) -> list[AcceptedInvite]:
    """Turn this Slack user's pending invites into memberships, in the caller's (linking) transaction."""
    accepted = []
    pending = await invites_db.pending_for_update(
        conn, enterprise_id=slack.enterprise_id, team_id=slack.team_id, slack_user_id=slack.user_id
    )
    for invite in pending:
        added = await invites_db.add_member(conn, invite.organization_id, user_id, invite.role)
        await invites_db.mark_accepted(conn, invite.id)
        if added:
            await audit.record(
                conn,
                user_id=user_id,
                slack=slack,
                event_type="org.member.add",
                entity_type="organization",
                entity_id=str(invite.organization_id),
                organization_id=invite.organization_id,
                message=f"Joined {invite.organization_name} as {invite.role} (Slack invite accepted on linking)",
                metadata={"role": invite.role, "invited_by": str(invite.invited_by) if invite.invited_by else None},
            )
        accepted.append(AcceptedInvite(invite.organization_id, invite.organization_name, invite.role, added))
    return accepted
