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

from bot.db import identities
from bot.db.ledger import TRANSACTION_COLUMNS, TransactionRow, transaction_from_record
from bot.db.plain import PlainConnection, PlainRow

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


def _running_servers_sql(organization: str) -> str:
    """The billed servers of `organization` (a parameter or a column) with their monthly price.

    The plan is matched the way the panel's billing does: by id::text or provider_plan_id. When both
    kinds match (a plan id that is also someone's provider_plan_id), the id match wins."""
    return f"""
    SELECT v.label, v.status, plan.monthly_price
    FROM vps_instances v
    LEFT JOIN LATERAL (
        SELECT coalesce(p.base_price, 0) + coalesce(p.markup_price, 0) AS monthly_price
        FROM vps_plans p
        WHERE p.id::text = v.plan_id OR p.provider_plan_id = v.plan_id
        ORDER BY (p.id::text = v.plan_id) DESC, p.active DESC, p.created_at, p.id
        LIMIT 1
    ) plan ON true
    WHERE v.organization_id = {organization} AND lower(coalesce(v.status, '')) <> ALL(:not_billed)
      AND coalesce(v.provider_instance_id, '') <> ''
    ORDER BY v.created_at, v.id
"""


def _card_sql(organization: str) -> str:
    """The whole wallet card of `organization` (a parameter or a column) as one row: the wallet, plus
    the billed servers and the last ledger rows as arrays of anonymous records (asyncpg decodes them
    to typed tuples)."""
    return f"""
    SELECT w.id AS wallet_id, w.balance, coalesce(w.currency, 'USD') AS currency,
           ARRAY(SELECT s FROM ({_running_servers_sql(organization)}) s) AS servers,
           ARRAY(
               SELECT t FROM (
                   SELECT {TRANSACTION_COLUMNS} FROM payment_transactions WHERE organization_id = {organization}
                   ORDER BY created_at DESC, id DESC LIMIT :limit
               ) t
           ) AS transactions
    FROM wallets w WHERE w.organization_id = {organization} ORDER BY w.created_at, w.id LIMIT 1
    """


_CARD = text(_card_sql(":org"))

#: `/cs wallet` in one round trip: the actor (as `identities.ACTOR_SQL` reads it) and the card of the
#: organisation the command most likely applies to: the channel's, then the one chosen with
#: `/cs org use`, then the first, among the user's memberships. The service checks the guess
#: against the organisation it actually resolves (staff, owners without a membership row differ).
_ACTOR_WITH_CARD = text(
    f"""
    WITH a AS ({identities.ACTOR_SQL})
    SELECT a.*, likely.organization_id AS card_org, card.*
    FROM a
    LEFT JOIN LATERAL (
        SELECT m.organization_id FROM organization_members m WHERE m.user_id = a.user_id
        ORDER BY m.organization_id IS NOT DISTINCT FROM a.channel_org DESC,
                 m.organization_id IS NOT DISTINCT FROM a.active_organization_id DESC,
                 m.created_at, m.id
        LIMIT 1
    ) likely ON true
    LEFT JOIN LATERAL ({_card_sql("likely.organization_id")}) card ON true
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


@dataclass(frozen=True)
class ActorWithCard:
    """The actor's row, and the card of the organisation `card_org` (None: no membership to guess)."""

    actor: identities.ActorRow
    card_org: uuid.UUID | None
    card: CardSnapshot | None  # None: card_org is None or has no wallet


def _card_params(rows: int) -> dict[str, object]:
    return {"not_billed": list(NOT_BILLED_STATUSES), "limit": rows}


def _snapshot(row: PlainRow) -> CardSnapshot | None:
    if row.wallet_id is None:
        return None
    return CardSnapshot(
        balance=row.balance,
        currency=row.currency,
        servers=[RunningServer(*values) for values in row.servers],  # columns in field order
        transactions=[transaction_from_record(values) for values in row.transactions],
    )


async def card_snapshot(conn: PlainConnection, organization_id: uuid.UUID, *, rows: int) -> CardSnapshot | None:
    """The wallet, its billed servers and its last `rows` ledger rows; None when there is no wallet.

    On the plain pool only: SQLAlchemy's dialect does not decode arrays of records.
    """
    row = (await conn.execute(_CARD, {"org": organization_id, **_card_params(rows)})).first()
    return None if row is None else _snapshot(row)


async def actor_with_card(
    conn: PlainConnection, enterprise_id: str, team_id: str, slack_user_id: str, channel_id: str | None, *, rows: int
) -> ActorWithCard | None:
    """`identities.actor_row` and, in the same statement, the card of the likely organisation;
    None when the Slack user is not linked."""
    params = {**identities.actor_params(enterprise_id, team_id, slack_user_id, channel_id), **_card_params(rows)}
    row = (await conn.execute(_ACTOR_WITH_CARD, params)).first()
    if row is None:
        return None
    return ActorWithCard(identities.actor_row_from(row), row.card_org, _snapshot(row))


async def lock_topup_request(conn: AsyncConnection, nonce: str) -> None:
    """Serialise confirmations of one preview (a double-click) until the caller's transaction ends."""
    await conn.execute(_LOCK_TOPUP_REQUEST, {"nonce": nonce})


async def topup_by_nonce(conn: AsyncConnection, organization_id: uuid.UUID, nonce: str) -> uuid.UUID | None:
    """The top-up a preview's Confirm button already created, if any."""
    return (await conn.execute(_TOPUP_BY_NONCE, {"org": organization_id, "nonce": nonce})).scalar_one_or_none()
