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
its top-ups. Forged replays (genuine headers of the storm, another body patched to the same CRC32,
claiming $10,000 for orders nobody paid) are sent among PayPal's retries: every one gets 400.

A second storm runs while PayPal's own API fails for a while (5xx, 429, dropped connections,
answers slower than the client waits): the events the worker cannot check against PayPal's copy
wait, past the attempt limit, and are then applied exactly once.

The bot runs in a child process (so SIGKILL is real) built by `serve_main` below: the real app with
the inbox worker's lease and backoff shortened, so a claim orphaned by the kill is taken over in
seconds instead of the production two minutes. The periodic jobs are off (SCHEDULER_ENABLED=false)
so the reconciler cannot credit anything behind the webhooks' back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions
from bot.db import plain
from bot.db.engine import create_engine
from bot.db.migrate import migrate
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator
from bot.jobs.paypal_events import InboxPolicy, PayPalEventWorker
from bot.metrics import Metrics
from bot.paypal.client import PayPalClient
from bot.services.paypal_events import PayPalEventProcessor
from bot.services.topups import request_id_for_capture
from tests.conftest import BOT_SECRET, BOT_TOKEN, SIGNING_SECRET, make_settings, start_bot
from tests.factories import OrgRecord, make_org, make_user
from tests.paypal_fixtures import approved_order, pending_order
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
UNPAID = 10  # $10,000 top-ups whose orders were created and never approved: what forged replays claim
FORGED = 300  # forged replays sent among PayPal's retries


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
    engine: AsyncEngine,
    paypal: PayPalEmulator,
    client: PayPalClient,
    *,
    orgs_n: int = ORGS,
    per_org: int = TOP_UPS_PER_ORG,
) -> tuple[dict[uuid.UUID, Decimal], list[TopUp]]:
    """`orgs_n` organisations (and their opening balances) with `per_org` top-ups each, paid by
    the buyer."""
    orgs, openings = [], {}
    for n in range(orgs_n):
        org = await make_org(engine, await make_user(engine), balance=Decimal(5 + n % 3))
        orgs.append(org)
        openings[org.id] = Decimal(5 + n % 3)
    gate = asyncio.Semaphore(16)

    async def one(n: int) -> TopUp:
        org = orgs[n % orgs_n]
        amount = Decimal(f"{10 + n % 7}.{(n * 37) % 100:02d}")
        async with gate:
            txn, order_id = await approved_order(engine, paypal, client, org.id, amount)
            if n % APPROVED_ONLY == 0:
                return TopUp(org, txn, order_id, amount, (paypal.event_order_approved(order_id),))
            approved = paypal.event_order_approved(order_id)
            captured = await client.capture_order(order_id, request_id=request_id_for_capture(order_id))
            completed = paypal.event_capture_completed(captured.captures[0].id)
            return TopUp(org, txn, order_id, amount, (approved, completed))

    return openings, list(await asyncio.gather(*(one(n) for n in range(orgs_n * per_org))))


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


@dataclass(frozen=True)
class Unpaid:
    org: OrgRecord
    transaction_id: uuid.UUID
    order_id: str


async def _unpaid(engine: AsyncEngine, client: PayPalClient, orgs: Sequence[OrgRecord]) -> list[Unpaid]:
    """Top-ups of $10,000 with their orders created at PayPal and never approved."""
    made = []
    for org in orgs:
        txn, order_id = await pending_order(engine, client, org.id, Decimal("10000.00"))
        made.append(Unpaid(org, txn, order_id))
    return made


async def _forged_replays(
    url: str, paypal: PayPalEmulator, genuine: Sequence[Delivery], unpaid: Sequence[Unpaid]
) -> list[int]:
    """Each genuine delivery's exact headers on a forged body of the same CRC32: PAYMENT.CAPTURE.
    COMPLETED for an unpaid order, $10,000, with that top-up's ids. The status each got."""
    statuses = []
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for delivery, victim in zip(genuine, itertools.cycle(unpaid), strict=False):
            resource = {
                "id": victim.order_id, "status": "COMPLETED", "amount": {"currency_code": "USD", "value": "10000.00"},
                "custom_id": str(victim.org.id), "invoice_id": str(victim.transaction_id),
                "supplementary_data": {"related_ids": {"order_id": victim.order_id}},
            }  # fmt: skip
            event = paypal.build_event("PAYMENT.CAPTURE.COMPLETED", resource)
            body, headers = paypal.forged_replay(delivery, event)
            statuses.append(await _post(session, url, Delivery(event["id"], body, headers)))
    return statuses


async def _migrated(fresh_database: Callable[[], Awaitable[str]]) -> tuple[str, AsyncEngine]:
    url = await fresh_database()
    engine = create_engine(url, pool_size=4)
    await migrate(engine)
    return url, engine


async def _wallets_and_ledger(engine: AsyncEngine) -> tuple[dict[Any, Decimal], dict[Any, Decimal]]:
    """Every wallet's balance, and the sum of each organisation's completed ledger rows."""
    async with engine.connect() as conn:
        balances = dict((await conn.execute(text("SELECT organization_id, balance FROM wallets"))).all())
        sums = await conn.execute(
            text(
                "SELECT organization_id, sum(amount) FROM payment_transactions "
                "WHERE status = 'completed' GROUP BY organization_id"
            )
        )
        return balances, dict(sums.all())


@contextlib.asynccontextmanager
async def _emulators(name: str) -> AsyncIterator[tuple[PayPalEmulator, SlackEmulator, aiohttp.ClientSession]]:
    """PayPal (credentials `<name>-id`/`<name>-secret`, webhook `WH-<NAME>`), Slack and an HTTP session."""
    async with (
        PayPalEmulator(client_id=f"{name}-id", client_secret=f"{name}-secret", webhook_id=f"WH-{name.upper()}") as pp,
        SlackEmulator(bot_token=BOT_TOKEN) as slack,
        aiohttp.ClientSession() as http,
    ):
        yield pp, slack, http


async def _still_unpaid(engine: AsyncEngine, unpaid: Sequence[Unpaid]) -> list[str]:
    async with engine.connect() as conn:
        query = text("SELECT status FROM payment_transactions WHERE id = ANY(:ids)")
        return list((await conn.execute(query, {"ids": [u.transaction_id for u in unpaid]})).scalars())


@pytest.mark.timeout(240)
async def test_sigkill_during_a_webhook_storm_loses_and_duplicates_nothing(
    fresh_database: Callable[[], Awaitable[str]], tmp_path: Path
) -> None:
    url, engine = await _migrated(fresh_database)
    rng = random.Random(20240607)
    async with _emulators("storm") as (paypal, slack, http):
        client = PayPalClient(http, paypal.base_url, "storm-id", "storm-secret")
        openings, top_ups = await _top_ups(engine, paypal, client)
        unpaid = await _unpaid(engine, client, [t.org for t in top_ups[:UNPAID]])
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
            answered = [schedule[i] for i, status in enumerate(statuses) if status == 200]
            forged = await _forged_replays(hook, paypal, rng.sample(answered, k=FORGED), unpaid)
            assert Counter(forged) == Counter({400: FORGED})  # a transmission id bound to another body

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
    balances, ledger_sums = await _wallets_and_ledger(engine)
    unpaid_statuses = await _still_unpaid(engine, unpaid)
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
    assert anomalies == 0  # the forged replays were refused before they were stored
    assert unpaid_statuses == ["pending"] * UNPAID

    paid: Counter[Any] = Counter()
    for top_up in top_ups:
        paid[top_up.org.id] += top_up.amount
    assert len(openings) == ORGS
    for org_id, opening in openings.items():
        # the invariant, and the independent expectation: every top-up of the organisation, once
        assert balances[org_id] == opening + ledger_sums[org_id] == opening + paid[org_id], org_id


# -- PayPal's API failing for a while during a storm ------------------------------------------------

OUTAGE_ORGS, OUTAGE_PER_ORG = 12, 5
REFUND_EVERY = 6  # every REFUND_EVERY-th captured top-up is partly refunded at PayPal (1.00)
#: The worker of the outage test: attempts run out after 4, so only waiting carries an event through
#: an outage longer than that; backoff in tenths of a second.
OUTAGE_INBOX = InboxPolicy(
    batch_size=20, concurrency=4, lease_seconds=10.0, max_attempts=4, backoff_base=0.05, backoff_cap=0.3,
    idle_poll_seconds=0.05,
)  # fmt: skip
CLIENT_TIMEOUT = 0.5  # the worker's PayPal client gives up after this; some faults answer later


def _outage(paypal: PayPalEmulator, routes: Sequence[str], rounds: int) -> int:
    """PayPal failing the next `rounds` × 5 requests to each route, every way it can: 503, 500, 429,
    a dropped connection and an answer slower than the client waits. Returns the faults queued."""
    for route in routes:
        for _ in range(rounds):
            paypal.fail(route, status=503)
            paypal.fail(route, status=500)
            paypal.fail(route, status=429, headers={"Retry-After": "1"})
            paypal.fail(route, disconnect=True)
            paypal.fail(route, status=503, delay=CLIENT_TIMEOUT * 2)
    return len(routes) * rounds * 5


async def _work_until_applied(
    engine: AsyncEngine, processor: PayPalEventProcessor, expected: int, timeout: float
) -> None:
    """Two inbox workers (as two replicas would run) until `expected` events are processed."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(PayPalEventWorker(processor, Metrics(), OUTAGE_INBOX).run(stop)) for _ in range(2)]

    async def applied() -> bool:
        return await _scalar(engine, "SELECT count(*) FROM bot_paypal_events WHERE status = 'processed'") == expected

    try:
        await _until(applied, timeout, f"{expected} events to be applied")
    finally:
        stop.set()
        await asyncio.gather(*tasks)


@pytest.mark.timeout(240)
async def test_paypal_failing_to_answer_during_a_storm_makes_events_wait_then_apply_exactly_once(
    fresh_database: Callable[[], Awaitable[str]], tmp_path: Path
) -> None:
    url, engine = await _migrated(fresh_database)
    rng = random.Random(20261206)
    async with _emulators("outage") as (paypal, slack, http):
        client = PayPalClient(http, paypal.base_url, "outage-id", "outage-secret")
        openings, top_ups = await _top_ups(engine, paypal, client, orgs_n=OUTAGE_ORGS, per_org=OUTAGE_PER_ORG)
        unpaid = await _unpaid(engine, client, [t.org for t in top_ups[:3]])
        refunds = []
        for top_up in [t for t in top_ups if len(t.events) == 2][::REFUND_EVERY]:
            capture_id = top_up.events[1]["resource"]["id"]
            refunds.append((top_up, paypal.event_capture_refunded(paypal.refund(capture_id, "1.00"))))
        captures_and_approvals = [event for top_up in top_ups for event in top_up.events]

        ca = tmp_path / "ca.pem"
        ca.write_bytes(paypal.ca_pem)
        settings = make_settings(
            url, slack, paypal_client_id="outage-id", paypal_client_secret="outage-secret",
            paypal_api_url=paypal.base_url, paypal_webhook_id="WH-OUTAGE", paypal_cert_hosts=paypal.base_url,
            paypal_cert_ca=ca, scheduler_enabled=False,
        )  # fmt: skip
        runner, bot_url = await start_bot(settings, url, AppOptions(run_workers=False))  # receives only
        hook = bot_url + "/webhooks/paypal"
        pool = await plain.create_pool(url, max_size=4)
        worker_client = PayPalClient(
            http, paypal.base_url, "outage-id", "outage-secret", timeout_seconds=CLIENT_TIMEOUT
        )
        processor = PayPalEventProcessor(engine, pool, settings, worker_client)
        try:
            # Wave 1: approvals and captures, three transmissions each, shuffled; then forged replays.
            storm = await paypal.deliver_many(
                hook, captures_and_approvals, duplicates=3, shuffle=True, seed=3, concurrency=16
            )
            assert Counter(status for attempts in storm for status in attempts) == Counter({200: len(storm)})
            forged = await _forged_replays(hook, paypal, rng.sample(paypal.deliveries, k=60), unpaid)
            assert Counter(forged) == Counter({400: 60})
            planned = _outage(paypal, ("orders.get", "orders.capture", "captures.get"), rounds=6)
            await _work_until_applied(engine, processor, len(captures_and_approvals), timeout=120)

            # Wave 2: the refunds, while PayPal's refund reads fail.
            storm = await paypal.deliver_many(hook, [event for _, event in refunds], duplicates=3, shuffle=True, seed=4)
            assert all(attempts == [200] for attempts in storm)
            planned += _outage(paypal, ("refunds.get",), rounds=4)
            await _work_until_applied(engine, processor, len(captures_and_approvals) + len(refunds), timeout=90)
        finally:
            await runner.cleanup()
            await pool.close()
        faults_left = paypal.faults_left()
        captures = len(paypal.captures)

    async with engine.connect() as conn:
        inbox = (await conn.execute(text("SELECT status, attempts, waits FROM bot_paypal_events"))).all()
        keys = Counter(k.split(":")[1] for k in (await conn.execute(text("SELECT key FROM bot_ledger_keys"))).scalars())
        anomalies = (
            await conn.execute(text("SELECT count(*) FROM activity_logs WHERE event_type = 'payment.anomaly'"))
        ).scalar_one()
    balances, ledger = await _wallets_and_ledger(engine)
    unpaid_statuses = await _still_unpaid(engine, unpaid)
    await engine.dispose()

    assert planned > 100 and faults_left == 0  # every failure PayPal was scripted to give was met
    assert {row.status for row in inbox} == {"processed"}
    assert len(inbox) == len(captures_and_approvals) + len(refunds)  # forged replays were never stored
    assert max(row.waits for row in inbox) >= OUTAGE_INBOX.max_attempts  # waited past the attempt limit
    assert all(row.attempts <= OUTAGE_INBOX.max_attempts for row in inbox)
    assert captures == len(top_ups)  # one capture per order, the bot's own captures included
    assert keys == Counter({"capture": len(top_ups), "refund": len(refunds)})
    assert anomalies == 0 and unpaid_statuses == ["pending"] * len(unpaid)
    expected: Counter[Any] = Counter()
    for top_up in top_ups:
        expected[top_up.org.id] += top_up.amount
    for top_up, _ in refunds:
        expected[top_up.org.id] -= Decimal("1.00")
    for org_id, opening in openings.items():
        assert balances[org_id] == opening + ledger[org_id] == opening + expected[org_id], org_id
