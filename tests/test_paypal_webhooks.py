"""PayPal webhooks end to end: really signed deliveries from the emulator, the bot's offline
verifier, the inbox, the worker and the ledger on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions
from bot.app_keys import SERVICES
from bot.db.engine import create_engine, plain_url, with_database
from bot.db.migrate import migrate
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator
from bot.jobs.outbox import OutboxPolicy
from bot.jobs.paypal_events import InboxPolicy
from bot.jobs.paypal_reconciler import TopUpReconciler
from bot.paypal.client import PayPalClient
from bot.services.topup_pages import sign_ref
from bot.services.topups import attach_order, create_pending_topup, request_id_for_create
from tests.conftest import BOT_SECRET, RunningBot, make_settings, start_bot
from tests.factories import OrgRecord, add_slack_user, make_org, make_user, set_balance
from tests.paypal_fixtures import PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET
from tests.paypal_fixtures import paypal_emulator as paypal_emulator  # noqa: PLC0414 - a fixture

STAFF_CHANNEL = "C0STAFF01"
FAST_INBOX = InboxPolicy(idle_poll_seconds=0.05, backoff_base=0.05, backoff_cap=0.2, max_attempts=3)
FAST_OUTBOX = OutboxPolicy(pace_seconds=0.05, backoff_base=0.05, idle_poll_seconds=0.05)


def webhook_settings(database_url: str, slack: SlackEmulator, paypal: PayPalEmulator, ca_file: Path, **extra: Any):
    return make_settings(
        database_url,
        slack,
        paypal_client_id=PAYPAL_CLIENT_ID,
        paypal_client_secret=PAYPAL_CLIENT_SECRET,
        paypal_api_url=paypal.base_url,
        paypal_webhook_id=paypal.webhook_id,
        paypal_cert_hosts=paypal.base_url,
        paypal_cert_ca=ca_file,
        admin_channel=STAFF_CHANNEL,
        **extra,
    )


@pytest.fixture
def ca_file(tmp_path: Path, paypal_emulator: PayPalEmulator) -> Path:
    path = tmp_path / "paypal-ca.pem"
    path.write_bytes(paypal_emulator.ca_pem)
    return path


async def _running(settings: Any, database_url: str) -> AsyncIterator[RunningBot]:
    runner, url = await start_bot(
        settings, database_url, AppOptions(outbox_policy=FAST_OUTBOX, inbox_policy=FAST_INBOX)
    )
    async with aiohttp.ClientSession() as session:
        yield RunningBot(url=url, app=runner.app, session=session)
    await runner.cleanup()


@pytest.fixture
async def hook_bot(
    database_url: str,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
    ca_file: Path,
) -> AsyncIterator[RunningBot]:
    slack.add_channel(STAFF_CHANNEL, name="csbot-staff")
    async for bot in _running(webhook_settings(database_url, slack, paypal_emulator, ca_file), database_url):
        yield bot


@dataclass(frozen=True)
class TopUp:
    org: OrgRecord
    transaction_id: uuid.UUID
    order_id: str
    payer: str


async def new_topup(
    bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    *,
    amount: str = "25.00",
    order_amount: str | None = None,
) -> TopUp:
    """A pending top-up as the Slack flow writes it, with its PayPal order created by the real client."""
    owner = await make_user(engine)
    org = await make_org(engine, owner, balance=Decimal("10.00"))
    payer = add_slack_user(slack)
    async with engine.begin() as conn:
        txn = await create_pending_topup(
            conn, organization_id=org.id, amount=Decimal(amount), currency="USD", description="Wallet top-up via Slack",
            slack_metadata={"slack_user_id": payer, "slack_team_id": "T0CSBOT01", "user_id": str(owner.id)},
        )  # fmt: skip
    client: PayPalClient = bot.app[SERVICES].paypal  # type: ignore[assignment]
    order = await client.create_order(
        request_id=request_id_for_create(txn), amount=Decimal(order_amount or amount), currency="USD",
        custom_id=str(org.id), invoice_id=str(txn), description="Wallet top-up", brand_name="ContainerStacks",
        return_url="https://bot.example/paypal/return", cancel_url="https://bot.example/paypal/cancel",
    )  # fmt: skip
    async with engine.begin() as conn:
        await attach_order(conn, txn, order.id)
    return TopUp(org, txn, order.id, payer)


def hook_url(bot: RunningBot) -> str:
    return bot.url + "/webhooks/paypal"


async def balance(engine: AsyncEngine, org: OrgRecord) -> Decimal:
    async with engine.connect() as conn:
        query = text("SELECT balance FROM wallets WHERE organization_id = :o")
        return (await conn.execute(query, {"o": org.id})).scalar_one()


async def topup_status(engine: AsyncEngine, topup: TopUp) -> str:
    async with engine.connect() as conn:
        query = text("SELECT status FROM payment_transactions WHERE id = :i")
        return (await conn.execute(query, {"i": topup.transaction_id})).scalar_one()


async def inbox_row(engine: AsyncEngine, event_id: str) -> Any:
    async with engine.connect() as conn:
        query = text("SELECT * FROM bot_paypal_events WHERE event_id = :e")
        return (await conn.execute(query, {"e": event_id})).first()


async def settled(engine: AsyncEngine, event_id: str, *, timeout: float = 30.0) -> Any:
    """Wait until the worker has finished with an event (processed or dead)."""
    async with asyncio.timeout(timeout):
        while True:
            row = await inbox_row(engine, event_id)
            if row is not None and row.status in {"processed", "dead"}:
                return row
            await asyncio.sleep(0.05)


async def deliver(paypal: PayPalEmulator, bot: RunningBot, event: dict[str, Any], **kwargs: Any) -> list[int]:
    return await paypal.deliver(hook_url(bot), event, **kwargs)


# -- the happy paths ------------------------------------------------------------------------------


async def test_order_approved_is_captured_and_credited_once_with_a_dm(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    event = paypal_emulator.event_order_approved(topup.order_id)
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    row = await settled(engine, event["id"])
    assert row.outcome.startswith("credited")
    assert await balance(engine, topup.org) == Decimal("35.00")
    assert await topup_status(engine, topup) == "completed"
    await slack.wait_for("chat.postMessage", predicate=lambda c: "top-up of *$25.00*" in c.args.get("text", ""))
    assert len(paypal_emulator.calls_to("orders.capture")) == 1
    assert (
        paypal_emulator.calls_to("orders.capture")[0].headers["paypal-request-id"] == f"csbot-capture-{topup.order_id}"
    )


async def test_capture_completed_arriving_before_approved_credits_once(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    client: PayPalClient = hook_bot.app[SERVICES].paypal  # type: ignore[assignment]
    captured = await client.capture_order(topup.order_id, request_id=f"csbot-capture-{topup.order_id}")
    completed = paypal_emulator.event_capture_completed(captured.captures[0].id)
    approved = paypal_emulator.event_order_approved(topup.order_id)
    assert await deliver(paypal_emulator, hook_bot, completed) == [200]
    await settled(engine, completed["id"])
    assert await deliver(paypal_emulator, hook_bot, approved) == [200]
    row = await settled(engine, approved["id"])
    assert row.outcome.startswith("already_applied")
    assert await balance(engine, topup.org) == Decimal("35.00")


async def test_the_same_event_delivered_five_times_concurrently_credits_once(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    event = paypal_emulator.event_order_approved(topup.order_id)
    statuses = await paypal_emulator.deliver_many(hook_url(hook_bot), [event], duplicates=5, concurrency=5)
    assert [s for attempt in statuses for s in attempt] == [200] * 5
    row = await settled(engine, event["id"])
    assert row.deliveries == 5
    await asyncio.sleep(0.3)
    assert await balance(engine, topup.org) == Decimal("35.00")


async def test_an_order_the_panel_already_completed_is_not_credited_again(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    client: PayPalClient = hook_bot.app[SERVICES].paypal  # type: ignore[assignment]
    captured = await client.capture_order(topup.order_id, request_id="panel-capture")
    async with engine.begin() as conn:  # the panel's capture endpoint completed and credited it
        await conn.execute(
            text("UPDATE payment_transactions SET status='completed' WHERE id=:i"), {"i": topup.transaction_id}
        )
        await conn.execute(
            text("UPDATE wallets SET balance = balance + 25 WHERE organization_id=:o"), {"o": topup.org.id}
        )
    event = paypal_emulator.event_capture_completed(captured.captures[0].id)
    await deliver(paypal_emulator, hook_bot, event)
    assert (await settled(engine, event["id"])).outcome.startswith("already_applied")
    assert await balance(engine, topup.org) == Decimal("35.00")


# -- forged, altered and unverifiable requests -------------------------------------------------------------


def _one_changed_byte(body: bytes) -> bytes:
    return body.replace(b"25.00", b"95.00", 1)


def _re_serialised(body: bytes) -> bytes:
    return json.dumps(json.loads(body)).encode()


@pytest.mark.parametrize("alter", [_one_changed_byte, _re_serialised], ids=["one_changed_byte", "re_serialised"])
async def test_a_body_that_differs_from_the_signed_bytes_is_rejected_and_nothing_is_stored(
    alter: Callable[[bytes], bytes],
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    event = paypal_emulator.event_order_approved(topup.order_id)
    body = paypal_emulator.serialize(event)
    headers = paypal_emulator.sign(body)
    altered = alter(body)
    assert altered != body
    async with hook_bot.session.post(hook_url(hook_bot), data=altered, headers=headers) as response:
        assert response.status == 400
    assert await inbox_row(engine, event["id"]) is None


async def test_a_certificate_url_off_the_allowlist_is_refused_without_fetching_it(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    event = paypal_emulator.event_order_approved(topup.order_id)
    body = paypal_emulator.serialize(event)
    headers = paypal_emulator.sign(body)
    port = paypal_emulator.base_url.rsplit(":", 1)[1]
    for url in (
        f"http://localhost:{port}/v1/notifications/certs/{paypal_emulator.cert_id}",  # same server, other origin
        f"{paypal_emulator.base_url}/v2/checkout/orders/{topup.order_id}",  # allowed origin, wrong path
        f"{paypal_emulator.base_url}/v1/notifications/certs/../../v2/x",
    ):
        fetched = len(paypal_emulator.calls_to("certs"))
        forged = {**headers, "PAYPAL-CERT-URL": url}
        async with hook_bot.session.post(hook_url(hook_bot), data=body, headers=forged) as response:
            assert response.status == 400, url
        assert len(paypal_emulator.calls_to("certs")) == fetched
    assert await inbox_row(engine, event["id"]) is None


async def test_a_signature_for_another_webhook_id_or_a_mock_event_is_rejected(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    event = paypal_emulator.event_order_approved(topup.order_id)
    body = paypal_emulator.serialize(event)
    for headers in (paypal_emulator.sign(body, webhook_id="WH-SOMEONE-ELSE"), paypal_emulator.sign(body, mock=True)):
        async with hook_bot.session.post(hook_url(hook_bot), data=body, headers=headers) as response:
            assert response.status == 400
    async with hook_bot.session.post(hook_url(hook_bot), data=body) as response:  # no headers at all
        assert response.status == 400
    assert await inbox_row(engine, event["id"]) is None


async def test_an_expired_or_untrusted_certificate_is_refused(
    database_url: str, slack: SlackEmulator, engine: AsyncEngine, tmp_path: Path
) -> None:
    stranger = PayPalEmulator(
        client_id=PAYPAL_CLIENT_ID, client_secret=PAYPAL_CLIENT_SECRET, webhook_id="WH-CSBOT-TEST"
    )
    async with PayPalEmulator(client_id=PAYPAL_CLIENT_ID, client_secret=PAYPAL_CLIENT_SECRET,
                              webhook_id="WH-CSBOT-TEST") as paypal, stranger:  # fmt: skip
        ca = tmp_path / "other-ca.pem"
        ca.write_bytes(stranger.ca_pem)  # the bot trusts someone else's CA
        settings = webhook_settings(database_url, slack, paypal, ca)
        async for bot in _running(settings, database_url):
            event = paypal.build_event("PAYMENT.CAPTURE.COMPLETED", {"id": "X"})
            assert await deliver(paypal, bot, event) == [400]
            assert await inbox_row(engine, event["id"]) is None


# -- outages -----------------------------------------------------------------------------------------------


async def test_database_down_answers_503_and_the_retry_succeeds(
    pg_server_url: str,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
    ca_file: Path,
) -> None:
    name = f"csbot_outage_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(plain_url(pg_server_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(pg_server_url, name)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    await migrate(engine)
    try:
        async for bot in _running(webhook_settings(url, slack, paypal_emulator, ca_file), url):
            event = paypal_emulator.build_event("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-1", "reason": "X"})
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            assert await deliver(paypal_emulator, bot, event) == [503]
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            assert await deliver(paypal_emulator, bot, event, retries=3) == [200]
            row = await settled(engine, event["id"])
            assert row.outcome == "staff alerted"
    finally:
        await engine.dispose()
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


async def test_paypal_unreachable_at_capture_is_retried_until_it_works(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    paypal_emulator.fail("orders.capture", status=503, times=2)
    event = paypal_emulator.event_order_approved(topup.order_id)
    await deliver(paypal_emulator, hook_bot, event)
    row = await settled(engine, event["id"])
    assert (row.status, row.attempts, row.waits) == ("processed", 1, 2)  # waiting for PayPal is not an attempt
    assert await balance(engine, topup.org) == Decimal("35.00")


async def test_a_signed_but_malformed_event_goes_dead_and_staff_are_told(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    event = paypal_emulator.build_event("PAYMENT.CAPTURE.COMPLETED", {"id": "CAPTURE-WITHOUT-AMOUNT"})
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    row = await settled(engine, event["id"])
    assert row.status == "dead" and "MalformedResource" in row.last_error
    await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.args.get("channel") == STAFF_CHANNEL and "failed permanently" in c.args.get("text", ""),
    )


# -- every other event type --------------------------------------------------------------------------------


async def captured_topup(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal: PayPalEmulator
) -> tuple[TopUp, str]:
    topup = await new_topup(bot, engine, slack)
    paypal.approve(topup.order_id)
    event = paypal.event_order_approved(topup.order_id)
    await deliver(paypal, bot, event)
    await settled(engine, event["id"])
    return topup, next(
        iter(
            c
            for c, v in paypal.captures.items()
            if v["supplementary_data"]["related_ids"]["order_id"] == topup.order_id
        )
    )


async def test_partial_and_full_refunds_debit_the_wallet_once_each(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup, capture_id = await captured_topup(hook_bot, engine, slack, paypal_emulator)
    partial = paypal_emulator.event_capture_refunded(paypal_emulator.refund(capture_id, "10.00"))
    rest = paypal_emulator.event_capture_refunded(paypal_emulator.refund(capture_id))
    for event in (partial, partial, rest):
        await deliver(paypal_emulator, hook_bot, event)
    await settled(engine, partial["id"])
    await settled(engine, rest["id"])
    assert await balance(engine, topup.org) == Decimal("10.00")
    async with engine.connect() as conn:
        amounts = (
            await conn.execute(
                text(
                    "SELECT amount FROM payment_transactions WHERE organization_id = :o AND amount < 0 ORDER BY amount"
                ),
                {"o": topup.org.id},
            )
        ).scalars().all()  # fmt: skip
    assert amounts == [Decimal("-15.00"), Decimal("-10.00")]


async def test_a_reversal_can_make_the_wallet_negative_and_alerts_staff(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup, capture_id = await captured_topup(hook_bot, engine, slack, paypal_emulator)
    async with engine.begin() as conn:
        await set_balance(conn, topup.org.id, Decimal("5"))  # spent, as far as this test cares
    event = paypal_emulator.event_capture_reversed(paypal_emulator.reverse(capture_id))
    await deliver(paypal_emulator, hook_bot, event)
    assert (await settled(engine, event["id"])).outcome.startswith("refunded")
    assert await balance(engine, topup.org) == Decimal("-20.00")
    await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.args.get("channel") == STAFF_CHANNEL and "negative" in c.args.get("text", ""),
    )


async def test_mismatched_amount_is_not_captured_and_moves_no_money(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack, amount="25.00", order_amount="2500.00")
    paypal_emulator.approve(topup.order_id)
    event = paypal_emulator.event_order_approved(topup.order_id)
    await deliver(paypal_emulator, hook_bot, event)
    assert (await settled(engine, event["id"])).outcome.startswith("mismatch")
    assert paypal_emulator.calls_to("orders.capture") == []
    assert await balance(engine, topup.org) == Decimal("10.00")
    await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.args.get("channel") == STAFF_CHANNEL and "anomaly" in c.args.get("text", "").lower(),
    )


@pytest.mark.parametrize("outcome", ["PENDING", "DECLINED"])
async def test_pending_is_recorded_and_declined_fails_the_top_up(
    outcome: str,
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    paypal_emulator.set_capture_outcome(topup.order_id, outcome, "PENDING_REVIEW" if outcome == "PENDING" else None)
    event = paypal_emulator.event_order_approved(topup.order_id)
    await deliver(paypal_emulator, hook_bot, event)
    await settled(engine, event["id"])
    assert await topup_status(engine, topup) == ("pending" if outcome == "PENDING" else "failed")
    assert await balance(engine, topup.org) == Decimal("10.00")
    if outcome == "PENDING":  # later PayPal completes it and says so
        [capture_id] = [c for c, v in paypal_emulator.captures.items()
                        if v["supplementary_data"]["related_ids"]["order_id"] == topup.order_id]  # fmt: skip
        paypal_emulator.complete_pending_capture(capture_id)
        done = paypal_emulator.event_capture_completed(capture_id)
        await deliver(paypal_emulator, hook_bot, done)
        await settled(engine, done["id"])
        assert await balance(engine, topup.org) == Decimal("35.00")


async def test_approval_reversed_fails_the_top_up(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    paypal_emulator.reverse_approval(topup.order_id)
    event = paypal_emulator.event_approval_reversed(topup.order_id)
    await deliver(paypal_emulator, hook_bot, event)
    await settled(engine, event["id"])
    assert await topup_status(engine, topup) == "failed"


async def test_a_dispute_alerts_staff(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    _, capture_id = await captured_topup(hook_bot, engine, slack, paypal_emulator)
    event = paypal_emulator.event_dispute_created(paypal_emulator.open_dispute(capture_id))
    await deliver(paypal_emulator, hook_bot, event)
    assert (await settled(engine, event["id"])).outcome == "staff alerted"
    await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.args.get("channel") == STAFF_CHANNEL and capture_id in c.args.get("text", ""),
    )


WELL_FORMED_DISPUTE = {
    "dispute_id": "PP-D-TYPES", "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED", "status": "OPEN",
    "dispute_amount": {"currency_code": "USD", "value": "25.00"},
    "disputed_transactions": [{"seller_transaction_id": "CAPTURE-TYPES-1"}],
}  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [
        {"dispute_amount": "25.00"},
        {"dispute_amount": ["25.00", "USD"]},
        {"dispute_amount": {"currency_code": "USD", "value": 25}},
        {"dispute_amount": {"currency_code": "USD", "value": "twenty-five"}},
        {"dispute_amount": {"currency_code": ["USD"], "value": "25.00"}},
        {"disputed_transactions": {"seller_transaction_id": "CAPTURE-TYPES-1"}},
        {"disputed_transactions": ["CAPTURE-TYPES-1", 7]},
        {"disputed_transactions": [{"seller_transaction_id": ["CAPTURE-TYPES-1"]}]},
        {"dispute_id": {"id": "PP-D-TYPES"}},
    ],
    ids=[
        "amount_string",
        "amount_list",
        "value_number",
        "value_not_decimal",
        "currency_list",
        "transactions_object",
        "transactions_not_objects",
        "capture_id_list",
        "dispute_id_object",
    ],
)
async def test_a_dispute_with_wrongly_typed_fields_is_malformed_at_once(
    fields: dict[str, Any],
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    event = paypal_emulator.build_event("CUSTOMER.DISPUTE.CREATED", {**WELL_FORMED_DISPUTE, **fields})
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    row = await settled(engine, event["id"])
    assert (row.status, row.attempts) == ("dead", 1)  # refused on the first attempt, never retried
    assert "MalformedResource" in row.last_error
    await slack.wait_for(
        "chat.postMessage",
        predicate=lambda c: c.args.get("channel") == STAFF_CHANNEL and event["id"] in c.args.get("text", ""),
    )


async def test_verify_api_mode_accepts_real_and_refuses_mock_events(
    database_url: str,
    slack: SlackEmulator,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,
    ca_file: Path,
) -> None:
    settings = webhook_settings(database_url, slack, paypal_emulator, ca_file, paypal_webhook_verification="api")
    async for bot in _running(settings, database_url):
        event = paypal_emulator.build_event("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-API"})
        assert await deliver(paypal_emulator, bot, event) == [200]
        mock = paypal_emulator.build_event("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-MOCK"})
        assert await deliver(paypal_emulator, bot, mock, mock=True) == [400]
        assert await inbox_row(engine, mock["id"]) is None
        assert len(paypal_emulator.calls_to("verify")) == 2


# -- the reconciler ------------------------------------------------------------------------------------------


async def test_reconciler_finishes_an_approved_top_up_nobody_told_us_about(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)  # the buyer closed the tab; no webhook arrives
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE payment_transactions SET created_at = now() - interval '20 minutes' WHERE id = :i"),
            {"i": topup.transaction_id},
        )
    services = hook_bot.app[SERVICES]
    reconciler = TopUpReconciler(engine, services.settings, services.paypal)  # type: ignore[arg-type]
    results = await reconciler.run_once()
    assert [r.outcome.value for r in results if r.transaction_id == topup.transaction_id] == ["credited"]
    assert await balance(engine, topup.org) == Decimal("35.00")
    again = await reconciler.run_once()
    assert all(r.transaction_id != topup.transaction_id for r in again)


async def test_reconciler_fails_top_ups_abandoned_past_the_approval_window(
    hook_bot: RunningBot,
    engine: AsyncEngine,
    slack: SlackEmulator,
    paypal_emulator: PayPalEmulator,
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE payment_transactions SET created_at = now() - interval '7 hours' WHERE id = :i"),
            {"i": topup.transaction_id},
        )
    services = hook_bot.app[SERVICES]
    await TopUpReconciler(engine, services.settings, services.paypal).run_once()  # type: ignore[arg-type]
    assert await topup_status(engine, topup) == "failed"
    async with engine.connect() as conn:
        meta = (
            await conn.execute(
                text("SELECT metadata FROM payment_transactions WHERE id = :i"), {"i": topup.transaction_id}
            )
        ).scalar_one()
    assert meta["reason"] == "abandoned"


async def test_the_return_page_racing_the_webhook_credits_once(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    ref = sign_ref(BOT_SECRET, topup.transaction_id)
    event = paypal_emulator.event_order_approved(topup.order_id)

    async def visit_return_page() -> int:
        url = f"{hook_bot.url}/paypal/return?ref={ref}&token={topup.order_id}&PayerID=BUYER1"
        async with hook_bot.session.get(url) as response:
            return response.status

    page_status, delivery = await asyncio.gather(visit_return_page(), deliver(paypal_emulator, hook_bot, event))
    assert page_status == 200 and delivery == [200]
    await settled(engine, event["id"])
    assert await balance(engine, topup.org) == Decimal("35.00")
    async with engine.connect() as conn:
        keys = (
            await conn.execute(
                text("SELECT count(*) FROM bot_ledger_keys WHERE organization_id = :o"), {"o": topup.org.id}
            )
        ).scalar_one()
    assert keys == 1


async def test_a_denied_pending_capture_fails_the_top_up(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    paypal_emulator.set_capture_outcome(topup.order_id, "PENDING", "PENDING_REVIEW")
    approved = paypal_emulator.event_order_approved(topup.order_id)
    await deliver(paypal_emulator, hook_bot, approved)
    await settled(engine, approved["id"])
    [capture_id] = [c for c, v in paypal_emulator.captures.items()
                    if v["supplementary_data"]["related_ids"]["order_id"] == topup.order_id]  # fmt: skip
    paypal_emulator.deny_pending_capture(capture_id)
    denied = paypal_emulator.event_capture_denied(capture_id)
    await deliver(paypal_emulator, hook_bot, denied)
    assert (await settled(engine, denied["id"])).outcome.startswith("failed")
    assert await topup_status(engine, topup) == "failed"
    assert await balance(engine, topup.org) == Decimal("10.00")
    await slack.wait_for("chat.postMessage", predicate=lambda c: "did not go through" in c.args.get("text", ""))
