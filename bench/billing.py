"""Benchmark: one hourly billing run over 100,000 servers in 2,000 organisations (set-based, one
transaction per batch of organisations), beside a one-server-at-a-time loop applying the same rules
with one transaction per server, measured in the same run on a smaller sample and extrapolated.

Target (issue 6): the full run in ≤ 5 s, ≥ 15× faster than the per-server loop.
Runs in its own scratch database (created, migrated and dropped).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import scratch_database
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db.billing import BILLABLE, DEFAULT_MONTHLY
from bot.db.engine import create_engine
from bot.services.billing import BillingPolicy, hour_charge, run_billing

SERVERS = 100_000
ORGANISATIONS = 2_000
SAMPLE_SERVERS = 2_000  # the per-server loop, extrapolated to SERVERS
SAMPLE_ORGANISATIONS = 40
ROUNDS = 2  # consecutive hourly runs, both printed (the machine may be shared with other work)
POOR_EVERY = 50  # one organisation in 50 cannot pay (exercises the failure path)
ANCHOR = datetime(2026, 1, 10, 6, 0, tzinfo=UTC)
NOW = ANCHOR + timedelta(hours=1, minutes=1)  # hour 0 was charged at creation; hour 1 is due

SETUP = (
    "INSERT INTO users (email, password_hash, name) VALUES ('bench@example.com', 'x', 'Bench')",
    """
    INSERT INTO vps_plans (name, provider_plan_id, base_price, markup_price, specifications)
    SELECT 'Plan ' || n, 'g6-bench-' || n, 5 * n, n, '{}' FROM generate_series(1, 8) AS n
    """,
    """
    INSERT INTO organizations (id, name, slug, owner_id)
    SELECT gen_random_uuid(), :prefix || n, :prefix || n, (SELECT id FROM users LIMIT 1)
    FROM generate_series(1, :orgs) AS n
    """,
    """
    INSERT INTO wallets (organization_id, balance)
    SELECT id, CASE WHEN substring(slug FROM '[0-9]+$')::int % :poor = 0 THEN 0 ELSE 10000 END
    FROM organizations WHERE slug LIKE :prefix || '%'
    """,
    """
    WITH orgs AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM organizations WHERE slug LIKE :prefix || '%')
    INSERT INTO vps_instances
        (organization_id, plan_id, provider_instance_id, label, status, created_at, last_billed_at)
    SELECT o.id,
        CASE WHEN s % 9 = 8 THEN 'g6-unknown' WHEN s % 2 = 0 THEN 'g6-bench-' || (s % 8 + 1)
             ELSE (SELECT id::text FROM vps_plans WHERE provider_plan_id = 'g6-bench-' || (s % 8 + 1)) END,
        (1000000 + s)::text, 'bench-' || s, 'running', CAST(:anchor AS timestamptz),
        CAST(:anchor AS timestamptz) + interval '1 hour'
    FROM generate_series(0, CAST(:servers AS int) - 1) AS s JOIN orgs o ON o.n = s % CAST(:orgs AS int)
    """,
)


async def setup(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(SETUP[0]))
        await conn.execute(text(SETUP[1]))
        for prefix, orgs, servers in (("main-", ORGANISATIONS, SERVERS), ("sample-", SAMPLE_ORGANISATIONS,
                                                                            SAMPLE_SERVERS)):  # fmt: skip
            params = {"prefix": prefix, "orgs": orgs, "servers": servers, "poor": POOR_EVERY, "anchor": ANCHOR}
            for statement in SETUP[2:]:
                await conn.execute(text(statement), params)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))


# -- the baseline: the same rules, one server at a time, one transaction per server ------------------

_SAMPLE = text(
    f"""
    SELECT v.id FROM vps_instances v JOIN organizations o ON o.id = v.organization_id
    WHERE o.slug LIKE 'sample-%' AND {BILLABLE} ORDER BY v.id
    """
)
_SERVER = text(
    f"""
    SELECT v.id, v.organization_id, v.label, v.created_at, v.last_billed_at,
        coalesce((SELECT coalesce(p.base_price, 0) + coalesce(p.markup_price, 0) FROM vps_plans p
                  WHERE p.id::text = v.plan_id OR p.provider_plan_id = v.plan_id
                  ORDER BY (p.id::text = v.plan_id) DESC, p.active DESC, p.created_at, p.id LIMIT 1),
                 {DEFAULT_MONTHLY}) AS monthly
    FROM vps_instances v WHERE v.id = :id
    """
)
_LOCK_WALLET = text(
    "SELECT id, balance, coalesce(currency, 'USD') AS currency FROM wallets WHERE organization_id = :org "
    "ORDER BY created_at, id LIMIT 1 FOR UPDATE"
)
_KEY = text(
    "INSERT INTO bot_ledger_keys (key, organization_id, amount) VALUES (:key, :org, :amount) "
    "ON CONFLICT DO NOTHING RETURNING key"
)
_DEBIT = text("UPDATE wallets SET balance = balance - :amount WHERE id = :wallet AND balance >= :amount")
_TXN = text(
    """
    INSERT INTO payment_transactions (id, organization_id, amount, currency, payment_method, payment_provider,
        status, description, metadata)
    VALUES (:id, :org, :amount, :currency, 'wallet_debit', 'internal', 'completed', :description,
        jsonb_build_object('hours_charged', 1, 'balance_before', CAST(:before AS text),
            'balance_after', CAST(:after AS text), 'vps_instance_id', CAST(:server AS text),
            'hour_index', CAST(:k AS int)))
    """
)
_SET_KEY = text("UPDATE bot_ledger_keys SET payment_transaction_id = :txn WHERE key = :key")
_CYCLE = text(
    """
    INSERT INTO vps_billing_cycles (vps_instance_id, organization_id, billing_period_start, billing_period_end,
        hourly_rate, total_amount, status, payment_transaction_id, metadata)
    VALUES (:server, :org, :start, :end, :rate, :amount, 'billed', :txn,
        jsonb_build_object('hour_index', CAST(:k AS int)))
    """
)
_PAID_UP = text("UPDATE vps_instances SET last_billed_at = :end WHERE id = :id")


def _index_in_month(anchor: datetime, start: datetime) -> int:
    month_start = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    first = max(0, -(-int((month_start - anchor).total_seconds()) // 3600))
    return int((start - anchor).total_seconds() // 3600) - first + 1


async def bill_one_server(conn: AsyncConnection, server_id: uuid.UUID, now: datetime) -> int:
    """The naive way: read, lock, compute in Python and write, hour by hour (the failure path omitted)."""
    server = (await conn.execute(_SERVER, {"id": server_id})).one()
    wallet = (await conn.execute(_LOCK_WALLET, {"org": server.organization_id})).one()
    anchor = server.created_at
    k = 0 if server.last_billed_at is None else round((server.last_billed_at - anchor).total_seconds() / 3600)
    balance, charged = Decimal(wallet.balance), 0
    while anchor + timedelta(hours=k) <= now:
        start = anchor + timedelta(hours=k)
        amount = hour_charge(Decimal(server.monthly), _index_in_month(anchor, start))
        if amount > balance:
            break
        key = f"vps:{server.id}:hour:{k}"
        if (await conn.execute(_KEY, {"key": key, "org": server.organization_id, "amount": amount})).first():
            await conn.execute(_DEBIT, {"amount": amount, "wallet": wallet.id})
            txn = uuid.uuid4()
            await conn.execute(_TXN, {
                "id": txn, "org": server.organization_id, "amount": -amount, "currency": wallet.currency,
                "description": f"VPS Hourly Billing - {server.label} (1h)", "before": str(balance),
                "after": str(balance - amount), "server": str(server.id), "k": k,
            })  # fmt: skip
            await conn.execute(_SET_KEY, {"txn": txn, "key": key})
            await conn.execute(_CYCLE, {
                "server": server.id, "org": server.organization_id, "start": start, "end": start + timedelta(hours=1),
                "rate": (Decimal(server.monthly) / 730).quantize(Decimal("0.0001")), "amount": amount, "txn": txn,
                "k": k,
            })  # fmt: skip
            await conn.execute(_PAID_UP, {"end": start + timedelta(hours=1), "id": server.id})
            balance -= amount
            charged += 1
        k += 1
    return charged


async def per_server_loop(engine: AsyncEngine) -> tuple[float, int]:
    async with engine.connect() as conn:
        ids = [r.id for r in (await conn.execute(_SAMPLE)).all()]
    charged = 0
    started = time.perf_counter()
    for server_id in ids:
        async with engine.begin() as conn:
            charged += await bill_one_server(conn, server_id, NOW)
    return time.perf_counter() - started, charged


async def main() -> None:
    async with scratch_database() as url:
        engine = create_engine(url)
        try:
            started = time.perf_counter()
            await setup(engine)
            print(f"setup: {SERVERS:,} + {SAMPLE_SERVERS:,} servers in {ORGANISATIONS:,} + {SAMPLE_ORGANISATIONS} "
                  f"organisations ({time.perf_counter() - started:.1f} s)")  # fmt: skip
            loop_seconds, loop_charged = await per_server_loop(engine)
            per_server = loop_seconds / SAMPLE_SERVERS
            runs = []
            for hour in range(ROUNDS):  # each round bills the next hour of every server
                started = time.perf_counter()
                result = await run_billing(engine, NOW + timedelta(hours=hour), BillingPolicy(), source="bench")
                runs.append((time.perf_counter() - started, result))
            async with engine.connect() as conn:
                cycles = (await conn.execute(text("SELECT count(*) FROM vps_billing_cycles"))).scalar_one()
        finally:
            await engine.dispose()
    extrapolated = per_server * SERVERS
    print(f"per-server loop:  {SAMPLE_SERVERS:,} servers in {loop_seconds:.2f} s ({loop_charged:,} hours charged) "
          f"→ {per_server * 1000:.2f} ms/server → {extrapolated:.1f} s for {SERVERS:,} (extrapolated)")  # fmt: skip
    for n, (seconds, result) in enumerate(runs, start=1):
        due = result.hours_charged + result.hours_newly_failed
        print(f"set-based run {n}:  {due:,} due hours in {seconds:.2f} s ({result.hours_charged:,} hours charged, "
              f"{result.hours_newly_failed:,} unpaid recorded, {result.batches} batches)")  # fmt: skip
    fastest, slowest = min(s for s, _ in runs), max(s for s, _ in runs)
    print(f"cycle rows written in all: {cycles:,}")
    print(f"speed-up:         {extrapolated / fastest:.1f}× (fastest), {extrapolated / slowest:.1f}× (slowest); "
          "targets: ≤ 5 s, ≥ 15×")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
