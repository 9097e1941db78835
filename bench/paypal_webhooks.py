"""Benchmark: PayPal webhooks verified (offline RSA + CRC32) and stored per second by the bot,
beside a bare aiohttp handler doing one INSERT, with wrk replaying pre-signed deliveries over 32
connections; the bot's RSS after the run; then credits applied per second by the inbox worker.

Targets: ≥ 2,000 events/s with p99 < 50 ms; the worker ≥ 1,000 credits/s; RSS < 200 MiB.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import free_port, rss_mib, run_wrk, scratch_database, server_process
from sqlalchemy import text

from bot.db import plain
from bot.db.engine import create_engine, plain_url
from bot.db.paypal_events import Transmission, store
from bot.emulators.paypal import PayPalEmulator
from bot.jobs.paypal_events import InboxPolicy, PayPalEventWorker
from bot.metrics import Metrics
from bot.paypal.client import PayPalClient
from bot.services.paypal_events import PayPalEventProcessor
from bot.settings import Settings

SECONDS = 6
WARM_UP_SECONDS = 2
EVENTS = 30_000  # distinct deliveries; more than the run sends, so none is a duplicate
WARM_UP_EVENTS = 6_000
CONNECTIONS = 32
CREDITS = 2000
ORGANISATIONS = 200  # credits spread over many wallets, as in production (one wallet serialises on its row lock)
INSERT_USER = text(
    "INSERT INTO users (email, password_hash, name) VALUES ('bench@example.com', 'x', 'Bench') RETURNING id"
)
INSERT_ORG = text("INSERT INTO organizations (name, slug, owner_id) VALUES ('Bench', :slug, :owner) RETURNING id")
INSERT_WALLET = text("INSERT INTO wallets (organization_id, balance) VALUES (:org, 0)")
INSERT_TOPUP = text(
    "INSERT INTO payment_transactions (id, organization_id, amount, currency, payment_method, payment_provider, "
    "provider_transaction_id, status) VALUES (:id, :org, 1.00, 'USD', 'paypal', 'paypal', :order, 'pending')"
)
TOTAL_BALANCE = text("SELECT sum(balance) FROM wallets")


def signed_events(paypal: PayPalEmulator, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Pre-signed dispute updates (handled: the worker applies them while the load runs).

    Signing is the sender's cost, not the receiver's, so it happens before the timed run.
    """
    requests = []
    for n in range(count):
        event = paypal.build_event("CUSTOMER.DISPUTE.UPDATED", {"dispute_id": f"PP-D-{n}", "status": "OPEN"})
        body = paypal.serialize(event)
        requests.append((body, paypal.sign(body)))
    return requests


async def receive_benchmark(paypal: PayPalEmulator, database_url: str) -> list[str]:
    with tempfile.NamedTemporaryFile(suffix=".pem", delete=False) as ca:
        ca.write(paypal.ca_pem)
    env = {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "BOT_SECRET": "bench-bot-secret-0123456789abcdef0123",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "PAYPAL_WEBHOOK_ID": paypal.webhook_id,
        "PAYPAL_CERT_HOSTS": paypal.base_url,
        "PAYPAL_CERT_CA": ca.name,
        "LOG_LEVEL": "WARNING",
    }
    bare_port, bot_port = free_port(), free_port()
    floor_cmd = [sys.executable, "bench/_bare_insert.py", str(bare_port), plain_url(database_url)]
    bot_cmd = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(bot_port)]
    runs = (("bare aiohttp + INSERT (floor)", floor_cmd, bare_port), ("csbot verify + store", bot_cmd, bot_port))
    deliveries = signed_events(paypal, EVENTS + WARM_UP_EVENTS)
    timed, warm_up = deliveries[:EVENTS], deliveries[EVENTS:]
    results, rss = [], 0.0
    for label, cmd, port in runs:
        async with server_process(cmd, env, port) as server:
            url = server.base + "/webhooks/paypal"
            await run_wrk(label, url, warm_up, seconds=WARM_UP_SECONDS, connections=CONNECTIONS)
            results.append(await run_wrk(label, url, timed, seconds=SECONDS, connections=CONNECTIONS))
            rss = rss_mib(server.pid)
    Path(ca.name).unlink()  # noqa: ASYNC240 - a tiny temp file after the run
    floor, bot = results
    return [
        floor.line(),
        bot.line(),
        f"ratio csbot/floor: {bot.throughput / floor.throughput:.2f}x; csbot {bot.throughput:.0f}/s "
        f"(target >= 2000/s), p99 {bot.p99_ms:.1f} ms (target < 50 ms)",
        f"csbot RSS after the run: {rss:.0f} MiB (target < 200 MiB)",
    ]


def capture_event(n: int, capture_id: str) -> bytes:
    """A capture notice: only the capture id matters, the worker applies PayPal's copy."""
    event = {
        "id": f"WH-BENCH-{n}",
        "event_type": "PAYMENT.CAPTURE.COMPLETED",
        "resource": {"id": capture_id, "status": "COMPLETED", "amount": {"currency_code": "USD", "value": "1.00"}},
    }
    return json.dumps(event).encode()


async def paid_orders(
    paypal: PayPalEmulator, client: PayPalClient, topups: list[tuple[uuid.UUID, uuid.UUID]]
) -> list[tuple[str, str]]:
    """Each (top-up, organisation) as an order created, approved and captured at the emulator:
    (order id, capture id), so the worker's GET of each capture finds a real, paid one."""
    gate = asyncio.Semaphore(16)

    async def one(txn: uuid.UUID, org: uuid.UUID) -> tuple[str, str]:
        async with gate:
            order = await client.create_order(
                request_id=f"bench-{txn}", amount=Decimal("1.00"), currency="USD", custom_id=str(org),
                invoice_id=str(txn), description="bench", brand_name="Bench", return_url="https://b.example/r",
                cancel_url="https://b.example/c",
            )  # fmt: skip
            paypal.approve(order.id)
            captured = await client.capture_order(order.id, request_id=f"bench-capture-{txn}")
            return order.id, captured.captures[0].id

    return list(await asyncio.gather(*(one(txn, org) for txn, org in topups)))


async def credit_benchmark(paypal: PayPalEmulator, database_url: str) -> str:
    """Top-ups paid at the emulator, with stored PAYMENT.CAPTURE.COMPLETED events, applied by one
    worker: each credit includes the worker's GET of PayPal's copy of the capture."""
    engine = create_engine(database_url, pool_size=8)
    pool = await asyncpg.create_pool(plain_url(database_url), min_size=1, max_size=2)
    async with engine.begin() as conn:
        owner = (await conn.execute(INSERT_USER)).scalar_one()
        orgs = []
        for n in range(ORGANISATIONS):
            orgs.append((await conn.execute(INSERT_ORG, {"owner": owner, "slug": f"bench-{n}"})).scalar_one())
            await conn.execute(INSERT_WALLET, {"org": orgs[-1]})
    topups = [(uuid.uuid4(), orgs[n % ORGANISATIONS]) for n in range(CREDITS)]
    async with aiohttp.ClientSession() as http:
        client = PayPalClient(http, paypal.base_url, "emu-client-id", "emu-client-secret")
        paid = await paid_orders(paypal, client, topups)
        async with engine.begin() as conn:
            for (txn, org), (order_id, _) in zip(topups, paid, strict=True):
                await conn.execute(INSERT_TOPUP, {"id": txn, "org": org, "order": order_id})
        now = datetime.now(UTC)
        for n, (_, capture_id) in enumerate(paid):
            body = capture_event(n, capture_id)
            await store(
                pool, event_id=f"WH-BENCH-{n}", event_type="PAYMENT.CAPTURE.COMPLETED", resource_id=capture_id,
                raw_body=body, headers={}, transmission=Transmission(f"bench-{n}", now, hashlib.sha256(body).digest()),
            )  # fmt: skip
        await pool.close()
        pool = await plain.create_pool(database_url)
        settings = Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
        processor = PayPalEventProcessor(engine, pool, settings, client)
        worker = PayPalEventWorker(processor, Metrics(), InboxPolicy(batch_size=100, concurrency=8))
        started = time.perf_counter()
        while await worker.run_once():
            pass
        elapsed = time.perf_counter() - started
    async with engine.connect() as conn:
        balance = (await conn.execute(TOTAL_BALANCE)).scalar_one()
    await engine.dispose()
    await pool.close()
    assert balance == Decimal(CREDITS), balance
    return (
        f"worker: {CREDITS} credits applied in {elapsed:.2f} s = {CREDITS / elapsed:.0f} credits/s (target >= 1000/s;"
        " each includes a GET of the capture from the in-process emulator)"
    )


async def main() -> int:
    async with PayPalEmulator() as paypal:
        async with scratch_database() as database_url:
            lines = await receive_benchmark(paypal, database_url)
        async with scratch_database() as database_url:
            lines.append(await credit_benchmark(paypal, database_url))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
