"""A capture that PayPal already shows as refunded when the bot first reads it.

The webhooks were lost (or went dead before the capture was credited), and the merchant refunded
some or all of the payment at PayPal. The reconciler, the return page and the order-approved
webhook then read the order and find the capture PARTIALLY_REFUNDED or REFUNDED, with the refunds
beside it. The money was captured, so the top-up is credited in full and each refund comes back out
through its own ledger row in the same transaction; a refund webhook that arrives afterwards moves
nothing. Real PostgreSQL, the real app and the PayPal emulator; the inbox worker is driven by hand.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app_keys import SERVICES
from bot.db import paypal_events as inbox_db
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator
from bot.jobs.paypal_reconciler import TopUpReconciler
from bot.rendering import payment_pages as pages
from bot.services.topup_pages import sign_ref
from tests.conftest import BOT_SECRET, RunningBot
from tests.paypal_fixtures import paypal_emulator as paypal_emulator  # noqa: PLC0414 - a fixture
from tests.test_paypal_refund_order import (
    START,
    captured_without_telling_the_bot,
    inbox_worker,
    ledger_keys,
    rounds_until,
)
from tests.test_paypal_refund_order import quiet_bot as quiet_bot  # noqa: PLC0414 - a fixture
from tests.test_paypal_webhooks import STAFF_CHANNEL, TopUp, balance, deliver, inbox_row, new_topup, topup_status
from tests.test_paypal_webhooks import ca_file as ca_file  # noqa: PLC0414 - a fixture

AMOUNT = Decimal("25.00")  # new_topup's amount
#: Refunds made at PayPal before the bot heard of the capture (None: whatever is left), and the
#: capture's status afterwards.
REFUNDS = {
    "partial": (["10.00"], "PARTIALLY_REFUNDED"),
    "full": ([None], "REFUNDED"),
    "two_partials": (["5.00", "7.50"], "PARTIALLY_REFUNDED"),
}


def refunded_at_paypal(paypal: PayPalEmulator, capture_id: str, amounts: list[str | None]) -> list[dict[str, Any]]:
    return [paypal.refund(capture_id, amount) for amount in amounts]


async def refunded_before_the_bot_heard(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal: PayPalEmulator, amounts: list[str | None]
) -> tuple[TopUp, str, list[dict[str, Any]]]:
    """A top-up PayPal captured without the bot hearing of it, then refunded by `amounts`."""
    topup = await new_topup(bot, engine, slack)
    capture_id = await captured_without_telling_the_bot(bot, paypal, topup)
    return topup, capture_id, refunded_at_paypal(paypal, capture_id, amounts)


def total(refunds: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(r["amount"]["value"]) for r in refunds), Decimal(0))


async def made_stale(engine: AsyncEngine, topup: TopUp) -> None:
    """Old enough for the reconciler (15 minutes)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE payment_transactions SET created_at = now() - interval '20 minutes' WHERE id = :i"),
            {"i": topup.transaction_id},
        )


def reconciler(bot: RunningBot, engine: AsyncEngine) -> TopUpReconciler:
    services = bot.app[SERVICES]
    return TopUpReconciler(engine, services.settings, services.paypal)  # type: ignore[arg-type]


async def refund_rows(engine: AsyncEngine, topup: TopUp) -> list[tuple[Decimal, str, str]]:
    """(amount, status, refund id) of every negative ledger row of the organisation."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT amount, status, metadata->>'refund_id' AS refund_id FROM payment_transactions "
                "WHERE organization_id = :o AND amount < 0 ORDER BY refund_id"
            ),
            {"o": topup.org.id},
        )
        return [tuple(r) for r in rows.all()]


async def topup_metadata(engine: AsyncEngine, topup: TopUp) -> dict[str, Any]:
    async with engine.connect() as conn:
        query = text("SELECT metadata FROM payment_transactions WHERE id = :i")
        return (await conn.execute(query, {"i": topup.transaction_id})).scalar_one()


async def outbox_keys(engine: AsyncEngine, topup: TopUp) -> dict[str, str]:
    """The queued payment notices about this top-up: dedupe key → channel."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT dedupe_key, channel FROM bot_outbox WHERE dedupe_key LIKE :k"),
            {"k": f"payment:%:{topup.transaction_id}:%"},
        )
        return {r.dedupe_key: r.channel for r in rows.all()}


async def assert_credited_then_refunded(
    engine: AsyncEngine, topup: TopUp, capture_id: str, refunds: list[dict[str, Any]], capture_status: str
) -> None:
    """Credited once in full, each refund debited once by its own row, and both told."""
    assert await balance(engine, topup.org) == START + AMOUNT - total(refunds)
    assert await topup_status(engine, topup) == "completed"
    meta = await topup_metadata(engine, topup)
    assert (meta["capture_id"], meta["capture_status"], meta["capture_amount"]) == (capture_id, capture_status, "25.00")
    expected = sorted((-Decimal(r["amount"]["value"]), "completed", r["id"]) for r in refunds)
    assert sorted(await refund_rows(engine, topup)) == expected
    keys = [f"paypal:capture:{capture_id}", *(f"paypal:refund:{r['id']}" for r in refunds)]
    assert await ledger_keys(engine, topup) == sorted(keys)
    notices = await outbox_keys(engine, topup)
    assert notices[f"payment:credited:{topup.transaction_id}:{capture_id}:payer"] == topup.payer
    for refund in refunds:
        assert notices[f"payment:refunded:{topup.transaction_id}:{refund['id']}:staff"] == STAFF_CHANNEL


async def assert_late_refund_webhooks_move_nothing(
    bot: RunningBot, engine: AsyncEngine, paypal: PayPalEmulator, topup: TopUp, refunds: list[dict[str, Any]]
) -> None:
    """PayPal's refund webhooks finally arrive: already applied, no second debit, no second notice."""
    money, notices = await balance(engine, topup.org), await outbox_keys(engine, topup)
    events = [paypal.event_capture_refunded(refund["id"]) for refund in refunds]
    for event in events:
        assert await deliver(paypal, bot, event) == [200]
    await rounds_until(inbox_worker(bot), engine, [e["id"] for e in events], "processed")
    for event in events:
        assert (await inbox_row(engine, event["id"])).outcome.startswith("already_applied")
    assert await balance(engine, topup.org) == money
    assert len(await refund_rows(engine, topup)) == len(refunds)
    assert await outbox_keys(engine, topup) == notices


# -- what PayPal shows ------------------------------------------------------------------------------


async def test_an_order_shows_its_capture_refunds_as_paypal_does_and_the_client_reads_them(
    quiet_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(quiet_bot, engine, slack)
    capture_id = await captured_without_telling_the_bot(quiet_bot, paypal_emulator, topup)
    assert "refunds" not in paypal_emulator.orders[topup.order_id]["purchase_units"][0]["payments"]
    refunds = refunded_at_paypal(paypal_emulator, capture_id, ["5.00", None])

    payments = paypal_emulator.orders[topup.order_id]["purchase_units"][0]["payments"]
    assert payments["captures"][0]["status"] == "REFUNDED"
    assert payments["refunds"] == [paypal_emulator.refunds[r["id"]] for r in refunds]  # the refund resource
    assert [r["amount"] for r in payments["refunds"]] == [
        {"currency_code": "USD", "value": "5.00"},  # decimal strings, as PayPal sends them
        {"currency_code": "USD", "value": "20.00"},
    ]
    for shown in payments["refunds"]:
        assert {
            "rel": "up",
            "method": "GET",
            "href": f"{paypal_emulator.base_url}/v2/payments/captures/{capture_id}",
        } in shown["links"]

    order = await quiet_bot.app[SERVICES].paypal.get_order(topup.order_id)  # type: ignore[union-attr]
    assert [(r.id, r.capture_id, r.amount, r.currency, r.status) for r in order.refunds] == [
        (refunds[0]["id"], capture_id, Decimal("5.00"), "USD", "COMPLETED"),
        (refunds[1]["id"], capture_id, Decimal("20.00"), "USD", "COMPLETED"),
    ]


# -- the reconciler ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", REFUNDS, ids=list(REFUNDS))
async def test_the_reconciler_credits_a_refunded_capture_and_applies_its_refunds(
    case: str, quiet_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    amounts, capture_status = REFUNDS[case]
    topup, capture_id, refunds = await refunded_before_the_bot_heard(quiet_bot, engine, slack, paypal_emulator, amounts)
    await made_stale(engine, topup)

    results = await reconciler(quiet_bot, engine).run_once()

    mine = [r.outcome.value for r in results if r.transaction_id == topup.transaction_id]
    assert mine == ["credited"] + ["refunded"] * len(refunds)
    await assert_credited_then_refunded(engine, topup, capture_id, refunds, capture_status)
    assert all(r.transaction_id != topup.transaction_id for r in await reconciler(quiet_bot, engine).run_once())
    await assert_late_refund_webhooks_move_nothing(quiet_bot, engine, paypal_emulator, topup, refunds)


async def test_a_refund_webhook_that_went_dead_is_made_good_by_the_reconciler_and_replays_move_nothing(
    quiet_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup, capture_id, [refund] = await refunded_before_the_bot_heard(
        quiet_bot, engine, slack, paypal_emulator, ["10.00"]
    )
    refunded = paypal_emulator.event_capture_refunded(refund["id"])
    assert await deliver(paypal_emulator, quiet_bot, refunded) == [200]
    await rounds_until(inbox_worker(quiet_bot, max_attempts=1), engine, [refunded["id"]], "dead")
    await made_stale(engine, topup)

    await reconciler(quiet_bot, engine).run_once()
    await assert_credited_then_refunded(engine, topup, capture_id, [refund], "PARTIALLY_REFUNDED")

    async with engine.begin() as conn:  # staff replay the dead event (`/cs admin payments replay`)
        assert await inbox_db.requeue(conn, refunded["id"])
    await rounds_until(inbox_worker(quiet_bot), engine, [refunded["id"]], "processed")
    assert (await inbox_row(engine, refunded["id"])).outcome.startswith("already_applied")
    assert await balance(engine, topup.org) == START + AMOUNT - Decimal("10.00")


async def test_a_malformed_order_does_not_stop_the_reconciler_batch(
    quiet_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    odd, fine = await new_topup(quiet_bot, engine, slack), await new_topup(quiet_bot, engine, slack)
    for topup in (odd, fine):
        paypal_emulator.approve(topup.order_id)
        await made_stale(engine, topup)
    numeric = {"id": odd.order_id, "status": "APPROVED",
               "purchase_units": [{"amount": {"currency_code": "USD", "value": 25.0}}]}  # fmt: skip
    paypal_emulator.fail("orders.get", status=200, body=numeric)  # the first top-up's order, read first

    results = await reconciler(quiet_bot, engine).run_once()

    assert [r.outcome.value for r in results if r.transaction_id == fine.transaction_id] == ["credited"]
    assert all(r.transaction_id != odd.transaction_id for r in results)
    assert (await topup_status(engine, odd), await balance(engine, odd.org)) == ("pending", START)
    assert await ledger_keys(engine, odd) == []
    assert [c.path for c in paypal_emulator.calls_to("orders.capture")] == [
        f"/v2/checkout/orders/{fine.order_id}/capture"
    ]


# -- the return page and the order-approved webhook --------------------------------------------------


@pytest.mark.parametrize("case", ["partial", "full"])
async def test_the_return_page_credits_a_refunded_capture_and_applies_its_refunds(
    case: str, quiet_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    """The page's capture call reached PayPal but its answer was lost; the buyer reloads the page
    after the merchant refunded: the replayed capture shows the refunded capture and its refunds."""
    amounts, capture_status = REFUNDS[case]
    topup, capture_id, refunds = await refunded_before_the_bot_heard(quiet_bot, engine, slack, paypal_emulator, amounts)

    ref = sign_ref(BOT_SECRET, topup.transaction_id)
    status, body = await quiet_bot.get(f"/paypal/return?ref={ref}&token={topup.order_id}&PayerID=BUYER1")

    assert status == 200 and pages.COMPLETED_TITLE in body
    await assert_credited_then_refunded(engine, topup, capture_id, refunds, capture_status)
    await assert_late_refund_webhooks_move_nothing(quiet_bot, engine, paypal_emulator, topup, refunds)


async def test_a_late_order_approved_webhook_credits_a_refunded_capture_and_applies_its_refunds(
    quiet_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(quiet_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    approved = paypal_emulator.event_order_approved(topup.order_id)  # sent at approval, delivered late
    capture_id = await captured_without_telling_the_bot(quiet_bot, paypal_emulator, topup)
    refunds = refunded_at_paypal(paypal_emulator, capture_id, ["10.00"])

    assert await deliver(paypal_emulator, quiet_bot, approved) == [200]
    await rounds_until(inbox_worker(quiet_bot), engine, [approved["id"]], "processed")

    outcome = (await inbox_row(engine, approved["id"])).outcome
    assert outcome.startswith("credited") and "refunded" in outcome
    await assert_credited_then_refunded(engine, topup, capture_id, refunds, "PARTIALLY_REFUNDED")
    await assert_late_refund_webhooks_move_nothing(quiet_bot, engine, paypal_emulator, topup, refunds)


# -- amounts are strings --------------------------------------------------------------------------------


async def test_a_capture_webhook_with_a_numeric_amount_is_malformed_and_moves_nothing(
    quiet_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(quiet_bot, engine, slack)
    capture_id = await captured_without_telling_the_bot(quiet_bot, paypal_emulator, topup)
    event = paypal_emulator.event_capture_completed(capture_id)
    event["resource"]["amount"]["value"] = 25.0  # the right amount, as a JSON number

    assert await deliver(paypal_emulator, quiet_bot, event) == [200]
    await rounds_until(inbox_worker(quiet_bot), engine, [event["id"]], "dead")

    row = await inbox_row(engine, event["id"])
    assert row.attempts == 1 and "MalformedResource" in row.last_error
    assert (await topup_status(engine, topup), await balance(engine, topup.org)) == ("pending", START)
    assert await ledger_keys(engine, topup) == []


async def test_an_approved_order_webhook_with_a_numeric_amount_is_malformed_and_not_captured(
    quiet_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(quiet_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)
    event = paypal_emulator.event_order_approved(topup.order_id)
    event["resource"]["purchase_units"][0]["amount"]["value"] = 25  # the right amount, as a JSON number

    assert await deliver(paypal_emulator, quiet_bot, event) == [200]
    await rounds_until(inbox_worker(quiet_bot), engine, [event["id"]], "dead")

    row = await inbox_row(engine, event["id"])
    assert row.attempts == 1 and "MalformedResource" in row.last_error
    assert paypal_emulator.calls_to("orders.capture") == []
    assert (await topup_status(engine, topup), await balance(engine, topup.org)) == ("pending", START)
