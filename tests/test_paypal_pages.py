"""`GET /paypal/return` and `GET /paypal/cancel` after a top-up started in Slack: the buyer's browser
comes back from the PayPal emulator to the real app, which captures and credits through PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering import payment_pages as pages
from bot.services.topups import request_id_for_capture
from tests.conftest import RunningBot
from tests.paypal_fixtures import (
    Page,
    Payer,
    StartedTopup,
    activities,
    balance_of,
    buyer_action,
    payer,
    paypal_bot,  # noqa: F401 - fixture
    paypal_emulator,  # noqa: F401 - fixture
    start_topup,
    topup_row,
    visit,
)


async def topped_up(
    bot: RunningBot,
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    paypal: PayPalEmulator,
    engine: AsyncEngine,
) -> tuple[Payer, StartedTopup]:
    """An owner with $10.00 who started a $25.00 top-up in Slack."""
    owner = await payer(engine, slack, org_name="Pages & Co", balance=Decimal("10.00"))
    return owner, await start_topup(bot, slack, slack_requests, paypal, owner, amount="25")


def ref_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["ref"][0]


def assert_generic(page: Page) -> None:
    assert page.status == 404
    assert pages.GENERIC in page.body
    assert "$" not in page.body and "Pages" not in page.body


def assert_private(page: Page) -> None:
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<script" not in page.body and "http" not in page.body.split("<body>")[1]


# -- return ------------------------------------------------------------------------------------------------


async def test_return_after_approval_captures_credits_once_and_shows_amount_and_balance(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    location = await buyer_action(paypal_emulator, started.order_id)
    page = await visit(paypal_bot, location)

    assert page.status == 200, page.body
    assert_private(page)
    assert "$25.00 was added to your wallet" in page.body and "New balance: $35.00" in page.body
    assert await balance_of(engine, owner.org) == Decimal("35.00")
    row = await topup_row(engine, started.transaction_id)
    assert row.status == "completed"
    assert row.metadata["balance_before"] == "10.00" and row.metadata["balance_after"] == "35.00"
    assert row.metadata["captured_via"] == "return_page"
    [capture] = paypal_emulator.calls_to("orders.capture")
    assert capture.request_id == request_id_for_capture(started.order_id)
    assert (
        row.metadata["capture_id"]
        == paypal_emulator.orders[started.order_id]["purchase_units"][0]["payments"]["captures"][0]["id"]
    )
    await slack.wait_for("chat.postMessage", predicate=lambda call: "is complete" in str(call.args.get("text")))
    assert len(await activities(engine, owner.org, "wallet.topup.complete")) == 1


async def test_return_page_visited_twice_still_credits_once(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    location = await buyer_action(paypal_emulator, started.order_id)
    first = await visit(paypal_bot, location)
    second = await visit(paypal_bot, location)
    assert first.status == second.status == 200
    assert "New balance: $35.00" in second.body
    assert await balance_of(engine, owner.org) == Decimal("35.00")


async def test_return_page_visited_concurrently_credits_once(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    location = await buyer_action(paypal_emulator, started.order_id)
    visits = await asyncio.gather(*(visit(paypal_bot, location) for _ in range(4)))
    assert all(v.status == 200 for v in visits)
    assert await balance_of(engine, owner.org) == Decimal("35.00")
    assert (await topup_row(engine, started.transaction_id)).status == "completed"
    assert {c.request_id for c in paypal_emulator.calls_to("orders.capture")} == {
        request_id_for_capture(started.order_id)
    }


async def test_return_with_a_missing_or_forged_ref_shows_the_generic_page_and_changes_nothing(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    location = await buyer_action(paypal_emulator, started.order_id)
    ref = ref_of(location)
    forged = ref[:-2] + ("AA" if not ref.endswith("AA") else "BB")
    token = started.order_id
    for path in (
        f"/paypal/return?token={token}&PayerID=X",
        f"/paypal/return?ref=&token={token}",
        f"/paypal/return?ref={forged}&token={token}",
        f"/paypal/return?ref={started.transaction_id}&token={token}",
        f"/paypal/return?ref=not-a-ref.abc&token={token}",
        f"/paypal/return?ref={ref}",
        f"/paypal/return?ref={ref}&token=5O190127TN364715T",
        f"/paypal/return?ref={ref}&token=%C3%A9",
        f"/paypal/return?ref={ref}%C3%A9&token={token}",
    ):
        page = await visit(paypal_bot, path)
        assert_generic(page)
        assert_private(page)
    assert paypal_emulator.calls_to("orders.capture") == []
    assert (await topup_row(engine, started.transaction_id)).status == "pending"
    assert await balance_of(engine, owner.org) == Decimal("10.00")


async def test_return_with_someone_elses_order_shows_the_generic_page(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    mine_owner, mine = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    theirs_owner = await payer(engine, slack)
    theirs = await start_topup(paypal_bot, slack, slack_requests, paypal_emulator, theirs_owner, amount="30")
    my_location = await buyer_action(paypal_emulator, mine.order_id)
    await buyer_action(paypal_emulator, theirs.order_id)

    page = await visit(paypal_bot, f"/paypal/return?ref={ref_of(my_location)}&token={theirs.order_id}")
    assert_generic(page)
    assert paypal_emulator.calls_to("orders.capture") == []
    assert await balance_of(engine, theirs_owner.org) == Decimal("10.00")
    assert await balance_of(engine, mine_owner.org) == Decimal("10.00")


async def test_return_before_approval_says_the_payment_is_not_approved_yet(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    location = await buyer_action(paypal_emulator, started.order_id)
    paypal_emulator.reverse_approval(started.order_id)  # approval gone: PayPal answers ORDER_NOT_APPROVED
    page = await visit(paypal_bot, location)
    assert page.status == 200 and pages.NOT_APPROVED_TITLE in page.body
    assert (await topup_row(engine, started.transaction_id)).status == "pending"
    assert await balance_of(engine, owner.org) == Decimal("10.00")


async def test_return_with_a_pending_capture_shows_the_pending_page(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    paypal_emulator.set_capture_outcome(started.order_id, "PENDING", "PENDING_REVIEW")
    location = await buyer_action(paypal_emulator, started.order_id)
    page = await visit(paypal_bot, location)
    assert page.status == 200 and "PayPal is still processing your payment of $25.00" in page.body
    row = await topup_row(engine, started.transaction_id)
    assert row.status == "pending" and row.metadata["capture_status"] == "PENDING"
    assert await balance_of(engine, owner.org) == Decimal("10.00")

    again = await visit(paypal_bot, location)  # looks again (GET), does not capture twice
    assert "still processing" in again.body
    assert len(paypal_emulator.calls_to("orders.capture")) == 1
    assert len(await activities(engine, owner.org, "wallet.topup.pending")) == 1


async def test_return_with_a_declined_capture_shows_what_to_do_and_marks_it_failed(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    paypal_emulator.set_capture_outcome(started.order_id, "DECLINED")
    location = await buyer_action(paypal_emulator, started.order_id)
    page = await visit(paypal_bot, location)
    assert page.status == 200 and pages.DECLINED_TITLE in page.body
    assert "another payment method" in page.body and "/cs wallet topup" in page.body
    assert (await topup_row(engine, started.transaction_id)).status == "failed"
    assert await balance_of(engine, owner.org) == Decimal("10.00")


async def test_return_with_a_declined_instrument_shows_the_declined_page(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    _, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    paypal_emulator.set_capture_outcome(started.order_id, "INSTRUMENT_DECLINED")
    location = await buyer_action(paypal_emulator, started.order_id)
    page = await visit(paypal_bot, location)
    assert page.status == 200 and "another payment method" in page.body


async def test_return_while_paypal_is_down_promises_to_finish_automatically(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    location = await buyer_action(paypal_emulator, started.order_id)
    paypal_emulator.fail("orders.capture", status=503)
    page = await visit(paypal_bot, location)
    assert page.status == 200 and "finish it automatically" in page.body
    assert (await topup_row(engine, started.transaction_id)).status == "pending"

    later = await visit(paypal_bot, location)  # PayPal is back: the same visit now completes
    assert "New balance: $35.00" in later.body
    assert await balance_of(engine, owner.org) == Decimal("35.00")


# -- cancel --------------------------------------------------------------------------------------------------


async def test_cancel_marks_the_topup_failed_with_a_cancel_reason_once(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    location = await buyer_action(paypal_emulator, started.order_id, "cancel")
    assert urlsplit(location).path == "/paypal/cancel"
    page = await visit(paypal_bot, location)
    assert page.status == 200 and "Top-up cancelled; nothing was charged." in page.body
    assert_private(page)
    row = await topup_row(engine, started.transaction_id)
    assert row.status == "failed" and row.metadata["cancel_reason"] == "user_cancelled"
    [activity] = await activities(engine, owner.org, "wallet.topup.cancel")
    assert activity.entity_type == "payment_transaction" and activity.entity_id == str(started.transaction_id)
    assert activity.user_id == owner.user.id

    again = await visit(paypal_bot, location)
    assert again.status == 200 and "Top-up cancelled" in again.body
    after = await topup_row(engine, started.transaction_id)
    assert after.updated_at == row.updated_at and after.metadata == row.metadata
    assert len(await activities(engine, owner.org, "wallet.topup.cancel")) == 1

    back = await visit(paypal_bot, location.replace("/paypal/cancel", "/paypal/return"))  # never captured now
    assert "Top-up cancelled" in back.body
    assert paypal_emulator.calls_to("orders.capture") == []
    assert await balance_of(engine, owner.org) == Decimal("10.00")


async def test_cancel_with_an_invalid_ref_shows_the_generic_page_and_changes_nothing(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    for path in (
        f"/paypal/cancel?token={started.order_id}",
        f"/paypal/cancel?ref={started.transaction_id}.AAAA&token={started.order_id}",
    ):
        assert_generic(await visit(paypal_bot, path))
    assert (await topup_row(engine, started.transaction_id)).status == "pending"
    assert await activities(engine, owner.org, "wallet.topup.cancel") == []


async def test_cancel_after_paying_does_not_undo_the_payment(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner, started = await topped_up(paypal_bot, slack, slack_requests, paypal_emulator, engine)
    location = await buyer_action(paypal_emulator, started.order_id)
    await visit(paypal_bot, location)
    page = await visit(paypal_bot, location.replace("/paypal/return", "/paypal/cancel"))
    assert page.status == 200 and pages.ALREADY_PAID_TITLE in page.body
    assert (await topup_row(engine, started.transaction_id)).status == "completed"
    assert await balance_of(engine, owner.org) == Decimal("35.00")
