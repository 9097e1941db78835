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

from bot.db.plain import SqlConnection

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
_RUNNING_SERVERS = text(
    """
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
)

_LOCK_TOPUP_REQUEST = text("SELECT pg_advisory_xact_lock(hashtextextended('csbot-topup:' || :nonce, 0))")
_TOPUP_BY_NONCE = text(
    """
    SELECT id FROM payment_transactions
    WHERE organization_id = :org AND payment_method = 'paypal' AND metadata->>'topup_nonce' = :nonce
    ORDER BY created_at LIMIT 1
    """
)


async def running_servers(conn: SqlConnection, organization_id: uuid.UUID) -> list[RunningServer]:
    """The organisation's billed servers (the billing engine's rule), with their plan's monthly price."""
    params = {"org": organization_id, "not_billed": list(NOT_BILLED_STATUSES)}
    rows = (await conn.execute(_RUNNING_SERVERS, params)).all()
    return [
        RunningServer(
            label=row.label,
            status=row.status,
            monthly_price=Decimal(row.monthly_price) if row.monthly_price is not None else None,
        )
        for row in rows
    ]


async def lock_topup_request(conn: AsyncConnection, nonce: str) -> None:
    """Serialise confirmations of one preview (a double-click) until the caller's transaction ends."""
    await conn.execute(_LOCK_TOPUP_REQUEST, {"nonce": nonce})


async def topup_by_nonce(conn: AsyncConnection, organization_id: uuid.UUID, nonce: str) -> uuid.UUID | None:
    """The top-up a preview's Confirm button already created, if any."""
    return (await conn.execute(_TOPUP_BY_NONCE, {"org": organization_id, "nonce": nonce})).scalar_one_or_none()
