"""The bot wired to the PayPal emulator, plus helpers for wallet and top-up scenarios.

Import the fixtures into a test module (`from tests.paypal_fixtures import paypal_bot, paypal_emulator`)
to use them. The bot's PUBLIC_URL is a fixed external-looking origin: PayPal redirects the buyer there,
and `follow_to_bot` replays that redirect against the bot's real address.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions
from bot.emulators.paypal import Call, PayPalEmulator
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.emulators.slack.recording import ResponsePost
from bot.jobs.outbox import OutboxPolicy
from bot.paypal.client import PayPalClient
from bot.rendering import wallet as render
from bot.services.topups import attach_order, create_pending_topup, request_id_for_create
from tests.conftest import RunningBot, make_settings, start_bot
from tests.factories import OrgRecord, UserRecord, add_member, link_slack, make_org, make_user, new_slack_user_id

PUBLIC_URL = "https://csbot.example.test"
PAYPAL_CLIENT_ID = "csbot-test-client"
PAYPAL_CLIENT_SECRET = "csbot-test-secret-0123456789"
CHANNEL_ID = "C0WALLET01"


@pytest.fixture
async def paypal_emulator() -> AsyncIterator[PayPalEmulator]:
    emulator = PayPalEmulator(
        client_id=PAYPAL_CLIENT_ID, client_secret=PAYPAL_CLIENT_SECRET, webhook_id="WH-CSBOT-TEST"
    )
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
async def paypal_bot(
    database_url: str, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> AsyncIterator[RunningBot]:
    """The real app with PayPal credentials pointing at the emulator (no webhook id: pages only)."""
    settings = make_settings(
        database_url,
        slack,
        paypal_client_id=PAYPAL_CLIENT_ID,
        paypal_client_secret=PAYPAL_CLIENT_SECRET,
        paypal_api_url=paypal_emulator.base_url,
        public_url=PUBLIC_URL,
    )
    options = AppOptions(outbox_policy=OutboxPolicy(pace_seconds=0.05, backoff_base=0.05, idle_poll_seconds=0.05))
    runner, url = await start_bot(settings, database_url, options)
    async with aiohttp.ClientSession() as session:
        yield RunningBot(url=url, app=runner.app, session=session)
    await runner.cleanup()


@dataclass(frozen=True)
class PayPalWorld:
    """Everything a top-up scenario touches, for tests that need all of it at once."""

    bot: RunningBot
    slack: SlackEmulator
    slack_requests: SlackRequestFactory
    engine: AsyncEngine
    paypal: PayPalEmulator


@pytest.fixture
def paypal_world(
    paypal_bot: RunningBot,
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,
) -> PayPalWorld:
    return PayPalWorld(paypal_bot, slack, slack_requests, engine, paypal_emulator)


# -- people and organisations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Payer:
    """A panel user linked to a Slack user, acting in `org` with `role`."""

    slack_id: str
    user: UserRecord
    org: OrgRecord


async def payer(
    engine: AsyncEngine,
    slack: SlackEmulator,
    *,
    role: str = "owner",
    balance: Decimal = Decimal("10.00"),
    currency: str = "USD",
    org: OrgRecord | None = None,
    org_name: str | None = None,
) -> Payer:
    """A linked Slack user who owns a fresh organisation (or has `role` in it, or joins `org`)."""
    user = await make_user(engine)
    if org is None:
        owner = user if role == "owner" else await make_user(engine)
        org = await make_org(engine, owner, name=org_name, balance=balance)
        if currency != "USD":
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE wallets SET currency = :c WHERE organization_id = :o"), {"c": currency, "o": org.id}
                )
        if owner is not user:
            await add_member(engine, org, user, role)
    else:
        await add_member(engine, org, user, role)
    slack_id = new_slack_user_id()
    slack.add_user(slack_id, name=user.name, email=user.email)
    await link_slack(engine, slack_id, user)
    return Payer(slack_id, user, org)


# -- Slack -----------------------------------------------------------------------------------------------


async def run(bot: RunningBot, slack_requests: SlackRequestFactory, who: Payer, words: str) -> Any:
    """Send `/cs <words>` from `who`; returns the ack body (parsed JSON, or the raw text)."""
    status, body = await bot.send(slack_requests.slash_command(who.slack_id, words, channel_id=CHANNEL_ID))
    assert status == 200, body
    return json.loads(body) if body.startswith("{") else body


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's buttons by action id."""
    return {
        element["action_id"]: element
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    }


async def click(bot: RunningBot, slack_requests: SlackRequestFactory, who: Payer, button: dict[str, Any]) -> None:
    """Click a button on an ephemeral message (the answer comes through its response_url)."""
    request = slack_requests.block_actions(who.slack_id, [button], channel_id=CHANNEL_ID, is_ephemeral=True)
    status, body = await bot.send(request)
    assert status == 200, body


def responses_of(slack: SlackEmulator, who: Payer) -> list[ResponsePost]:
    return [r for r in slack.responses if r.user_id == who.slack_id]


async def wait_for_response(
    slack: SlackEmulator, who: Payer, predicate: Any, *, timeout: float = 30.0
) -> dict[str, Any]:
    """The first response_url post for `who` whose payload satisfies `predicate`."""
    async with asyncio.timeout(timeout):
        while True:
            for response in responses_of(slack, who):
                if predicate(response.payload):
                    return response.payload
            await asyncio.sleep(0.02)


def has_pay_button(payload: dict[str, Any]) -> bool:
    return render.PAY_BUTTON_ACTION_ID in buttons(payload)


def flat(message: Any) -> str:
    return json.dumps(message, ensure_ascii=False)


@dataclass(frozen=True)
class StartedTopup:
    order_id: str
    transaction_id: uuid.UUID
    pay_url: str
    message: dict[str, Any]


async def start_topup(
    bot: RunningBot,
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    paypal: PayPalEmulator,
    who: Payer,
    *,
    amount: str = "25.00",
) -> StartedTopup:
    """`/cs wallet topup <amount>`, Confirm, and wait for the PayPal button."""
    preview = await run(bot, slack_requests, who, f"wallet topup {amount}")
    await click(bot, slack_requests, who, buttons(preview)[render.TOPUP_CONFIRM_ACTION_ID])
    message = await wait_for_response(slack, who, has_pay_button)
    [created] = [c for c in paypal.calls_to("orders.create") if c.ok][-1:]
    order_id = str(created.response["id"])
    return StartedTopup(
        order_id=order_id,
        transaction_id=uuid.UUID(created.json["purchase_units"][0]["invoice_id"]),
        pay_url=buttons(message)[render.PAY_BUTTON_ACTION_ID]["url"],
        message=message,
    )


# -- the buyer's browser ---------------------------------------------------------------------------------


def experience_context(call: Call) -> dict[str, Any]:
    return call.json["payment_source"]["paypal"]["experience_context"]


async def buyer_action(paypal: PayPalEmulator, order_id: str, action: str = "approve") -> str:
    """The buyer clicks Pay (or Cancel) on PayPal's page; returns where PayPal redirects the browser."""
    async with aiohttp.ClientSession() as session:
        url = f"{paypal.base_url}/checkoutnow/{action}?token={order_id}"
        async with session.post(url, allow_redirects=False) as response:
            assert response.status == 303, await response.text()
            return response.headers["Location"]


@dataclass(frozen=True)
class Page:
    status: int
    body: str
    headers: dict[str, str]


async def visit(bot: RunningBot, url_or_path: str) -> Page:
    """GET a page of the bot; a PUBLIC_URL address is served by the bot under test."""
    path = url_or_path.removeprefix(PUBLIC_URL)
    async with bot.session.get(bot.url + path, allow_redirects=False) as response:
        return Page(response.status, await response.text(), dict(response.headers))


async def topup_row(engine: AsyncEngine, transaction_id: uuid.UUID) -> Any:
    async with engine.connect() as conn:
        return (
            await conn.execute(text("SELECT * FROM payment_transactions WHERE id = :i"), {"i": transaction_id})
        ).one()


async def org_rows(engine: AsyncEngine, org: OrgRecord) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM payment_transactions WHERE organization_id = :o ORDER BY created_at"), {"o": org.id}
        )
        return list(rows.all())


async def balance_of(engine: AsyncEngine, org: OrgRecord) -> Decimal:
    async with engine.connect() as conn:
        return (
            await conn.execute(text("SELECT balance FROM wallets WHERE organization_id = :o"), {"o": org.id})
        ).scalar_one()


async def activities(engine: AsyncEngine, org: OrgRecord, event_type: str) -> list[Any]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT user_id, entity_type, entity_id, status, metadata FROM activity_logs "
                "WHERE organization_id = :o AND event_type = :e ORDER BY created_at"
            ),
            {"o": org.id, "e": event_type},
        )
        return list(rows.all())


async def pending_order(
    engine: AsyncEngine, client: PayPalClient, organization_id: uuid.UUID, amount: Decimal
) -> tuple[uuid.UUID, str]:
    """A pending top-up with its PayPal order created by the real client, not yet approved (PayPal
    holds it as PAYER_ACTION_REQUIRED): its transaction id and order id."""
    async with engine.begin() as conn:
        txn = await create_pending_topup(
            conn, organization_id=organization_id, amount=amount, currency="USD", description="Wallet top-up",
            slack_metadata={},
        )  # fmt: skip
    order = await client.create_order(
        request_id=request_id_for_create(txn), amount=amount, currency="USD", custom_id=str(organization_id),
        invoice_id=str(txn), description="top-up", brand_name="ContainerStacks",
        return_url="https://bot.example/r", cancel_url="https://bot.example/c",
    )  # fmt: skip
    async with engine.begin() as conn:
        await attach_order(conn, txn, order.id)
    return txn, order.id


async def approved_order(
    engine: AsyncEngine, paypal: PayPalEmulator, client: PayPalClient, organization_id: uuid.UUID, amount: Decimal
) -> tuple[uuid.UUID, str]:
    """A pending top-up whose order the buyer approved (not captured): its transaction id and order id."""
    txn, order_id = await pending_order(engine, client, organization_id, amount)
    paypal.approve(order_id)
    return txn, order_id
