"""SQL for organisations, their members and wallets (the panel's tables, written the panel's way)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.identities import MembershipRow


@dataclass(frozen=True)
class OrgRow:
    id: uuid.UUID
    name: str
    slug: str
    owner_id: uuid.UUID


@dataclass(frozen=True)
class OrgSummaryRow:
    id: uuid.UUID
    name: str
    slug: str
    member_count: int
    balance: Decimal | None  # None: the organisation has no wallet row
    currency: str | None


@dataclass(frozen=True)
class MemberRow:
    user_id: uuid.UUID
    name: str
    email: str
    role: str
    slack_user_ids: tuple[str, ...]  # linked Slack identities in the asking workspace


@dataclass(frozen=True)
class LockedMember:
    user_id: uuid.UUID
    role: str


_INSERT_ORG = text("INSERT INTO organizations (id, name, slug, owner_id) VALUES (:id, :name, :slug, :owner_id)")

_INSERT_WALLET = text("INSERT INTO wallets (organization_id, balance, currency) VALUES (:organization_id, 0.00, 'USD')")

_ORG_BY_ID = text("SELECT id, name, slug, owner_id FROM organizations WHERE id = :id")

#: Slugs are lower-case by the panel's rules; an exact match wins over a case-insensitive one.
_ORG_BY_SLUG = text(
    """
    SELECT id, name, slug, owner_id FROM organizations
    WHERE lower(slug) = lower(:slug) ORDER BY slug = :slug DESC, created_at LIMIT 1
    """
)

#: The panel assumes one wallet per organisation but does not enforce it: take the oldest.
_SUMMARY = text(
    """
    SELECT o.id, o.name, o.slug,
           (SELECT count(*) FROM organization_members m WHERE m.organization_id = o.id) AS member_count,
           w.balance, w.currency
    FROM organizations o
    LEFT JOIN LATERAL (
        SELECT balance, currency FROM wallets WHERE organization_id = o.id ORDER BY created_at, id LIMIT 1
    ) w ON true
    WHERE o.id = :id
    """
)

_MEMBERS = text(
    """
    SELECT m.user_id, u.name, u.email, m.role,
           COALESCE(array_agg(i.slack_user_id ORDER BY i.slack_user_id)
                    FILTER (WHERE i.slack_user_id IS NOT NULL), '{}') AS slack_user_ids
    FROM organization_members m
    JOIN users u ON u.id = m.user_id
    LEFT JOIN bot_slack_identities i
           ON i.user_id = m.user_id AND i.enterprise_id = :enterprise_id AND i.team_id = :team_id
    WHERE m.organization_id = :organization_id
    GROUP BY m.user_id, u.name, u.email, m.role, m.created_at, m.id
    ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 ELSE 2 END, m.created_at, m.id
    LIMIT :limit OFFSET :offset
    """
)
_COUNT_MEMBERS = text("SELECT count(*) FROM organization_members WHERE organization_id = :organization_id")

#: Organisations a user may list: their memberships (and one they own without a membership row, the
#: panel's fallback), or every organisation for staff; memberships first, in the panel's order.
_LISTABLE = """
    FROM organizations o
    LEFT JOIN organization_members m ON m.organization_id = o.id AND m.user_id = :user_id
    WHERE (:everything OR m.id IS NOT NULL OR o.owner_id = :user_id)
"""
_LISTABLE_PAGE = text(
    f"""
    SELECT o.id AS organization_id, o.name, o.slug,
           COALESCE(m.role, CASE WHEN o.owner_id = :user_id THEN 'owner' END) AS role
    {_LISTABLE}
    ORDER BY m.id IS NULL, m.created_at, lower(o.name), o.id
    LIMIT :limit OFFSET :offset
    """
)
_COUNT_LISTABLE = text(f"SELECT count(*) {_LISTABLE}")
#: A search among them by name or slug: names or slugs that start with the text first.
_SEARCH_LISTABLE = text(
    f"""
    SELECT o.id AS organization_id, o.name, o.slug,
           COALESCE(m.role, CASE WHEN o.owner_id = :user_id THEN 'owner' END) AS role
    {_LISTABLE}
      AND (o.name ILIKE :pattern OR o.slug ILIKE :pattern)
    ORDER BY (o.name ILIKE :prefix OR o.slug ILIKE :prefix) DESC, m.id IS NULL, lower(o.name), o.id
    LIMIT :limit
    """
)

#: Serialises membership changes of one organisation: the row lock on the organisation (NO KEY
#: UPDATE, so concurrent membership inserts, which only need KEY SHARE, are not blocked) and then
#: every membership row, always in the same order so two transactions cannot deadlock.
_LOCK_ORG = text("SELECT id, name, slug, owner_id FROM organizations WHERE id = :id FOR NO KEY UPDATE")
_LOCK_MEMBERS = text(
    """
    SELECT user_id, COALESCE(role, 'member') AS role FROM organization_members
    WHERE organization_id = :organization_id
    ORDER BY id
    FOR UPDATE
    """
)

_SET_ROLE = text(
    "UPDATE organization_members SET role = :role WHERE organization_id = :organization_id AND user_id = :user_id"
)

_DELETE_MEMBER = text(
    "DELETE FROM organization_members WHERE organization_id = :organization_id AND user_id = :user_id RETURNING id"
)

_SET_OWNER = text("UPDATE organizations SET owner_id = :owner_id WHERE id = :id")

_ROLE_OF = text(
    "SELECT COALESCE(role, 'member') FROM organization_members WHERE organization_id = :organization_id "
    "AND user_id = :user_id"
)

_USER_NAME = text("SELECT name FROM users WHERE id = :id")

_SLACK_IDS_OF_MEMBERS = text(
    """
    SELECT DISTINCT i.slack_user_id FROM organization_members m
    JOIN bot_slack_identities i ON i.user_id = m.user_id
    WHERE m.organization_id = :organization_id AND i.enterprise_id = :enterprise_id AND i.team_id = :team_id
    ORDER BY i.slack_user_id
    """
)

_SLACK_IDS_OF_USER = text(
    """
    SELECT slack_user_id FROM bot_slack_identities
    WHERE user_id = :user_id AND enterprise_id = :enterprise_id AND team_id = :team_id
    ORDER BY slack_user_id
    """
)

#: Idempotency for modal submissions: one transaction per key at a time, across replicas.
_XACT_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")

#: The organisation a given modal submission already created (its view id is in the audit row).
_CREATED_BY_VIEW = text(
    """
    SELECT o.id, o.name, o.slug, o.owner_id
    FROM activity_logs a JOIN organizations o ON o.id::text = a.entity_id
    WHERE a.event_type = 'org.create' AND a.user_id = :user_id AND a.metadata->>'slack_view_id' = :view_id
    LIMIT 1
    """
)


async def insert_organization(
    conn: AsyncConnection, *, org_id: uuid.UUID, name: str, slug: str, owner_id: uuid.UUID
) -> None:
    await conn.execute(_INSERT_ORG, {"id": org_id, "name": name, "slug": slug, "owner_id": owner_id})


async def insert_wallet(conn: AsyncConnection, organization_id: uuid.UUID) -> None:
    await conn.execute(_INSERT_WALLET, {"organization_id": organization_id})


async def organization(conn: AsyncConnection, org_id: uuid.UUID) -> OrgRow | None:
    row = (await conn.execute(_ORG_BY_ID, {"id": org_id})).first()
    return None if row is None else OrgRow(**row._mapping)


async def organization_by_slug(conn: AsyncConnection, slug: str) -> OrgRow | None:
    row = (await conn.execute(_ORG_BY_SLUG, {"slug": slug})).first()
    return None if row is None else OrgRow(**row._mapping)


async def summary(conn: AsyncConnection, org_id: uuid.UUID) -> OrgSummaryRow | None:
    row = (await conn.execute(_SUMMARY, {"id": org_id})).first()
    return None if row is None else OrgSummaryRow(**row._mapping)


async def members(
    conn: AsyncConnection, org_id: uuid.UUID, *, enterprise_id: str, team_id: str, limit: int | None = None,
    offset: int = 0,
) -> list[MemberRow]:  # fmt: skip
    """Members with their roles, owners first (all of them, or `limit` from `offset`)."""
    params = {"organization_id": org_id, "enterprise_id": enterprise_id, "team_id": team_id, "limit": limit,
              "offset": offset}  # fmt: skip
    rows = (await conn.execute(_MEMBERS, params)).all()
    return [
        MemberRow(
            user_id=r.user_id,
            name=r.name,
            email=r.email,
            role=r.role or "member",
            slack_user_ids=tuple(r.slack_user_ids),
        )
        for r in rows
    ]


async def count_members(conn: AsyncConnection, org_id: uuid.UUID) -> int:
    return int((await conn.execute(_COUNT_MEMBERS, {"organization_id": org_id})).scalar_one())


async def listable_organizations(
    conn: AsyncConnection, user_id: uuid.UUID, *, everything: bool, limit: int, offset: int
) -> list[MembershipRow]:
    params = {"user_id": user_id, "everything": everything, "limit": limit, "offset": offset}
    return [MembershipRow(**r._mapping) for r in (await conn.execute(_LISTABLE_PAGE, params)).all()]


async def search_listable_organizations(
    conn: AsyncConnection, user_id: uuid.UUID, *, everything: bool, pattern: str, prefix: str, limit: int
) -> list[MembershipRow]:
    """`pattern`/`prefix` are ILIKE patterns (`%text%`, `text%`) with wildcards already escaped."""
    params = {"user_id": user_id, "everything": everything, "pattern": pattern, "prefix": prefix, "limit": limit}
    return [MembershipRow(**r._mapping) for r in (await conn.execute(_SEARCH_LISTABLE, params)).all()]


async def count_listable_organizations(conn: AsyncConnection, user_id: uuid.UUID, *, everything: bool) -> int:
    params = {"user_id": user_id, "everything": everything}
    return int((await conn.execute(_COUNT_LISTABLE, params)).scalar_one())


async def lock_organization(conn: AsyncConnection, org_id: uuid.UUID) -> tuple[OrgRow, list[LockedMember]] | None:
    """Lock the organisation and all its membership rows until the transaction ends."""
    row = (await conn.execute(_LOCK_ORG, {"id": org_id})).first()
    if row is None:
        return None
    locked = (await conn.execute(_LOCK_MEMBERS, {"organization_id": org_id})).all()
    return OrgRow(**row._mapping), [LockedMember(user_id=r.user_id, role=r.role) for r in locked]


async def role_of(conn: AsyncConnection, org_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    return (await conn.execute(_ROLE_OF, {"organization_id": org_id, "user_id": user_id})).scalar_one_or_none()


async def set_role(conn: AsyncConnection, org_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    await conn.execute(_SET_ROLE, {"organization_id": org_id, "user_id": user_id, "role": role})


async def delete_member(conn: AsyncConnection, org_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    params = {"organization_id": org_id, "user_id": user_id}
    return (await conn.execute(_DELETE_MEMBER, params)).first() is not None


async def set_owner(conn: AsyncConnection, org_id: uuid.UUID, owner_id: uuid.UUID) -> None:
    await conn.execute(_SET_OWNER, {"id": org_id, "owner_id": owner_id})


async def user_name(conn: AsyncConnection, user_id: uuid.UUID) -> str | None:
    return (await conn.execute(_USER_NAME, {"id": user_id})).scalar_one_or_none()


async def slack_ids_of_members(
    conn: AsyncConnection, org_id: uuid.UUID, *, enterprise_id: str, team_id: str
) -> list[str]:
    params = {"organization_id": org_id, "enterprise_id": enterprise_id, "team_id": team_id}
    return [r.slack_user_id for r in (await conn.execute(_SLACK_IDS_OF_MEMBERS, params)).all()]


async def slack_ids_of_user(
    conn: AsyncConnection, user_id: uuid.UUID, *, enterprise_id: str, team_id: str
) -> list[str]:
    params = {"user_id": user_id, "enterprise_id": enterprise_id, "team_id": team_id}
    return [r.slack_user_id for r in (await conn.execute(_SLACK_IDS_OF_USER, params)).all()]


async def lock_key(conn: AsyncConnection, key: str) -> None:
    """Hold a transaction-scoped advisory lock on `key` (released at commit or rollback)."""
    await conn.execute(_XACT_LOCK, {"key": key})


async def created_by_view(conn: AsyncConnection, user_id: uuid.UUID, view_id: str) -> OrgRow | None:
    row = (await conn.execute(_CREATED_BY_VIEW, {"user_id": user_id, "view_id": view_id})).first()
    return None if row is None else OrgRow(**row._mapping)
