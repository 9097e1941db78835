"""SQL for Slack identities and the organisation context a linked user acts in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.plain import PlainConnection, PlainRow, SqlConnection


@dataclass(frozen=True)
class IdentityRow:
    user_id: uuid.UUID
    email: str
    name: str
    user_role: str | None
    linked_via: str
    active_organization_id: uuid.UUID | None


@dataclass(frozen=True)
class MembershipRow:
    organization_id: uuid.UUID
    name: str
    slug: str
    role: str | None  # None: staff looking at an organisation they are not a member of


_IDENTITY = text(
    """
    SELECT u.id AS user_id, u.email, u.name, u.role AS user_role, i.linked_via, i.active_organization_id
    FROM bot_slack_identities i JOIN users u ON u.id = i.user_id
    WHERE i.enterprise_id = :enterprise_id AND i.team_id = :team_id AND i.slack_user_id = :slack_user_id
    """
)

#: Everything needed to resolve an actor in one round trip: identity, the channel's binding and the
#: memberships in the panel's order (an array of records: plain pool only, like the wallet card).
#: Also the first part of `/cs wallet`'s one statement (`wallet_view`).
ACTOR_SQL = """
    SELECT u.id AS user_id, u.email, u.name, u.role AS user_role, i.linked_via, i.active_organization_id,
           (SELECT b.organization_id FROM bot_channel_bindings b
             WHERE b.team_id = :team_id AND b.channel_id = :channel_id) AS channel_org,
           ARRAY(SELECT (m.organization_id, o.name, o.slug, m.role)
                   FROM organization_members m JOIN organizations o ON o.id = m.organization_id
                  WHERE m.user_id = u.id ORDER BY m.created_at, m.id) AS memberships
    FROM bot_slack_identities i JOIN users u ON u.id = i.user_id
    WHERE i.enterprise_id = :enterprise_id AND i.team_id = :team_id AND i.slack_user_id = :slack_user_id
"""
_ACTOR = text(ACTOR_SQL)

_LINK = text(
    """
    INSERT INTO bot_slack_identities (enterprise_id, team_id, slack_user_id, user_id, linked_via)
    VALUES (:enterprise_id, :team_id, :slack_user_id, :user_id, :linked_via)
    ON CONFLICT (enterprise_id, team_id, slack_user_id) DO UPDATE
        SET user_id = EXCLUDED.user_id, linked_via = EXCLUDED.linked_via, linked_at = now(),
            active_organization_id = CASE WHEN bot_slack_identities.user_id = EXCLUDED.user_id
                                          THEN bot_slack_identities.active_organization_id END
    """
)

_UNLINK = text(
    """
    DELETE FROM bot_slack_identities
    WHERE enterprise_id = :enterprise_id AND team_id = :team_id AND slack_user_id = :slack_user_id
    RETURNING user_id
    """
)

_SET_ACTIVE_ORG = text(
    """
    UPDATE bot_slack_identities SET active_organization_id = :organization_id
    WHERE enterprise_id = :enterprise_id AND team_id = :team_id AND slack_user_id = :slack_user_id
    """
)

#: Memberships in the panel's order: the auth middleware takes the *first* membership row.
_MEMBERSHIPS = text(
    """
    SELECT m.organization_id, o.name, o.slug, m.role
    FROM organization_members m JOIN organizations o ON o.id = m.organization_id
    WHERE m.user_id = :user_id
    ORDER BY m.created_at, m.id
    """
)

#: The panel's fallback when a user has no membership row: the newest organisation they own.
_NEWEST_OWNED = text(
    """
    SELECT o.id AS organization_id, o.name, o.slug, 'owner' AS role
    FROM organizations o WHERE o.owner_id = :user_id
    ORDER BY o.created_at DESC LIMIT 1
    """
)

_ORGANIZATION = text("SELECT id AS organization_id, name, slug FROM organizations WHERE id = :organization_id")


_SLACK_IDS_OF_USER = text(
    "SELECT enterprise_id, team_id, slack_user_id FROM bot_slack_identities WHERE user_id = :user_id"
)


def _slack_params(enterprise_id: str, team_id: str, slack_user_id: str) -> dict[str, str]:
    return {"enterprise_id": enterprise_id, "team_id": team_id, "slack_user_id": slack_user_id}


async def get_identity(
    conn: AsyncConnection, enterprise_id: str, team_id: str, slack_user_id: str
) -> IdentityRow | None:
    row = (await conn.execute(_IDENTITY, _slack_params(enterprise_id, team_id, slack_user_id))).first()
    return None if row is None else IdentityRow(**row._mapping)


@dataclass(frozen=True)
class ActorRow:
    identity: IdentityRow
    channel_org: uuid.UUID | None
    memberships: list[MembershipRow]


def actor_params(enterprise_id: str, team_id: str, slack_user_id: str, channel_id: str | None) -> dict[str, str]:
    """The parameters of `ACTOR_SQL`."""
    return {**_slack_params(enterprise_id, team_id, slack_user_id), "channel_id": channel_id or ""}


def actor_row_from(row: PlainRow) -> ActorRow:
    """An `ActorRow` from a row that has `ACTOR_SQL`'s columns (and maybe more)."""
    identity = IdentityRow(
        user_id=row.user_id, email=row.email, name=row.name, user_role=row.user_role,
        linked_via=row.linked_via, active_organization_id=row.active_organization_id,
    )  # fmt: skip
    memberships = [MembershipRow(*values) for values in row.memberships]  # records, in field order
    return ActorRow(identity=identity, channel_org=row.channel_org, memberships=memberships)


async def actor_row(
    conn: PlainConnection, enterprise_id: str, team_id: str, slack_user_id: str, channel_id: str | None
) -> ActorRow | None:
    """Identity, channel binding and memberships in one query (the path every command takes).

    On the plain pool only: SQLAlchemy's dialect does not decode arrays of records."""
    row = (await conn.execute(_ACTOR, actor_params(enterprise_id, team_id, slack_user_id, channel_id))).first()
    return None if row is None else actor_row_from(row)


async def link_identity(
    conn: AsyncConnection, *, enterprise_id: str, team_id: str, slack_user_id: str, user_id: uuid.UUID, linked_via: str
) -> None:
    """Link (or re-link) a Slack identity; re-linking to another user forgets the chosen org."""
    params = {**_slack_params(enterprise_id, team_id, slack_user_id), "user_id": user_id, "linked_via": linked_via}
    await conn.execute(_LINK, params)


async def unlink_identity(
    conn: AsyncConnection, enterprise_id: str, team_id: str, slack_user_id: str
) -> uuid.UUID | None:
    row = (await conn.execute(_UNLINK, _slack_params(enterprise_id, team_id, slack_user_id))).first()
    return None if row is None else row.user_id


async def set_active_organization(
    conn: AsyncConnection, *, enterprise_id: str, team_id: str, slack_user_id: str, organization_id: uuid.UUID
) -> None:
    params = {**_slack_params(enterprise_id, team_id, slack_user_id), "organization_id": organization_id}
    await conn.execute(_SET_ACTIVE_ORG, params)


async def memberships(conn: SqlConnection, user_id: uuid.UUID) -> list[MembershipRow]:
    rows = (await conn.execute(_MEMBERSHIPS, {"user_id": user_id})).all()
    return [MembershipRow(**r._mapping) for r in rows]


async def newest_owned_organization(conn: SqlConnection, user_id: uuid.UUID) -> MembershipRow | None:
    row = (await conn.execute(_NEWEST_OWNED, {"user_id": user_id})).first()
    return None if row is None else MembershipRow(**row._mapping)


async def organization(conn: SqlConnection, organization_id: uuid.UUID) -> MembershipRow | None:
    row = (await conn.execute(_ORGANIZATION, {"organization_id": organization_id})).first()
    return None if row is None else MembershipRow(**row._mapping, role=None)


async def slack_ids_of_user(conn: AsyncConnection, user_id: uuid.UUID) -> list[tuple[str, str, str]]:
    rows = (await conn.execute(_SLACK_IDS_OF_USER, {"user_id": user_id})).all()
    return [(r.enterprise_id, r.team_id, r.slack_user_id) for r in rows]
