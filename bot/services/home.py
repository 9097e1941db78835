"""What a user's App Home shows, one section at a time: who they are and the organisation they act in,
the organisations they can switch to, the wallet, and the first few servers, open tickets and bound
channels with how many there are in all.

Each section is read on its own connection with a short lock wait, so one that fails or waits on a
locked table (a migration, a long panel transaction) costs only that section: the Home is built
section by section and the others still show.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import bindings as bindings_db
from bot.db import home as home_db
from bot.db import servers as servers_db
from bot.db.bindings import BindingRow
from bot.db.home import ServerRow, TicketRow, WalletRow
from bot.db.identities import MembershipRow
from bot.services import orgs
from bot.services.identity import Actor, OrgContext
from bot.services.permissions import Action, allowed

MAX_SERVERS = 10
MAX_TICKETS = 5
MAX_BINDINGS = 10


@dataclass(frozen=True)
class OrgSwitcher:
    """The organisations the person can switch to (the first of them; `total` in all) and the active one."""

    organizations: list[MembershipRow]
    total: int
    active: OrgContext | None
    role: str | None  # the person's role in the active organisation (None: staff, not a member)
    is_staff: bool


@dataclass(frozen=True)
class ServerSummary:
    servers: list[ServerRow]
    total: int


@dataclass(frozen=True)
class TicketSummary:
    tickets: list[TicketRow]
    total: int  # open or in progress


@dataclass(frozen=True)
class BindingSummary:
    bindings: list[BindingRow]
    total: int


@dataclass(frozen=True)
class HomeButtons:
    """What the person can start from the Home in the organisation they act in."""

    organization_id: uuid.UUID
    top_up: bool
    create_server: bool
    panel_url: str | None


def home_buttons(actor: Actor, *, payments: bool, servers: bool, panel_url: str | None) -> HomeButtons | None:
    """The Home's buttons for the actor's role there (each is checked again when pressed); `payments` and
    `servers` say whether this bot takes PayPal payments and reaches Linode."""
    if actor.org is None:
        return None
    grant = actor.grant()
    return HomeButtons(
        organization_id=actor.org.id,
        top_up=payments and allowed(grant, Action.TOP_UP_WALLET),
        create_server=servers and allowed(grant, Action.MANAGE_SERVERS),
        panel_url=panel_url,
    )


@asynccontextmanager
async def _section(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        await home_db.bound_lock_wait(conn)
        yield conn


async def org_switcher(engine: AsyncEngine, actor: Actor, *, limit: int) -> OrgSwitcher:
    rows, total = await orgs.organization_choices(engine, actor, limit=limit)
    role = actor.org.role.label if actor.org and actor.org.role else None
    return OrgSwitcher(rows, total, actor.org, role, actor.is_staff)


async def wallet(engine: AsyncEngine, org: OrgContext) -> WalletRow | None:
    async with _section(engine) as conn:
        return await home_db.wallet(conn, org.id)


async def servers(engine: AsyncEngine, org: OrgContext) -> ServerSummary:
    async with _section(engine) as conn:
        return ServerSummary(
            await home_db.servers(conn, org.id, MAX_SERVERS), await servers_db.count_org_servers(conn, org.id)
        )


async def open_tickets(engine: AsyncEngine, org: OrgContext) -> TicketSummary:
    async with _section(engine) as conn:
        return TicketSummary(
            await home_db.open_tickets(conn, org.id, MAX_TICKETS), await home_db.count_open_tickets(conn, org.id)
        )


async def bindings(engine: AsyncEngine, org: OrgContext, team_id: str) -> BindingSummary:
    async with _section(engine) as conn:
        rows = await bindings_db.for_organization(conn, org.id, team_id, limit=MAX_BINDINGS)
        return BindingSummary(rows, await bindings_db.count_for_organization(conn, org.id, team_id))
