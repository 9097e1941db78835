"""Fault: the server is killed with SIGKILL during a storm of PayPal webhooks (with duplicates).

After a restart and PayPal-style redelivery, every capture has moved money exactly once and, for
every organisation, wallet balance = starting balance + Σ completed ledger rows.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.db.engine import create_engine
from bot.db.migrate import migrate
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator
from bot.paypal.client import PayPalClient
from bot.services.topups import attach_order, create_pending_topup, request_id_for_create
from tests.conftest import BOT_SECRET, BOT_TOKEN, SIGNING_SECRET
from tests.factories import make_org, make_user

TOP_UPS = 60
START_BALANCE = Decimal("5.00")
ROOT = Path(__file__).parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve(env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise AssertionError("the bot never became ready")


async def _until(check: Callable[[], Awaitable[bool]], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.1)


@pytest.mark.timeout(180)
async def test_sigkill_during_a_webhook_storm_loses_and_duplicates_nothing(
    fresh_database: Callable[[], Awaitable[str]], tmp_path: Path
) -> None:
    url = await fresh_database()
    engine = create_engine(url, pool_size=4)
    await migrate(engine)
    async with (
        PayPalEmulator(client_id="storm-id", client_secret="storm-secret", webhook_id="WH-STORM") as paypal,
        SlackEmulator(bot_token=BOT_TOKEN) as slack,
        aiohttp.ClientSession() as http,
    ):
        client = PayPalClient(http, paypal.base_url, "storm-id", "storm-secret")
        orgs, events = [], []
        for n in range(TOP_UPS):  # each top-up: approved + completed events, the buyer approved and paid
            owner = await make_user(engine)
            org = await make_org(engine, owner, balance=START_BALANCE)
            orgs.append(org)
            amount = Decimal(10 + n % 7)
            async with engine.begin() as conn:
                txn = await create_pending_topup(
                    conn, organization_id=org.id, amount=amount, currency="USD", description="Wallet top-up",
                    slack_metadata={},
                )  # fmt: skip
            order = await client.create_order(
                request_id=request_id_for_create(txn), amount=amount, currency="USD", custom_id=str(org.id),
                invoice_id=str(txn), description="top-up", brand_name="ContainerStacks",
                return_url="https://bot.example/r", cancel_url="https://bot.example/c",
            )  # fmt: skip
            async with engine.begin() as conn:
                await attach_order(conn, txn, order.id)
            paypal.approve(order.id)
            captured = await client.capture_order(order.id, request_id=f"csbot-capture-{order.id}")
            events += [paypal.event_order_approved(order.id), paypal.event_capture_completed(captured.captures[0].id)]

        ca = tmp_path / "ca.pem"
        ca.write_bytes(paypal.ca_pem)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAYPAL_"))},
            "DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "BOT_SECRET": BOT_SECRET, "SLACK_API_URL": slack.api_url, "PAYPAL_CLIENT_ID": "storm-id",
            "PAYPAL_CLIENT_SECRET": "storm-secret", "PAYPAL_API_URL": paypal.base_url, "PAYPAL_WEBHOOK_ID": "WH-STORM",
            "PAYPAL_CERT_HOSTS": paypal.base_url, "PAYPAL_CERT_CA": str(ca), "LOG_LEVEL": "WARNING",
        }  # fmt: skip
        port = _free_port()
        hook = f"http://127.0.0.1:{port}/webhooks/paypal"

        first = await _serve(env, port)
        storm = asyncio.create_task(
            paypal.deliver_many(hook, events, duplicates=3, concurrency=16, shuffle=True, seed=7)
        )

        async def stored_some() -> bool:
            async with engine.connect() as conn:
                return int((await conn.execute(text("SELECT count(*) FROM bot_paypal_events"))).scalar_one()) >= 30

        await _until(stored_some, 30)
        first.send_signal(signal.SIGKILL)  # mid-storm: requests in flight, events half processed
        await first.wait()
        statuses = await storm
        assert any(0 in attempts or 503 in attempts for attempts in statuses)  # the kill was felt

        second = await _serve(env, port)
        try:
            # PayPal retries every delivery that did not get a 2xx; we simply redeliver the whole storm.
            again = await paypal.deliver_many(hook, events, duplicates=2, concurrency=16, retries=3, shuffle=True)
            assert all(attempts[-1] == 200 for attempts in again)

            async def all_applied() -> bool:
                async with engine.connect() as conn:
                    open_ = "SELECT count(*) FROM bot_paypal_events WHERE status <> 'processed'"
                    total = "SELECT count(*) FROM bot_paypal_events"
                    return (await conn.execute(text(open_))).scalar_one() == 0 and (
                        await conn.execute(text(total))
                    ).scalar_one() == len(events)

            await _until(all_applied, 60)
        finally:
            second.send_signal(signal.SIGTERM)
            await second.wait()

    async with engine.connect() as conn:
        keys = (await conn.execute(text("SELECT count(*) FROM bot_ledger_keys"))).scalar_one()
        completed = (
            await conn.execute(text("SELECT count(*) FROM payment_transactions WHERE status = 'completed'"))
        ).scalar_one()
        mismatched: list[Any] = (
            await conn.execute(
                text(
                    """
                    SELECT w.organization_id, w.balance,
                           :start + coalesce((SELECT sum(p.amount) FROM payment_transactions p
                                              WHERE p.organization_id = w.organization_id
                                                AND p.status = 'completed'), 0) AS expected
                    FROM wallets w
                    WHERE w.organization_id = ANY(:orgs)
                      AND w.balance <> :start + coalesce((SELECT sum(p.amount) FROM payment_transactions p
                                                          WHERE p.organization_id = w.organization_id
                                                            AND p.status = 'completed'), 0)
                    """
                ),
                {"start": START_BALANCE, "orgs": [org.id for org in orgs]},
            )
        ).all()
    await engine.dispose()
    assert keys == TOP_UPS  # one ledger key per capture: each capture moved money once
    assert completed == TOP_UPS
    assert mismatched == []
