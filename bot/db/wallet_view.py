"""Read-side SQL for the Slack wallet: what is running (for the burn rate) and top-up look-ups.

Ledger rows themselves are read with `bot.db.ledger`; this module adds only what the wallet card,
the confirm button and the PayPal pages need beyond it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.ledger import TRANSACTION_COLUMNS, TransactionRow, transaction_from_record
from bot.db.plain import PlainConnection

#: Statuses that do not burn money in the runway estimate (the panel stores Linode's `offline` as `stopped`).
#: Servers the billing engine does not charge (gone at Linode); stopped servers are billed, as Linode bills them.
NOT_BILLED_STATUSES = ("error", "deleted")


@dataclass(frozen=True)
class RunningServer:
    """A server counted in the burn rate (billed, whatever its power state); `monthly_price` is None
    when no plan matches its plan_id."""

    label: str
    status: str | None
    monthly_price: Decimal | None


# The plan is matched the way the panel's billing does: by id::text or provider_plan_id. When both
# kinds match (a plan id that is also someone's provider_plan_id), the id match wins.
_RUNNING_SERVERS_SQL = """
    SELECT v.label, v.status, plan.monthly_price
    FROM vps_instances v
    LEFT JOIN LATERAL (
        SELECT coalesce(p.base_price, 0) + coalesce(p.markup_price, 0) AS monthly_price
        FROM vps_plans p
        WHERE p.id::text = v.plan_id OR p.provider_plan_id = v.plan_id
        ORDER BY (p.id::text = v.plan_id) DESC, p.active DESC, p.created_at, p.id
        LIMIT 1
    ) plan ON true
    WHERE v.organization_id = :org AND lower(coalesce(v.status, '')) <> ALL(:not_billed)
      AND coalesce(v.provider_instance_id, '') <> ''
    ORDER BY v.created_at, v.id
"""

#: The whole wallet card in one round trip: the wallet row, plus the billed servers and the last
#: ledger rows as arrays of anonymous records (asyncpg decodes them to typed tuples).
_CARD = text(
    f"""
    SELECT w.balance, coalesce(w.currency, 'USD') AS currency,
           ARRAY(SELECT s FROM ({_RUNNING_SERVERS_SQL}) s) AS servers,
           ARRAY(
               SELECT t FROM (
                   SELECT {TRANSACTION_COLUMNS} FROM payment_transactions WHERE organization_id = :org
                   ORDER BY created_at DESC, id DESC LIMIT :limit
               ) t
           ) AS transactions
    FROM wallets w WHERE w.organization_id = :org ORDER BY w.created_at, w.id LIMIT 1
    """
)

_LOCK_TOPUP_REQUEST = text("SELECT pg_advisory_xact_lock(hashtextextended('csbot-topup:' || :nonce, 0))")
_TOPUP_BY_NONCE = text(
    """
    SELECT id FROM payment_transactions
    WHERE organization_id = :org AND payment_method = 'paypal' AND metadata->>'topup_nonce' = :nonce
    ORDER BY created_at LIMIT 1
    """
)


@dataclass(frozen=True)
class CardSnapshot:
    """What the wallet card shows, read at one instant."""

    balance: Decimal
    currency: str
    servers: list[RunningServer]
    transactions: list[TransactionRow]


async def card_snapshot(conn: PlainConnection, organization_id: uuid.UUID, *, rows: int) -> CardSnapshot | None:
    """The wallet, its billed servers and its last `rows` ledger rows; None when there is no wallet.

    On the plain pool only: SQLAlchemy's dialect does not decode arrays of records.
    """
    params = {"org": organization_id, "not_billed": list(NOT_BILLED_STATUSES), "limit": rows}
    row = (await conn.execute(_CARD, params)).first()
    if row is None:
        return None
    return CardSnapshot(
        balance=row.balance,
        currency=row.currency,
        servers=[RunningServer(*values) for values in row.servers],  # columns in field order
        transactions=[transaction_from_record(values) for values in row.transactions],
    )


async def lock_topup_request(conn: AsyncConnection, nonce: str) -> None:
    """Serialise confirmations of one preview (a double-click) until the caller's transaction ends."""
    await conn.execute(_LOCK_TOPUP_REQUEST, {"nonce": nonce})


async def topup_by_nonce(conn: AsyncConnection, organization_id: uuid.UUID, nonce: str) -> uuid.UUID | None:
    """The top-up a preview's Confirm button already created, if any."""
    return (await conn.execute(_TOPUP_BY_NONCE, {"org": organization_id, "nonce": nonce})).scalar_one_or_none()
