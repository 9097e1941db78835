"""`/cs wallet topup`: validation, permissions, preview → Confirm → PayPal order, through the real app,
the Slack emulator, the PayPal emulator and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering import wallet as render
from bot.services.topup_pages import verify_ref
from bot.services.topups import BRAND_NAME, request_id_for_create
from tests.conftest import BOT_SECRET, RunningBot
from tests.factories import make_org
from tests.paypal_fixtures import (
    CHANNEL_ID,
    PUBLIC_URL,
    PayPalWorld,
    activities,
    buttons,
    click,
    experience_context,
    flat,
    has_pay_button,
    org_rows,
    payer,
    paypal_bot,  # noqa: F401 - fixture
    paypal_emulator,  # noqa: F401 - fixture
    paypal_world,  # noqa: F401 - fixture
    run,
    start_topup,
    topup_row,
    wait_for_response,
)

# -- validation and permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        ("0.999", "more than two decimals"),
        ("0.50", "smallest top-up is $1.00"),
        ("10000.01", "largest top-up is $10,000.00"),
        ("abc", "is not an amount"),
        ("-5", "is negative"),
        ("€5", "This wallet is in USD: give the amount in it, for example $25.00."),
        ("$", "is not an amount"),
    ],
)
async def test_topup_with_an_invalid_amount_is_refused_and_changes_nothing(
    paypal_world: PayPalWorld,  # noqa: F811
    case: tuple[str, str],
) -> None:
    amount, expected = case
    owner = await payer(paypal_world.engine, paypal_world.slack)
    answer = await run(paypal_world.bot, paypal_world.slack_requests, owner, f"wallet topup {amount}")
    assert expected in answer["text"]
    assert render.TOPUP_CONFIRM_ACTION_ID not in buttons(answer)
    assert await org_rows(paypal_world.engine, owner.org) == []
    assert paypal_world.paypal.calls_to("orders.create") == []


async def test_topup_without_an_amount_asks_for_one_with_usage(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
) -> None:
    owner = await payer(engine, slack)
    answer = await run(paypal_bot, slack_requests, owner, "wallet topup")
    assert "How much" in answer["text"] and "/cs wallet topup 25" in answer["text"]
    assert "1.00" in answer["text"] and "10,000.00" in answer["text"]


async def test_topup_by_a_member_is_refused_naming_the_admin_role(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
) -> None:
    member = await payer(engine, slack, role="member")
    answer = await run(paypal_bot, slack_requests, member, "wallet topup 25")
    assert "You need to be an organisation admin" in answer["text"]
    assert await org_rows(engine, member.org) == []


async def test_topup_is_allowed_for_an_admin(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
) -> None:
    admin = await payer(engine, slack, role="admin")
    answer = await run(paypal_bot, slack_requests, admin, "wallet topup 25")
    assert render.TOPUP_CONFIRM_ACTION_ID in buttons(answer)


async def test_topup_without_paypal_configured_says_so(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    answer = await run(bot, slack_requests, owner, "wallet topup 25")
    assert "PayPal is not configured on this bot" in answer["text"]


async def test_topup_of_a_wallet_in_an_unsupported_currency_is_refused_clearly(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
) -> None:
    owner = await payer(engine, slack, currency="CHF")
    answer = await run(paypal_bot, slack_requests, owner, "wallet topup 25")
    assert "CHF" in answer["text"] and "USD, EUR, GBP" in answer["text"]
    assert render.TOPUP_CONFIRM_ACTION_ID not in buttons(answer)


# -- preview and confirm -------------------------------------------------------------------------------------


async def test_topup_preview_names_the_organisation_and_amount_and_writes_nothing(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner = await payer(engine, slack, org_name="Acme <b>&</b>", currency="EUR")
    answer = await run(paypal_bot, slack_requests, owner, "wallet topup €25.5")  # the symbol may lead
    assert answer["text"] == "Top up Acme &lt;b&gt;&amp;&lt;/b&gt; by €25.50 via PayPal"
    confirm = buttons(answer)[render.TOPUP_CONFIRM_ACTION_ID]
    assert confirm["style"] == "primary"
    assert render.TOPUP_CANCEL_ACTION_ID in buttons(answer)
    assert await org_rows(engine, owner.org) == []
    assert paypal_emulator.calls_to("orders.create") == []


async def test_confirm_writes_a_pending_row_like_the_panel_and_creates_the_paypal_order(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner = await payer(engine, slack, org_name="Pay Co")
    started = await start_topup(paypal_bot, slack, slack_requests, paypal_emulator, owner, amount="25")

    [row] = await org_rows(engine, owner.org)
    assert row.id == started.transaction_id
    assert row.amount == Decimal("25.00") and row.currency == "USD"
    assert (row.payment_method, row.payment_provider, row.status) == ("paypal", "paypal", "pending")
    assert row.provider_transaction_id == started.order_id
    assert row.description == "Wallet top-up via Slack"
    meta = row.metadata
    assert meta["slack_user_id"] == owner.slack_id and meta["slack_team_id"] == slack_requests.team_id
    assert meta["slack_channel_id"] == "C0WALLET01" and "slack_enterprise_id" in meta
    assert meta["user_id"] == str(owner.user.id) and meta["payment_id"] == started.order_id

    [create] = paypal_emulator.calls_to("orders.create")
    assert create.request_id == request_id_for_create(row.id)
    assert create.json["intent"] == "CAPTURE"
    [unit] = create.json["purchase_units"]
    assert unit["amount"] == {"currency_code": "USD", "value": "25.00"}
    assert unit["custom_id"] == str(owner.org.id) and unit["invoice_id"] == str(row.id)
    context = experience_context(create)
    assert context["brand_name"] == BRAND_NAME and context["shipping_preference"] == "NO_SHIPPING"
    for key, path in (("return_url", "/paypal/return"), ("cancel_url", "/paypal/cancel")):
        url = urlsplit(context[key])
        assert f"{url.scheme}://{url.netloc}{url.path}" == PUBLIC_URL + path
        [ref] = parse_qs(url.query)["ref"]
        assert verify_ref(BOT_SECRET, ref) == row.id

    assert started.pay_url == paypal_emulator.checkout_url(started.order_id)
    button = buttons(started.message)[render.PAY_BUTTON_ACTION_ID]
    assert button["url"] == started.pay_url and button["text"]["text"] == "Pay $25.00 with PayPal"
    assert "3 hours" in flat(started.message)
    assert BOT_SECRET not in flat(started.message) and "ref=" not in flat(started.message)

    [activity] = await activities(engine, owner.org, "wallet.topup.create")
    assert activity.entity_type == "payment_transaction" and activity.entity_id == str(row.id)
    assert activity.user_id == owner.user.id and activity.status == "success"


async def test_confirm_clicked_twice_creates_one_order_with_one_request_id(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner = await payer(engine, slack)
    preview = await run(paypal_bot, slack_requests, owner, "wallet topup 40")
    confirm = buttons(preview)[render.TOPUP_CONFIRM_ACTION_ID]
    await asyncio.gather(*(click(paypal_bot, slack_requests, owner, confirm) for _ in range(2)))
    await wait_for_response(slack, owner, has_pay_button)
    await paypal_emulator.wait_for("orders.create", count=2, predicate=lambda call: call.status > 0)

    [row] = await org_rows(engine, owner.org)
    creates = paypal_emulator.calls_to("orders.create")
    assert {c.request_id for c in creates} == {request_id_for_create(row.id)}
    assert len(paypal_emulator.orders) == 1
    assert row.provider_transaction_id == next(iter(paypal_emulator.orders))
    assert len(await activities(engine, owner.org, "wallet.topup.create")) == 1


async def test_confirm_when_paypal_fails_marks_the_topup_failed_and_says_to_retry(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner = await payer(engine, slack)
    paypal_emulator.fail("orders.create", status=500)
    preview = await run(paypal_bot, slack_requests, owner, "wallet topup 25")
    await click(paypal_bot, slack_requests, owner, buttons(preview)[render.TOPUP_CONFIRM_ACTION_ID])
    message = await wait_for_response(slack, owner, lambda p: "try again in a minute" in p.get("text", ""))
    assert message["replace_original"] is True and "Nothing was charged" in message["text"]

    [row] = await org_rows(engine, owner.org)
    assert row.status == "failed" and row.provider_transaction_id is None
    assert row.metadata["paypal_status_code"] == 500 and row.metadata["paypal_error"] == "INTERNAL_SERVER_ERROR"
    [failure] = await activities(engine, owner.org, "wallet.topup.failed")
    assert failure.status == "error"


async def test_confirm_rechecks_the_role_at_click_time(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    admin = await payer(engine, slack, role="admin")
    preview = await run(paypal_bot, slack_requests, admin, "wallet topup 25")
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE organization_members SET role = 'member' WHERE user_id = :u"), {"u": admin.user.id}
        )
    await click(paypal_bot, slack_requests, admin, buttons(preview)[render.TOPUP_CONFIRM_ACTION_ID])
    message = await wait_for_response(slack, admin, lambda p: "organisation admin" in p.get("text", ""))
    assert message["replace_original"] is True
    assert await org_rows(engine, admin.org) == []
    assert paypal_emulator.calls_to("orders.create") == []


async def test_confirm_tops_up_the_organisation_it_was_previewed_for_whichever_is_active(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner = await payer(engine, slack)
    other = await make_org(engine, owner.user, name="Other wallet")
    await run(paypal_bot, slack_requests, owner, f"org use {owner.org.slug}")
    preview = await run(paypal_bot, slack_requests, owner, "wallet topup 25")
    await run(paypal_bot, slack_requests, owner, f"org use {other.slug}")
    await click(paypal_bot, slack_requests, owner, buttons(preview)[render.TOPUP_CONFIRM_ACTION_ID])
    await wait_for_response(slack, owner, has_pay_button)
    [row] = await org_rows(engine, owner.org)
    assert row.status == "pending" and row.amount == Decimal("25.00")
    assert await org_rows(engine, other) == []
    [order] = paypal_emulator.calls_to("orders.create")
    assert order.json["purchase_units"][0]["custom_id"] == str(owner.org.id)


async def test_cancel_on_the_preview_replaces_it_and_writes_nothing(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
) -> None:
    owner = await payer(engine, slack)
    preview = await run(paypal_bot, slack_requests, owner, "wallet topup 25")
    await click(paypal_bot, slack_requests, owner, buttons(preview)[render.TOPUP_CANCEL_ACTION_ID])
    message = await wait_for_response(slack, owner, lambda p: "cancelled" in p.get("text", ""))
    assert message["replace_original"] is True and "nothing was charged" in message["text"]
    assert await org_rows(engine, owner.org) == []


async def test_a_second_topup_gets_its_own_row_and_order(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    owner = await payer(engine, slack)
    first = await start_topup(paypal_bot, slack, slack_requests, paypal_emulator, owner, amount="10")
    slack.responses.clear()
    second = await start_topup(paypal_bot, slack, slack_requests, paypal_emulator, owner, amount="10")
    assert first.order_id != second.order_id
    assert (await topup_row(engine, first.transaction_id)).status == "pending"
    assert len(await org_rows(engine, owner.org)) == 2


async def test_the_used_pay_button_is_replaced_by_what_happens_next(
    paypal_bot: RunningBot,  # noqa: F811
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,  # noqa: F811
) -> None:
    """Clicking Pay opens PayPal (a link button); the message then says so instead of offering Pay again."""
    owner = await payer(engine, slack)
    started = await start_topup(paypal_bot, slack, slack_requests, paypal_emulator, owner, amount="25")
    shown = slack.show_answer(CHANNEL_ID, owner.slack_id, started.message)
    pay = buttons(shown)[render.PAY_BUTTON_ACTION_ID]
    request = slack_requests.block_actions(owner.slack_id, [pay], channel_id=CHANNEL_ID, message=shown)
    assert (await paypal_bot.send(request))[0] == 200

    async def replaced() -> dict | None:
        [message] = slack.ephemerals(owner.slack_id, CHANNEL_ID)
        return message if "PayPal is open" in flat(message) else None

    async with asyncio.timeout(5):
        while not (message := await replaced()):
            await asyncio.sleep(0.02)
    assert message["ts"] == shown["ts"] and buttons(message) == {}  # the same message, the button gone
    assert "*$25.00*" in message["text"] and f"<{started.pay_url}|Open it again>" in flat(message)
    assert (await topup_row(engine, started.transaction_id)).status == "pending"  # nothing else changed
