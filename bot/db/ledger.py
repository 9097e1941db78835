"""SQL for wallets and `payment_transactions`, the panel's ledger (signed amounts, its status CHECK).

Money never moves without (a) the wallet row locked, (b) a ledger row written and, for PayPal
resources, (c) a `bot_ledger_keys` row whose primary key makes a second move impossible.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from bot.db.plain import SqlConnection


@dataclass(frozen=True)
class WalletBalance:
    wallet_id: uuid.UUID
    balance: Decimal
    currency: str


@dataclass(frozen=True)
class TransactionRow:
    id: uuid.UUID
    organization_id: uuid.UUID
    amount: Decimal
    currency: str
    payment_method: str
    payment_provider: str
    provider_transaction_id: str | None
    status: str
    description: str | None
    metadata: dict[str, Any]
    created_at: Any


_READ_WALLET = text(
    """
    SELECT id AS wallet_id, balance, coalesce(currency, 'USD') AS currency FROM wallets
    WHERE organization_id = :org ORDER BY created_at, id LIMIT 1
    """
)
_CHANGE_WALLET = text(
    """
    UPDATE wallets SET balance = balance + :delta
    WHERE id = (SELECT id FROM wallets WHERE organization_id = :org ORDER BY created_at, id LIMIT 1)
    RETURNING balance - :delta AS before, balance AS after
    """
)
#: Claim the capture's ledger key, credit the wallet and complete the top-up in ONE statement: the
#: wallet and the row only change when this statement claimed the key.
_CREDIT_TOPUP = text(
    """
    WITH k AS (
        INSERT INTO bot_ledger_keys (key, organization_id, payment_transaction_id, amount)
        VALUES (:key, :org, :txn, :amount) ON CONFLICT (key) DO NOTHING RETURNING key
    ), w AS (
        UPDATE wallets SET balance = balance + :amount
        WHERE id = (SELECT id FROM wallets WHERE organization_id = :org ORDER BY created_at, id LIMIT 1)
          AND EXISTS (SELECT 1 FROM k)
        RETURNING balance - :amount AS before, balance AS after
    ), t AS (
        UPDATE payment_transactions p
        SET status = 'completed',
            metadata = coalesce(p.metadata, '{}'::jsonb) || CAST(:metadata AS jsonb)
                || jsonb_build_object('balance_before', to_char(w.before, 'FM9999999990.00'),
                                      'balance_after', to_char(w.after, 'FM9999999990.00'))
        FROM w WHERE p.id = :txn
        RETURNING p.id
    )
    SELECT EXISTS (SELECT 1 FROM k) AS claimed, (SELECT after FROM w) AS after, EXISTS (SELECT 1 FROM t) AS completed
    """
)
_CLAIM_KEY = text(
    """
    INSERT INTO bot_ledger_keys (key, organization_id, payment_transaction_id, amount)
    VALUES (:key, :org, :txn, :amount) ON CONFLICT (key) DO NOTHING RETURNING key
    """
)
_SET_KEY_TRANSACTION = text("UPDATE bot_ledger_keys SET payment_transaction_id = :txn WHERE key = :key")
_KEY_TRANSACTION = text("SELECT payment_transaction_id FROM bot_ledger_keys WHERE key = :key")
_REFUNDED_SO_FAR = text(
    """
    SELECT coalesce(sum(-amount), 0) AS refunded FROM payment_transactions
    WHERE organization_id = :org AND amount < 0 AND metadata->>'topup_transaction_id' = :topup
    """
)
_INSERT_TRANSACTION = text(
    """
    INSERT INTO payment_transactions
        (id, organization_id, amount, currency, payment_method, payment_provider, provider_transaction_id, status,
         description, metadata)
    VALUES (:id, :org, :amount, :currency, :method, :provider, :provider_id, :status, :description,
            CAST(:metadata AS jsonb))
    """
)
#: In TransactionRow's field order: `transaction_from_record` builds one from a row of these.
TRANSACTION_COLUMNS = """
    id, organization_id, amount, coalesce(currency, 'USD') AS currency, payment_method, payment_provider,
    provider_transaction_id, coalesce(status, 'pending') AS status, description, coalesce(metadata, '{}') AS metadata,
    created_at
"""
_TOPUP_BY_ORDER_FOR_UPDATE = text(
    f"""
    SELECT {TRANSACTION_COLUMNS} FROM payment_transactions
    WHERE provider_transaction_id = :order_id AND payment_method = 'paypal' AND amount > 0
    ORDER BY created_at LIMIT 1 FOR UPDATE
    """
)
_TOPUP_BY_ORDER = text(
    f"""
    SELECT {TRANSACTION_COLUMNS} FROM payment_transactions
    WHERE provider_transaction_id = :order_id AND payment_method = 'paypal' AND amount > 0
    ORDER BY created_at LIMIT 1
    """
)
_TRANSACTION_FOR_UPDATE = text(f"SELECT {TRANSACTION_COLUMNS} FROM payment_transactions WHERE id = :id FOR UPDATE")
_TRANSACTION = text(f"SELECT {TRANSACTION_COLUMNS} FROM payment_transactions WHERE id = :id")
_SET_STATUS = text(
    """
    UPDATE payment_transactions
    SET status = :status, metadata = coalesce(metadata, '{}'::jsonb) || CAST(:metadata AS jsonb)
    WHERE id = :id AND coalesce(status, 'pending') <> 'completed'
    RETURNING id
    """
)
_MERGE_METADATA = text(
    """
    UPDATE payment_transactions SET metadata = coalesce(metadata, '{}'::jsonb) || CAST(:metadata AS jsonb)
    WHERE id = :id
    """
)
_SET_PROVIDER_ID = text("UPDATE payment_transactions SET provider_transaction_id = :provider_id WHERE id = :id")
_RECENT = text(
    f"""
    SELECT {TRANSACTION_COLUMNS} FROM payment_transactions WHERE organization_id = :org
    ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset
    """
)
_COUNT = text("SELECT count(*) FROM payment_transactions WHERE organization_id = :org")
_STALE_PENDING_TOPUPS = text(
    f"""
    SELECT {TRANSACTION_COLUMNS} FROM payment_transactions
    WHERE payment_method = 'paypal' AND amount > 0 AND coalesce(status, 'pending') = 'pending'
      AND provider_transaction_id IS NOT NULL AND created_at < now() - make_interval(mins => :minutes)
    ORDER BY created_at LIMIT :limit
    """
)


def _row(row: Any) -> TransactionRow:
    return TransactionRow(**row._mapping)


def transaction_from_record(values: Sequence[Any]) -> TransactionRow:
    """A row of TRANSACTION_COLUMNS that came back as an anonymous record (a tuple, no names)."""
    return TransactionRow(*values)


async def read_wallet(conn: SqlConnection, organization_id: uuid.UUID) -> WalletBalance | None:
    row = (await conn.execute(_READ_WALLET, {"org": organization_id})).first()
    return None if row is None else WalletBalance(**row._mapping)


async def change_wallet(
    conn: SqlConnection, organization_id: uuid.UUID, delta: Decimal
) -> tuple[Decimal, Decimal] | None:
    """Add `delta` to the organisation's wallet in one statement (the row stays locked until commit);
    returns (balance before, balance after), or None when the organisation has no wallet."""
    row = (await conn.execute(_CHANGE_WALLET, {"org": organization_id, "delta": delta})).first()
    return None if row is None else (Decimal(row.before), Decimal(row.after))


async def credit_topup(
    conn: SqlConnection,
    *,
    key: str,
    organization_id: uuid.UUID,
    transaction_id: uuid.UUID,
    amount: Decimal,
    metadata: dict[str, Any],
) -> Decimal | None:
    """Credit a top-up once per `key`; returns the new balance, or None when the key was taken."""
    params = {
        "key": key,
        "org": organization_id,
        "txn": transaction_id,
        "amount": amount,
        "metadata": json.dumps(metadata, default=str),
    }
    row = (await conn.execute(_CREDIT_TOPUP, params)).one()
    if not row.claimed:
        return None
    if row.after is None or not row.completed:
        raise LookupError(f"organisation {organization_id} has no wallet")
    return Decimal(row.after)


async def claim_key(
    conn: SqlConnection, key: str, organization_id: uuid.UUID, transaction_id: uuid.UUID | None, amount: Decimal
) -> bool:
    """True if this transaction is the first to use `key` (e.g. `paypal:capture:<id>`)."""
    params = {"key": key, "org": organization_id, "txn": transaction_id, "amount": amount}
    return (await conn.execute(_CLAIM_KEY, params)).first() is not None


async def set_key_transaction(conn: SqlConnection, key: str, transaction_id: uuid.UUID) -> None:
    """Point a claimed key at the ledger row written after claiming it."""
    await conn.execute(_SET_KEY_TRANSACTION, {"key": key, "txn": transaction_id})


async def transaction_of_key(conn: SqlConnection, key: str) -> uuid.UUID | None:
    row = (await conn.execute(_KEY_TRANSACTION, {"key": key})).first()
    return None if row is None else row.payment_transaction_id


async def refunded_so_far(conn: SqlConnection, organization_id: uuid.UUID, topup_id: uuid.UUID) -> Decimal:
    """What refunds and reversals have taken back from one top-up so far (the rows `apply_refund` wrote)."""
    params = {"org": organization_id, "topup": str(topup_id)}
    return Decimal((await conn.execute(_REFUNDED_SO_FAR, params)).scalar_one())


async def insert_transaction(
    conn: SqlConnection,
    *,
    organization_id: uuid.UUID,
    amount: Decimal,
    currency: str,
    payment_method: str,
    payment_provider: str,
    status: str,
    description: str,
    metadata: dict[str, Any],
    provider_transaction_id: str | None = None,
    transaction_id: uuid.UUID | None = None,
) -> uuid.UUID:
    txn_id = transaction_id or uuid.uuid4()
    await conn.execute(
        _INSERT_TRANSACTION,
        {
            "id": txn_id,
            "org": organization_id,
            "amount": amount,
            "currency": currency,
            "method": payment_method,
            "provider": payment_provider,
            "provider_id": provider_transaction_id,
            "status": status,
            "description": description,
            "metadata": json.dumps(metadata, default=str),
        },
    )
    return txn_id


async def topup_by_order_for_update(conn: SqlConnection, order_id: str) -> TransactionRow | None:
    row = (await conn.execute(_TOPUP_BY_ORDER_FOR_UPDATE, {"order_id": order_id})).first()
    return None if row is None else _row(row)


async def topup_by_order(conn: SqlConnection, order_id: str) -> TransactionRow | None:
    row = (await conn.execute(_TOPUP_BY_ORDER, {"order_id": order_id})).first()
    return None if row is None else _row(row)


async def transaction_for_update(conn: SqlConnection, transaction_id: uuid.UUID) -> TransactionRow | None:
    row = (await conn.execute(_TRANSACTION_FOR_UPDATE, {"id": transaction_id})).first()
    return None if row is None else _row(row)


async def transaction(conn: SqlConnection, transaction_id: uuid.UUID) -> TransactionRow | None:
    row = (await conn.execute(_TRANSACTION, {"id": transaction_id})).first()
    return None if row is None else _row(row)


async def set_status_unless_completed(
    conn: SqlConnection, transaction_id: uuid.UUID, status: str, metadata: dict[str, Any]
) -> bool:
    """Move a row to `status` (merging metadata) unless it is already completed; True if it moved."""
    params = {"id": transaction_id, "status": status, "metadata": json.dumps(metadata, default=str)}
    return (await conn.execute(_SET_STATUS, params)).first() is not None


async def merge_metadata(conn: SqlConnection, transaction_id: uuid.UUID, metadata: dict[str, Any]) -> None:
    await conn.execute(_MERGE_METADATA, {"id": transaction_id, "metadata": json.dumps(metadata, default=str)})


async def set_provider_transaction_id(conn: SqlConnection, transaction_id: uuid.UUID, provider_id: str) -> None:
    await conn.execute(_SET_PROVIDER_ID, {"id": transaction_id, "provider_id": provider_id})


async def recent_transactions(
    conn: SqlConnection, organization_id: uuid.UUID, *, limit: int, offset: int = 0
) -> list[TransactionRow]:
    rows = (await conn.execute(_RECENT, {"org": organization_id, "limit": limit, "offset": offset})).all()
    return [_row(r) for r in rows]


async def count_transactions(conn: SqlConnection, organization_id: uuid.UUID) -> int:
    return int((await conn.execute(_COUNT, {"org": organization_id})).scalar_one())


async def stale_pending_topups(conn: SqlConnection, *, older_than_minutes: int, limit: int) -> list[TransactionRow]:
    params = {"minutes": older_than_minutes, "limit": limit}
    return [_row(r) for r in (await conn.execute(_STALE_PENDING_TOPUPS, params)).all()]
