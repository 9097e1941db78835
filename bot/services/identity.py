"""Who is acting: a Slack identity, the ContainerStacks user it is linked to, and the organisation
the command applies to (the panel's rules, plus channel bindings and `/cs org use`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from bot.db import identities as identities_db
from bot.db import plain
from bot.db.identities import MembershipRow
from bot.db.plain import PlainConnection, SqlConnection
from bot.services.permissions import Action, Grant, OrgRole, require


@dataclass(frozen=True)
class SlackRef:
    """A Slack user in a workspace; `enterprise_id` is '' outside Enterprise Grid."""

    enterprise_id: str
    team_id: str
    user_id: str


@dataclass(frozen=True)
class OrgContext:
    id: uuid.UUID
    name: str
    slug: str
    role: OrgRole | None  # None: staff acting in an organisation they do not belong to


@dataclass(frozen=True)
class Actor:
    """A linked user acting from Slack, with the organisation this command applies to (if any)."""

    slack: SlackRef
    user_id: uuid.UUID
    email: str
    name: str
    is_staff: bool
    org: OrgContext | None

    def grant(self) -> Grant:
        return Grant(org_role=self.org.role if self.org else None, is_staff=self.is_staff)

    def require(self, action: Action) -> None:
        require(self.grant(), action, self.org.name if self.org else None)


def _context(row: MembershipRow) -> OrgContext:
    return OrgContext(
        id=row.organization_id, name=row.name, slug=row.slug, role=OrgRole.parse(row.role) if row.role else None
    )


async def choose_organization(
    conn: SqlConnection,
    user_id: uuid.UUID,
    *,
    is_staff: bool,
    channel_org: uuid.UUID | None,
    chosen_org: uuid.UUID | None,
    memberships: list[MembershipRow] | None = None,
) -> OrgContext | None:
    """Channel binding (if a member) → `/cs org use` choice → first membership → newest owned."""
    rows = memberships if memberships is not None else await identities_db.memberships(conn, user_id)
    by_id = {row.organization_id: row for row in rows}
    for candidate in (channel_org, chosen_org):
        if candidate is None:
            continue
        if candidate in by_id:
            return _context(by_id[candidate])
        if is_staff and (row := await identities_db.organization(conn, candidate)) is not None:
            return _context(row)
    if rows:
        return _context(rows[0])
    owned = await identities_db.newest_owned_organization(conn, user_id)
    return _context(owned) if owned else None


async def resolve_actor(pool: asyncpg.Pool, slack: SlackRef, channel_id: str | None) -> Actor | None:
    """The linked actor for a Slack user, or None when the Slack identity is not linked.

    Every command, button and form takes this path, so it reads through the plain pool: usually one
    round trip (identity, channel binding and memberships together).
    """

    async def lookup(conn: PlainConnection) -> Actor | None:
        found = await identities_db.actor_row(conn, slack.enterprise_id, slack.team_id, slack.user_id, channel_id)
        return None if found is None else await actor_from_row(conn, slack, found)

    return await plain.read(pool, lookup)


async def actor_from_row(conn: SqlConnection, slack: SlackRef, found: identities_db.ActorRow) -> Actor:
    """The actor for an identity row already read; another query only in the panel's fallbacks."""
    identity = found.identity
    is_staff = identity.user_role == "admin"
    org = await choose_organization(
        conn,
        identity.user_id,
        is_staff=is_staff,
        channel_org=found.channel_org,
        chosen_org=identity.active_organization_id,
        memberships=found.memberships,
    )
    return Actor(
        slack=slack, user_id=identity.user_id, email=identity.email, name=identity.name, is_staff=is_staff, org=org
    )
