"""Fault: the server is killed with SIGKILL during a storm of 5,000+ PayPal webhooks.

The storm mixes duplicates (the same event id over and over, each a new signed transmission) of
the events of 500 top-ups across 100 organisations, shuffled and sent concurrently. Once a good
part of it has been answered the server gets SIGKILL: requests are in flight, events are stored
but not yet applied, others are being applied. PayPal then retries every delivery that got no 2xx
(each retry a new transmission, backing off, the first attempts while the bot is still down) and
resends some that did; the bot is restarted on the same port.

Afterwards every event is stored once and applied once: one capture per order at PayPal, one
ledger key and one completed row per capture, one activity record per credit, and for every
organisation wallet balance = starting balance + Σ completed ledger rows = starting balance + Σ
its top-ups.

The bot runs in a child process (so SIGKILL is real) built by `serve_main` below: the real app with
the inbox worker's lease and backoff shortened, so a claim orphaned by the kill is taken over in
seconds instead of the production two minutes. The periodic jobs are off (SCHEDULER_ENABLED=false)
so the reconciler cannot credit anything behind the webhooks' back.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.migrate import migrate
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator
from bot.jobs.paypal_events import InboxPolicy
from bot.paypal.client import PayPalClient
from bot.services.topups import request_id_for_capture
from tests.conftest import BOT_SECRET, BOT_TOKEN, SIGNING_SECRET
from tests.factories import OrgRecord, make_org, make_user
from tests.paypal_fixtures import approved_order
from tests.serve_fixtures import free_port

ORGS = 100
TOP_UPS_PER_ORG = 5
#: Every APPROVED_ONLY-th top-up: the buyer approved but never came back, so only the approval
#: event exists and the bot must capture the order itself (exactly once).
APPROVED_ONLY = 5
MIN_STORM = 5_000
KILL_AT = 0.3  # SIGKILL once this share of the storm has been answered
CONCURRENCY = 24
ROOT = Path(__file__).parents[1]
#: The child's inbox worker: production behaviour, but leases and backoff in seconds, not minutes.
STORM_INBOX = InboxPolicy(lease_seconds=3.0, backoff_base=0.2, backoff_cap=1.0, idle_poll_seconds=0.1)


def serve_main() -> None:  # pragma: no cover - runs in the child process
    """`csbot serve`, with the test's inbox policy (settings come from the environment)."""
    from aiohttp import web

    from bot.app import AppOptions, create_app
    from bot.logging import configure_logging
    from bot.settings import load_settings

    settings = load_settings(for_serve=True, env_file=None)
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    assert settings.database_url
    app = create_app(settings, settings.database_url, AppOptions(inbox_policy=STORM_INBOX))
    port = int(os.environ["STORM_PORT"])
    web.run_app(app, host="127.0.0.1", port=port, shutdown_timeout=5.0, access_log=None, print=None)


async def _serve(env: dict[str, str]) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from tests.test_fault_webhook_storm import serve_main; serve_main()",
        env=env, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.returncode is None:
            try:
                async with session.get(f"http://127.0.0.1:{env['STORM_PORT']}/readyz") as response:
                    if response.status == 200:
                        return process
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    if process.returncode is None:
        process.kill()
    raise AssertionError("the bot never became ready")


async def _until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


@dataclass(frozen=True)
class TopUp:
    org: OrgRecord
    transaction_id: uuid.UUID
    order_id: str
    amount: Decimal
    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Delivery:
    """One transmission of the storm, signed before the storm starts."""

    event_id: str
    body: bytes
    headers: dict[str, str]


async def _top_ups(
    engine: AsyncEngine, paypal: PayPalEmulator, client: PayPalClient
) -> tuple[dict[uuid.UUID, Decimal], list[TopUp]]:
    """ORGS organisations (and their opening balances) with TOP_UPS_PER_ORG top-ups each, paid by
    the buyer."""
    orgs, openings = [], {}
    for n in range(ORGS):
        org = await make_org(engine, await make_user(engine), balance=Decimal(5 + n % 3))
        orgs.append(org)
        openings[org.id] = Decimal(5 + n % 3)
    gate = asyncio.Semaphore(16)

    async def one(n: int) -> TopUp:
        org = orgs[n % ORGS]
        amount = Decimal(f"{10 + n % 7}.{(n * 37) % 100:02d}")
        async with gate:
            txn, order_id = await approved_order(engine, paypal, client, org.id, amount)
            if n % APPROVED_ONLY == 0:
                return TopUp(org, txn, order_id, amount, (paypal.event_order_approved(order_id),))
            approved = paypal.event_order_approved(order_id)
            captured = await client.capture_order(order_id, request_id=request_id_for_capture(order_id))
            completed = paypal.event_capture_completed(captured.captures[0].id)
            return TopUp(org, txn, order_id, amount, (approved, completed))

    return openings, list(await asyncio.gather(*(one(n) for n in range(ORGS * TOP_UPS_PER_ORG))))


def _schedule(paypal: PayPalEmulator, events: Sequence[dict[str, Any]], rng: random.Random) -> list[Delivery]:
    """Each event 2-10 times, shuffled; every delivery its own signed transmission."""
    schedule = []
    for event in events:
        body = paypal.serialize(event)
        schedule += [(event["id"], body)] * rng.randint(2, 10)
    rng.shuffle(schedule)
    return [Delivery(event_id, body, paypal.sign(body)) for event_id, body in schedule]


async def _post(session: aiohttp.ClientSession, url: str, delivery: Delivery) -> int:
    try:
        async with session.post(url, data=delivery.body, headers=delivery.headers) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0  # no HTTP answer: refused, reset or cut off by the kill


async def _storm(url: str, schedule: Sequence[Delivery], answered: Callable[[int], None]) -> list[int]:
    """Send every delivery once, CONCURRENCY at a time; the status of each (0: no answer)."""
    statuses = [-1] * len(schedule)
    queue = iter(range(len(schedule)))
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

        async def sender() -> None:
            for index in queue:
                statuses[index] = await _post(session, url, schedule[index])
                answered(statuses[index])

        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    return statuses


@pytest.mark.timeout(240)
async def test_sigkill_during_a_webhook_storm_loses_and_duplicates_nothing(
    fresh_database: Callable[[], Awaitable[str]], tmp_path: Path
) -> None:
    url = await fresh_database()
    engine = create_engine(url, pool_size=4)
    await migrate(engine)
    rng = random.Random(20240607)
    async with (
        PayPalEmulator(client_id="storm-id", client_secret="storm-secret", webhook_id="WH-STORM") as paypal,
        SlackEmulator(bot_token=BOT_TOKEN) as slack,
        aiohttp.ClientSession() as http,
    ):
        client = PayPalClient(http, paypal.base_url, "storm-id", "storm-secret")
        openings, top_ups = await _top_ups(engine, paypal, client)
        events = [event for top_up in top_ups for event in top_up.events]
        distinct = len(events)
        schedule = _schedule(paypal, events, rng)
        assert len(schedule) >= MIN_STORM, len(schedule)
        assert len(paypal.captures) == len(top_ups) - len(top_ups) // APPROVED_ONLY  # the rest the bot captures

        ca = tmp_path / "ca.pem"
        ca.write_bytes(paypal.ca_pem)
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAYPAL_"))},
            "DATABASE_URL": url, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "BOT_SECRET": BOT_SECRET, "SLACK_API_URL": slack.api_url, "PAYPAL_CLIENT_ID": "storm-id",
            "PAYPAL_CLIENT_SECRET": "storm-secret", "PAYPAL_API_URL": paypal.base_url, "PAYPAL_WEBHOOK_ID": "WH-STORM",
            "PAYPAL_CERT_HOSTS": paypal.base_url, "PAYPAL_CERT_CA": str(ca), "LOG_LEVEL": "WARNING",
            "SCHEDULER_ENABLED": "false", "STORM_PORT": str(port), "PYTHONPATH": str(ROOT),
        }  # fmt: skip
        hook = f"http://127.0.0.1:{port}/webhooks/paypal"

        # -- the storm, and SIGKILL in the middle of it ------------------------------------------
        first = await _serve(env)
        progress: Counter[int] = Counter()
        enough = asyncio.Event()

        def answered(status: int) -> None:
            progress[status] += 1
            if progress[200] >= KILL_AT * len(schedule):
                enough.set()

        storm = asyncio.create_task(_storm(hook, schedule, answered))
        waiting = asyncio.create_task(enough.wait())
        await asyncio.wait([storm, waiting], return_when=asyncio.FIRST_COMPLETED)
        assert not storm.done(), "the storm ended before the kill; it must land mid-storm"
        first.send_signal(signal.SIGKILL)
        await first.wait()
        statuses = await storm
        waiting.cancel()

        stored = await _scalar(engine, "SELECT count(*) FROM bot_paypal_events")
        applied = await _scalar(engine, "SELECT count(*) FROM bot_paypal_events WHERE status = 'processed'")
        tally = Counter(statuses)
        assert set(tally) <= {0, 200}, tally  # never a 500 (or a 4xx for a genuine event)
        assert tally[200] >= KILL_AT * len(schedule) and tally[0] > 0, tally  # the kill landed mid-storm
        assert 0 < stored < distinct, (stored, distinct)  # some events stored, some never reached the bot
        assert 0 < applied < distinct, (applied, distinct)  # the inbox was being worked through

        # -- PayPal retries what got no 2xx (the first attempts while the bot is still down) -----
        failed = [schedule[i] for i, status in enumerate(statuses) if status != 200]
        resent = rng.sample([schedule[i] for i, status in enumerate(statuses) if status == 200], k=500)
        mark = len(paypal.deliveries)
        retrying = asyncio.create_task(
            paypal.deliver_many(
                hook, [d.body for d in failed + resent], concurrency=CONCURRENCY, shuffle=True, seed=11,
                retries=10, backoff=0.05,
            )
        )  # fmt: skip

        async def refused() -> bool:
            return any(d.status == 0 for d in paypal.deliveries[mark:])

        await _until(refused, 30, "a retry to find the bot down")
        second = await _serve(env)
        try:
            again = await retrying
            assert all(attempts[-1] == 200 for attempts in again), Counter(a[-1] for a in again)
            assert any(len(attempts) > 1 for attempts in again)  # retried, as PayPal does

            async def all_applied() -> bool:
                done = await _scalar(engine, "SELECT count(*) FROM bot_paypal_events WHERE status = 'processed'")
                return done == distinct

            await _until(all_applied, 90, "every event to be applied")
        finally:
            second.send_signal(signal.SIGTERM)
            await second.wait()

        orders = [paypal.orders[top_up.order_id] for top_up in top_ups]
        captures = [unit["payments"]["captures"] for order in orders for unit in order["purchase_units"]]

    # -- exactly once ---------------------------------------------------------------------------
    assert [order["status"] for order in orders] == ["COMPLETED"] * len(top_ups)
    assert [len(c) for c in captures] == [1] * len(top_ups)
    assert len(paypal.captures) == len(top_ups)  # one capture per order, even for those the bot captured
    async with engine.connect() as conn:
        inbox = (
            await conn.execute(text("SELECT status, count(*), sum(deliveries) FROM bot_paypal_events GROUP BY status"))
        ).all()
        keys = (await conn.execute(text("SELECT key, payment_transaction_id, amount FROM bot_ledger_keys"))).all()
        rows = (
            await conn.execute(
                text("SELECT id, organization_id, amount, status FROM payment_transactions WHERE id = ANY(:ids)"),
                {"ids": [t.transaction_id for t in top_ups]},
            )
        ).all()
        credits = Counter(
            (
                await conn.execute(
                    text("SELECT entity_id FROM activity_logs WHERE event_type = 'wallet.topup.complete'")
                )
            ).scalars()
        )
        anomalies = (
            await conn.execute(text("SELECT count(*) FROM activity_logs WHERE event_type = 'payment.anomaly'"))
        ).scalar_one()
        wallets = await conn.execute(text("SELECT organization_id, balance FROM wallets"))
        balances = {org_id: balance for org_id, balance in wallets}
        sums = await conn.execute(
            text(
                "SELECT organization_id, sum(amount) FROM payment_transactions "
                "WHERE status = 'completed' GROUP BY organization_id"
            )
        )
        ledger_sums = {org_id: total for org_id, total in sums}
    await engine.dispose()

    [(status, stored_events, deliveries)] = inbox
    assert (status, stored_events) == ("processed", distinct)  # each event stored once, none failed or dead
    assert deliveries >= tally[200] + len(again)  # every acknowledged delivery was counted on its one row
    by_transaction = {t.transaction_id: t for t in top_ups}
    assert sorted(str(k.payment_transaction_id) for k in keys) == sorted(str(t) for t in by_transaction)
    assert all(k.key.startswith("paypal:capture:") and k.amount == by_transaction[k.payment_transaction_id].amount
               for k in keys)  # fmt: skip
    assert {r.id: (r.status, r.amount) for r in rows} == {t.transaction_id: ("completed", t.amount) for t in top_ups}
    assert credits == Counter({str(t.transaction_id): 1 for t in top_ups})  # one credit record per top-up
    assert anomalies == 0

    paid: Counter[Any] = Counter()
    for top_up in top_ups:
        paid[top_up.org.id] += top_up.amount
    assert len(openings) == ORGS
    for org_id, opening in openings.items():
        # the invariant, and the independent expectation: every top-up of the organisation, once
        assert balances[org_id] == opening + ledger_sums[org_id] == opening + paid[org_id], org_id
