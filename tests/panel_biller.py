"""A model of the panel's own hourly biller, applied to the test database.

Written from reading ContainerStacks' `api/services/billingService.ts` (the version the schema
reference describes for commit 0c6c899) and `PayPalService.deductFundsFromWallet`; nothing is copied.
The panel bills beside the bot, on the same rows, so tests use this model to check that no row the
bot stopped billing stays billable by the panel's rule, and that the panel never charges an hour
the bot charged or holds as owed.

The rule, as the panel runs it every hour:
* selection: every `vps_instances` row, whatever its status, whose `last_billed_at` is NULL or at
  least an hour old, oldest first;
* per row: start = last_billed_at, else created_at; hours = whole hours elapsed (none below one);
  end = start + hours; rate = (base_price + markup_price) / 730 of a plan matching id::text or
  provider_plan_id, else 0.027; amount = rate × hours to 4 places;
* the organisation's wallet below the amount: a `failed` cycle, last_billed_at unchanged;
* otherwise: the wallet set to round(balance − amount, 2), a debit row (−amount, USD,
  wallet_debit/internal, completed), a `billed` cycle, and last_billed_at = end.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

HOUR = timedelta(hours=1)
DEFAULT_RATE = Decimal("0.027")

_SELECTABLE = text(
    """
    SELECT v.id, v.organization_id, v.label, v.status, v.created_at, v.last_billed_at,
        coalesce((SELECT (p.base_price + p.markup_price) / 730 FROM vps_plans p
                  WHERE p.id::text = v.plan_id OR p.provider_plan_id = v.plan_id LIMIT 1), 0.027) AS rate
    FROM vps_instances v
    WHERE v.organization_id = ANY(CAST(:orgs AS uuid[]))
      AND (v.last_billed_at IS NULL OR v.last_billed_at <= CAST(:now AS timestamptz) - interval '1 hour')
    ORDER BY v.created_at
    """
)
_WALLET = text("SELECT balance FROM wallets WHERE organization_id = :org ORDER BY created_at, id LIMIT 1")
_BOT_HOURS = text(
    """
    SELECT k.key, v.created_at + split_part(k.key, ':', 4)::bigint * interval '1 hour' AS period_start
    FROM bot_ledger_keys k JOIN vps_instances v ON k.key LIKE 'vps:' || v.id || ':hour:%'
    WHERE v.id = :server AND k.key NOT LIKE '%refund'
    UNION ALL
    SELECT 'owed:' || f.hour_index, f.period_start FROM bot_billing_failures f
    WHERE f.vps_instance_id = :server AND f.collected_at IS NULL
    """
)


@dataclass(frozen=True)
class PanelCharge:
    """What the panel's biller does with one selected row."""

    server_id: uuid.UUID
    organization_id: uuid.UUID
    label: str
    status: str | None
    period_start: datetime
    period_end: datetime
    hours: int
    amount: Decimal
    rate: Decimal
    paid: bool  # False: the panel writes a failed cycle and moves no money


async def selectable(engine: AsyncEngine, now: datetime, organizations: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The rows of these organisations the panel's biller would pick up at `now`."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_SELECTABLE, {"orgs": list(organizations), "now": now})).all()
    return [r.id for r in rows]


async def _plan(conn: AsyncConnection, now: datetime, organizations: Sequence[uuid.UUID]) -> list[PanelCharge]:
    charges = []
    balances: dict[uuid.UUID, Decimal] = {}
    for row in (await conn.execute(_SELECTABLE, {"orgs": list(organizations), "now": now})).all():
        start = row.last_billed_at or row.created_at
        hours = int((now - start) / HOUR)
        if hours < 1:
            continue
        rate = Decimal(row.rate)
        amount = (rate * hours).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        if row.organization_id not in balances:
            wallet = (await conn.execute(_WALLET, {"org": row.organization_id})).scalar_one()
            balances[row.organization_id] = Decimal(wallet)
        paid = balances[row.organization_id] >= amount
        if paid:
            balances[row.organization_id] = (balances[row.organization_id] - amount).quantize(Decimal("0.01"))
        end = start + hours * HOUR
        charges.append(
            PanelCharge(row.id, row.organization_id, row.label, row.status, start, end, hours, amount, rate, paid)
        )
    return charges


async def would_charge(engine: AsyncEngine, now: datetime, organizations: Sequence[uuid.UUID]) -> list[PanelCharge]:
    """What a panel run at `now` would do to these organisations' rows (nothing is written)."""
    async with engine.connect() as conn:
        return await _plan(conn, now, organizations)


async def run_panel_biller(engine: AsyncEngine, now: datetime, organizations: Sequence[uuid.UUID]) -> list[PanelCharge]:
    """Apply the panel's run at `now` to these organisations' rows, the way the panel writes them."""
    async with engine.begin() as conn:
        charges = await _plan(conn, now, organizations)
        for c in charges:
            cycle = {"vps": c.server_id, "org": c.organization_id, "start": c.period_start, "end": c.period_end,
                     "rate": c.rate, "amount": c.amount}  # fmt: skip
            if not c.paid:
                await conn.execute(
                    text("INSERT INTO vps_billing_cycles (vps_instance_id, organization_id, billing_period_start, "
                         "billing_period_end, hourly_rate, total_amount, status, metadata) VALUES (:vps, :org, :start, "
                         ":end, :rate, :amount, 'failed', CAST(:meta AS jsonb))"),
                    {**cycle, "meta": json.dumps({"reason": "insufficient_balance", "hours_charged": c.hours})},
                )  # fmt: skip
                continue
            before = Decimal((await conn.execute(_WALLET, {"org": c.organization_id})).scalar_one())
            after = (before - c.amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            await conn.execute(text("UPDATE wallets SET balance = :b WHERE organization_id = :o"),
                               {"b": after, "o": c.organization_id})  # fmt: skip
            txn = (
                await conn.execute(
                    text(
                        "INSERT INTO payment_transactions (organization_id, amount, currency, payment_method, "
                        "payment_provider, status, description, metadata) VALUES (:o, :a, 'USD', 'wallet_debit', "
                        "'internal', 'completed', :d, CAST(:m AS jsonb)) RETURNING id"
                    ),
                    {
                        "o": c.organization_id,
                        "a": -c.amount,
                        "d": f"VPS Hourly Billing - {c.label} ({c.hours}h)",
                        "m": json.dumps({"balance_before": float(before), "balance_after": float(after)}),
                    },
                )
            ).scalar_one()
            await conn.execute(
                text("INSERT INTO vps_billing_cycles (vps_instance_id, organization_id, billing_period_start, "
                     "billing_period_end, hourly_rate, total_amount, status, payment_transaction_id, metadata) VALUES "
                     "(:vps, :org, :start, :end, :rate, :amount, 'billed', :txn, CAST(:meta AS jsonb))"),
                {**cycle, "txn": txn, "meta": json.dumps({"hours_charged": c.hours})},
            )  # fmt: skip
            await conn.execute(text("UPDATE vps_instances SET last_billed_at = :e WHERE id = :v"),
                               {"e": c.period_end, "v": c.server_id})  # fmt: skip
    return charges


async def double_charges(engine: AsyncEngine, charges: Sequence[PanelCharge]) -> list[tuple[uuid.UUID, str]]:
    """(server, bot key) for every hour a panel charge covers that the bot charged or holds as owed."""
    clashes = []
    async with engine.connect() as conn:
        for c in charges:
            for key, start in (await conn.execute(_BOT_HOURS, {"server": c.server_id})).all():
                if start < c.period_end and start + HOUR > c.period_start:
                    clashes.append((c.server_id, key))
    return clashes
