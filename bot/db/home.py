"""SQL for the App Home dashboard: read-only, one organisation at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class WalletRow:
    balance: Decimal
    currency: str


@dataclass(frozen=True)
class ServerRow:
    label: str
    status: str | None
    ip_address: str | None


@dataclass(frozen=True)
class TicketRow:
    id: uuid.UUID
    subject: str
    status: str
    priority: str


@dataclass(frozen=True)
class BindingRow:
    channel_id: str
    notify_billing: bool
    notify_vps: bool
    notify_tickets: bool


_WALLET = text("SELECT balance, currency FROM wallets WHERE organization_id = :org ORDER BY created_at, id LIMIT 1")
_SERVERS = text(
    """
    SELECT label, status, host(ip_address) AS ip_address FROM vps_instances
    WHERE organization_id = :org ORDER BY created_at LIMIT :limit
    """
)
_OPEN_TICKETS = text(
    """
    SELECT id, subject, status, priority FROM support_tickets
    WHERE organization_id = :org AND status IN ('open', 'in_progress')
    ORDER BY updated_at DESC LIMIT :limit
    """
)
_BINDINGS = text(
    """
    SELECT channel_id, notify_billing, notify_vps, notify_tickets FROM bot_channel_bindings
    WHERE organization_id = :org AND team_id = :team ORDER BY created_at
    """
)


async def wallet(conn: AsyncConnection, org: uuid.UUID) -> WalletRow | None:
    row = (await conn.execute(_WALLET, {"org": org})).first()
    return None if row is None else WalletRow(balance=row.balance, currency=row.currency or "USD")


async def servers(conn: AsyncConnection, org: uuid.UUID, limit: int) -> list[ServerRow]:
    return [ServerRow(**r._mapping) for r in (await conn.execute(_SERVERS, {"org": org, "limit": limit})).all()]


async def open_tickets(conn: AsyncConnection, org: uuid.UUID, limit: int) -> list[TicketRow]:
    return [TicketRow(**r._mapping) for r in (await conn.execute(_OPEN_TICKETS, {"org": org, "limit": limit})).all()]


async def bindings(conn: AsyncConnection, org: uuid.UUID, team_id: str) -> list[BindingRow]:
    return [BindingRow(**r._mapping) for r in (await conn.execute(_BINDINGS, {"org": org, "team": team_id})).all()]
