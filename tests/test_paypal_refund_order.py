"""A refund webhook that overtakes its capture's: PayPal does not order its deliveries, so the inbox
keeps the refund for a later attempt and applies it exactly once when the capture is credited.

The bot runs without its background workers; the test drives the real inbox worker round by round
(with backoff shortened to milliseconds) so "before" and "after" the capture arrives are exact.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions
from bot.app_keys import METRICS, SERVICES
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator
from bot.jobs.paypal_events import InboxPolicy, PayPalEventWorker
from bot.paypal.client import PayPalClient
from bot.rendering.notices import written
from bot.services.paypal_events import PayPalEventProcessor
from bot.services.topups import request_id_for_capture
from tests.conftest import RunningBot, start_bot
from tests.paypal_fixtures import paypal_emulator as paypal_emulator  # noqa: PLC0414 - a fixture
from tests.test_paypal_webhooks import STAFF_CHANNEL, TopUp, balance, deliver, inbox_row, new_topup, webhook_settings
from tests.test_paypal_webhooks import ca_file as ca_file  # noqa: PLC0414 - a fixture

START = Decimal("10.00")  # new_topup's starting balance


@pytest.fixture
async def quiet_bot(
    database_url: str, slack: SlackEmulator, paypal_emulator: PayPalEmulator, ca_file: Path
) -> AsyncIterator[RunningBot]:
    """The real app receiving webhooks, with no worker of its own applying them."""
    slack.add_channel(STAFF_CHANNEL, name="csbot-staff")
    settings = webhook_settings(database_url, slack, paypal_emulator, ca_file)
    runner, url = await start_bot(settings, database_url, AppOptions(run_workers=False))
    async with aiohttp.ClientSession() as session:
        yield RunningBot(url=url, app=runner.app, session=session)
    await runner.cleanup()


def inbox_worker(bot: RunningBot, *, max_attempts: int = 10) -> PayPalEventWorker:
    """The production worker and processor; only the backoff is shortened to milliseconds."""
    services = bot.app[SERVICES]
    processor = PayPalEventProcessor(services.engine, services.pool, services.settings, services.paypal)
    policy = InboxPolicy(backoff_base=0.01, backoff_cap=0.02, max_attempts=max_attempts)
    return PayPalEventWorker(processor, bot.app[METRICS], policy)


async def captured_without_telling_the_bot(bot: RunningBot, paypal: PayPalEmulator, topup: TopUp) -> str:
    """The buyer paid and PayPal captured; the capture's webhook has not reached the bot yet."""
    paypal.approve(topup.order_id)
    client: PayPalClient = bot.app[SERVICES].paypal  # type: ignore[assignment]
    captured = await client.capture_order(topup.order_id, request_id=request_id_for_capture(topup.order_id))
    return captured.captures[0].id


async def rounds_until(worker: PayPalEventWorker, engine: AsyncEngine, event_ids: list[str], status: str) -> None:
    """Run worker rounds until every event has `status` (the rows are in the failure if never)."""
    for _ in range(100):
        await worker.run_once()
        rows = [await inbox_row(engine, event_id) for event_id in event_ids]
        if all(row.status == status for row in rows):
            return
        await asyncio.sleep(0.03)  # past the shortened backoff
    raise AssertionError([(r.event_type, r.status, r.attempts, r.outcome, r.last_error) for r in rows])


async def rows_of(engine: AsyncEngine, topup: TopUp) -> list[Any]:
    async with engine.connect() as conn:
        query = text("SELECT amount, status FROM payment_transactions WHERE organization_id = :o ORDER BY amount")
        return list((await conn.execute(query, {"o": topup.org.id})).all())


async def ledger_keys(engine: AsyncEngine, topup: TopUp) -> list[str]:
    async with engine.connect() as conn:
        query = text("SELECT key FROM bot_ledger_keys WHERE organization_id = :o ORDER BY key")
        return list((await conn.execute(query, {"o": topup.org.id})).scalars())


async def test_a_refund_before_its_capture_waits_and_is_applied_once_after_it(
    quiet_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(quiet_bot, engine, slack)
    capture_id = await captured_without_telling_the_bot(quiet_bot, paypal_emulator, topup)
    completed = paypal_emulator.event_capture_completed(capture_id)  # sent at capture time, delivered late
    refunded = paypal_emulator.event_capture_refunded(paypal_emulator.refund(capture_id, "10.00"))
    worker = inbox_worker(quiet_bot)

    assert await deliver(paypal_emulator, quiet_bot, refunded) == [200]
    for attempt in (1, 2, 3):  # each round: no debit, not final, kept for a later attempt
        await worker.run_once()
        row = await inbox_row(engine, refunded["id"])
        assert (row.status, row.attempts, row.outcome) == ("failed", attempt, None)
        assert "no credited top-up" in row.last_error
        assert await balance(engine, topup.org) == START
        assert [r.amount for r in await rows_of(engine, topup)] == [Decimal("25.00")]  # the pending top-up only
        await asyncio.sleep(0.03)

    assert await deliver(paypal_emulator, quiet_bot, completed) == [200]
    await rounds_until(worker, engine, [completed["id"], refunded["id"]], "processed")
    assert (await inbox_row(engine, completed["id"])).outcome.startswith("credited")
    assert (await inbox_row(engine, refunded["id"])).outcome.startswith("refunded")

    # PayPal resends both: counted, never applied again.
    for event in (refunded, completed):
        assert await deliver(paypal_emulator, quiet_bot, event) == [200]
    for _ in range(3):
        await worker.run_once()
    assert (await inbox_row(engine, refunded["id"])).deliveries == 2

    rows = await rows_of(engine, topup)
    assert [(r.amount, r.status) for r in rows] == [(Decimal("-10.00"), "completed"), (Decimal("25.00"), "completed")]
    assert await ledger_keys(engine, topup) == sorted(
        [f"paypal:capture:{capture_id}", f"paypal:refund:{refunded['resource']['id']}"]
    )
    assert await balance(engine, topup.org) == START + sum(r.amount for r in rows) == Decimal("25.00")


async def test_a_refund_whose_capture_never_arrives_is_dead_only_after_the_last_attempt(
    quiet_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(quiet_bot, engine, slack)
    capture_id = await captured_without_telling_the_bot(quiet_bot, paypal_emulator, topup)
    reversed_ = paypal_emulator.event_capture_reversed(paypal_emulator.reverse(capture_id))
    worker = inbox_worker(quiet_bot, max_attempts=3)

    assert await deliver(paypal_emulator, quiet_bot, reversed_) == [200]
    for attempt in (1, 2):
        await worker.run_once()
        assert ((await inbox_row(engine, reversed_["id"])).status, attempt) == ("failed", attempt)
        await asyncio.sleep(0.03)
    await worker.run_once()
    row = await inbox_row(engine, reversed_["id"])
    assert (row.status, row.attempts) == ("dead", 3)
    assert capture_id in row.last_error
    assert await balance(engine, topup.org) == START
    assert await ledger_keys(engine, topup) == []
    async with engine.connect() as conn:  # staff are told (through the outbox) that it failed for good
        alert = (
            await conn.execute(
                text("SELECT channel, payload FROM bot_outbox WHERE dedupe_key = :k"),
                {"k": f"paypal:dead:{reversed_['id']}:3"},
            )
        ).one()
    assert alert.channel == STAFF_CHANNEL and "failed permanently" in written(alert.payload)["text"]
