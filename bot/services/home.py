"""What a user's App Home shows: a snapshot of their link, organisations and the active one."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import home as home_db
from bot.db import identities as identities_db
from bot.db.home import BindingRow, ServerRow, TicketRow, WalletRow
from bot.services.identity import OrgContext, SlackRef, choose_organization

MAX_SERVERS = 10
MAX_TICKETS = 5


@dataclass(frozen=True)
class OrgSummary:
    name: str
    slug: str
    role: str | None
    active: bool


@dataclass(frozen=True)
class HomeSnapshot:
    linked: bool
    name: str | None = None
    email: str | None = None
    is_staff: bool = False
    organizations: list[OrgSummary] = field(default_factory=list)
    active: OrgContext | None = None
    wallet: WalletRow | None = None
    servers: list[ServerRow] = field(default_factory=list)
    more_servers: bool = False
    tickets: list[TicketRow] = field(default_factory=list)
    bindings: list[BindingRow] = field(default_factory=list)


async def home_snapshot(engine: AsyncEngine, slack: SlackRef) -> HomeSnapshot:
    async with engine.connect() as conn:
        identity = await identities_db.get_identity(conn, slack.enterprise_id, slack.team_id, slack.user_id)
        if identity is None:
            return HomeSnapshot(linked=False)
        is_staff = identity.user_role == "admin"
        active = await choose_organization(
            conn, identity.user_id, is_staff=is_staff, channel_org=None, chosen_org=identity.active_organization_id
        )
        memberships = await identities_db.memberships(conn, identity.user_id)
        organizations = [
            OrgSummary(m.name, m.slug, m.role, active is not None and m.organization_id == active.id)
            for m in memberships
        ]
        snapshot = HomeSnapshot(
            linked=True, name=identity.name, email=identity.email, is_staff=is_staff, organizations=organizations,
            active=active,
        )  # fmt: skip
        if active is None:
            return snapshot
        servers = await home_db.servers(conn, active.id, MAX_SERVERS + 1)
        return replace(
            snapshot,
            wallet=await home_db.wallet(conn, active.id),
            servers=servers[:MAX_SERVERS],
            more_servers=len(servers) > MAX_SERVERS,
            tickets=await home_db.open_tickets(conn, active.id, MAX_TICKETS),
            bindings=await home_db.bindings(conn, active.id, slack.team_id),
        )
