"""SQL for the App Home dashboard: read-only, one organisation at a time, one section at a time."""

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


_WALLET = text("SELECT balance, currency FROM wallets WHERE organization_id = :org ORDER BY created_at, id LIMIT 1")
_SERVERS = text(
    """
    SELECT label, status, host(ip_address) AS ip_address FROM vps_instances
    WHERE organization_id = :org ORDER BY created_at LIMIT :limit
    """
)
_OPEN = "organization_id = :org AND COALESCE(status, 'open') IN ('open', 'in_progress')"
_OPEN_TICKETS = text(
    f"""
    SELECT id, subject, COALESCE(status, 'open') AS status, COALESCE(priority, 'medium') AS priority
    FROM support_tickets WHERE {_OPEN}
    ORDER BY updated_at DESC, id LIMIT :limit
    """
)
_COUNT_OPEN_TICKETS = text(f"SELECT count(*) FROM support_tickets WHERE {_OPEN}")
#: How long a Home section waits for a lock before giving up on itself (the rest of the Home still shows).
LOCK_WAIT_MS = 2000
_LOCK_WAIT = text(f"SET LOCAL lock_timeout = {LOCK_WAIT_MS}")


async def bound_lock_wait(conn: AsyncConnection) -> None:
    """Give up after `LOCK_WAIT_MS` waiting for a lock in this connection's transaction."""
    await conn.execute(_LOCK_WAIT)


async def wallet(conn: AsyncConnection, org: uuid.UUID) -> WalletRow | None:
    row = (await conn.execute(_WALLET, {"org": org})).first()
    return None if row is None else WalletRow(balance=row.balance, currency=row.currency or "USD")


async def servers(conn: AsyncConnection, org: uuid.UUID, limit: int) -> list[ServerRow]:
    return [ServerRow(**r._mapping) for r in (await conn.execute(_SERVERS, {"org": org, "limit": limit})).all()]


async def open_tickets(conn: AsyncConnection, org: uuid.UUID, limit: int) -> list[TicketRow]:
    return [TicketRow(**r._mapping) for r in (await conn.execute(_OPEN_TICKETS, {"org": org, "limit": limit})).all()]


async def count_open_tickets(conn: AsyncConnection, org: uuid.UUID) -> int:
    return int((await conn.execute(_COUNT_OPEN_TICKETS, {"org": org})).scalar_one())
