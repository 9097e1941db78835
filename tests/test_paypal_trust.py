"""A webhook is a notification, not proof of payment (issue 16).

PayPal signs `transmission id|time|webhook id|CRC32(body)`, and CRC32 can be forged: the emulator
replays a genuine delivery's exact headers with another body patched to the same CRC32, and the
bot's own verifier accepts it. The bot refuses such replays (a transmission id bound to its first
body, a transmission-time window) and, whatever gets through, applies only PayPal's own copy of
the resource it names: a forged $10,000 capture for an order PayPal says is unpaid moves nothing.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app_keys import SERVICES
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator
from bot.jobs.housekeeping import housekeeping
from bot.paypal.client import PayPalClient
from bot.paypal.verify import WebhookVerifier
from bot.rendering.notices import written
from bot.services.topups import request_id_for_capture
from tests.conftest import RunningBot, make_settings
from tests.factories import make_org, make_user
from tests.paypal_fixtures import PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, approved_order
from tests.paypal_fixtures import paypal_emulator as paypal_emulator  # noqa: PLC0414 - a fixture
from tests.test_paypal_webhooks import (
    STAFF_CHANNEL,
    TopUp,
    _running,
    balance,
    captured_topup,
    deliver,
    hook_url,
    inbox_row,
    new_topup,
    settled,
    topup_status,
    webhook_settings,
)
from tests.test_paypal_webhooks import ca_file as ca_file  # noqa: PLC0414 - a fixture
from tests.test_paypal_webhooks import hook_bot as hook_bot  # noqa: PLC0414 - a fixture

START = Decimal("10.00")  # new_topup's starting balance


async def post(bot: RunningBot, body: bytes, headers: dict[str, str]) -> int:
    async with bot.session.post(hook_url(bot), data=body, headers=headers) as response:
        return response.status


async def captured(bot: RunningBot, paypal: PayPalEmulator, topup: TopUp) -> str:
    """The buyer paid and PayPal captured (nobody told the bot yet): the capture id."""
    paypal.approve(topup.order_id)
    client: PayPalClient = bot.app[SERVICES].paypal  # type: ignore[assignment]
    order = await client.capture_order(topup.order_id, request_id=request_id_for_capture(topup.order_id))
    return order.captures[0].id


def claiming(template: dict[str, Any], victim: TopUp, *, capture_id: str, amount: str = "10000.00") -> dict[str, Any]:
    """A PAYMENT.CAPTURE.COMPLETED built from a genuine one, claiming `victim`'s order was paid."""
    event = copy.deepcopy(template)
    event["id"] = f"WH-FORGED-{uuid.uuid4().hex[:16].upper()}"
    event["event_type"] = "PAYMENT.CAPTURE.COMPLETED"
    resource = event["resource"]
    resource.update(id=capture_id, status="COMPLETED", custom_id=str(victim.org.id),
                    invoice_id=str(victim.transaction_id))  # fmt: skip
    resource["amount"] = {"currency_code": "USD", "value": amount}
    resource["seller_receivable_breakdown"]["gross_amount"]["value"] = amount
    resource["supplementary_data"] = {"related_ids": {"order_id": victim.order_id}}
    for link in resource["links"]:
        if link["rel"] == "up":
            link["href"] = link["href"].rsplit("/", 1)[0] + "/" + victim.order_id
    return event


async def staff_told(engine: AsyncEngine, *words: str) -> None:
    """A staff alert with all `words` was queued for ADMIN_CHANNEL (in the transaction that decided
    it; the outbox delivers it, paced, behind whatever earlier tests left for the same channel)."""
    async with engine.connect() as conn:
        payloads = (
            await conn.execute(text("SELECT payload FROM bot_outbox WHERE channel = :c"), {"c": STAFF_CHANNEL})
        ).scalars()
        texts = [written(p)["text"] for p in payloads]
        assert any(all(w.lower() in t.lower() for w in words) for t in texts), words


async def metadata_of(engine: AsyncEngine, topup: TopUp) -> dict[str, Any]:
    async with engine.connect() as conn:
        query = text("SELECT metadata FROM payment_transactions WHERE id = :i")
        return (await conn.execute(query, {"i": topup.transaction_id})).scalar_one()


# -- the forged replay --------------------------------------------------------------------------------


async def test_a_forged_replay_verifies_but_is_refused_and_even_when_let_in_moves_no_money(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    """A genuine $25 capture delivery, replayed with a $10,000 capture claim for an unpaid order."""
    paid = await new_topup(hook_bot, engine, slack)
    genuine_event = paypal_emulator.event_capture_completed(await captured(hook_bot, paypal_emulator, paid))
    assert await deliver(paypal_emulator, hook_bot, genuine_event) == [200]
    assert (await settled(engine, genuine_event["id"])).outcome.startswith("credited")
    genuine = paypal_emulator.deliveries[-1]

    unpaid = await new_topup(hook_bot, engine, slack, amount="10000.00")
    assert paypal_emulator.orders[unpaid.order_id]["status"] == "PAYER_ACTION_REQUIRED"
    forged_event = claiming(genuine_event, unpaid, capture_id=unpaid.order_id)
    body, headers = paypal_emulator.forged_replay(genuine, forged_event)

    # The signature scheme cannot tell: same CRC32, and the bot's own verifier accepts the pair.
    assert body != genuine.body and zlib.crc32(body) == zlib.crc32(genuine.body)
    verifier: WebhookVerifier = hook_bot.app[SERVICES].webhook_verifier  # type: ignore[assignment]
    await verifier.verify(headers, body)

    # That transmission id came with another body: refused, nothing stored.
    assert await post(hook_bot, body, headers) == 400
    assert await inbox_row(engine, forged_event["id"]) is None

    # Even once the transmission id is forgotten, PayPal's copy refutes the claim: no money.
    async with engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM bot_paypal_transmissions WHERE transmission_id = :t"), {"t": genuine.transmission_id}
        )
    assert await post(hook_bot, body, headers) == 200
    row = await settled(engine, forged_event["id"])
    assert row.outcome.startswith("mismatch") and "PayPal has no capture" in row.outcome
    assert (await topup_status(engine, unpaid), await balance(engine, unpaid.org)) == ("pending", START)
    assert (await balance(engine, paid.org)) == START + Decimal("25.00")
    assert "PayPal has no capture" in (await metadata_of(engine, unpaid))["anomaly"]
    await staff_told(engine, "anomaly", f"PayPal has no capture '{unpaid.order_id}'", "no money was moved")


@pytest.mark.parametrize("names", ["unknown_capture", "order_as_capture", "someone_elses_capture"])
async def test_headers_of_a_transmission_the_bot_never_saw_move_no_money_for_the_order_claimed(
    names: str, hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    """PayPal signed a delivery the bot never received; its headers carry a forged capture claim."""
    paid = await new_topup(hook_bot, engine, slack)
    capture_id = await captured(hook_bot, paypal_emulator, paid)
    genuine_event = paypal_emulator.event_capture_completed(capture_id)
    genuine_body = paypal_emulator.serialize(genuine_event)
    signed = paypal_emulator.transmissions[paypal_emulator.sign(genuine_body)["PAYPAL-TRANSMISSION-ID"]]

    unpaid = await new_topup(hook_bot, engine, slack, amount="10000.00")
    named = {"unknown_capture": "NOSUCHCAPTURE0001", "order_as_capture": unpaid.order_id,
             "someone_elses_capture": capture_id}[names]  # fmt: skip
    forged_event = claiming(genuine_event, unpaid, capture_id=named)
    body, headers = paypal_emulator.forged_replay(signed, forged_event)
    assert await post(hook_bot, body, headers) == 200  # a transmission id the bot never saw

    row = await settled(engine, forged_event["id"])
    # PayPal's copy of a real capture is applied to its own order (already paid: credited once).
    expected = "credited" if names == "someone_elses_capture" else "mismatch"
    assert row.outcome.startswith(expected), row.outcome
    assert (await topup_status(engine, unpaid), await balance(engine, unpaid.org)) == ("pending", START)
    assert await balance(engine, paid.org) == START + (Decimal("25.00") if names == "someone_elses_capture" else 0)
    assert len(paypal_emulator.calls_to("captures.get")) == 1


async def test_a_transmission_sent_again_byte_for_byte_and_paypals_retries_are_duplicates(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    event = paypal_emulator.event_capture_completed(await captured(hook_bot, paypal_emulator, topup))
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    first = paypal_emulator.deliveries[-1]
    assert await post(hook_bot, first.body, first.headers) == 200  # the same bytes and headers again
    assert await deliver(paypal_emulator, hook_bot, event) == [200]  # PayPal's retry: a new transmission
    row = await settled(engine, event["id"])
    assert row.deliveries == 3 and row.outcome.startswith("credited")
    assert await balance(engine, topup.org) == START + Decimal("25.00")


# -- transmission times -------------------------------------------------------------------------------


def _at(offset: timedelta) -> str:
    return (datetime.now(UTC) + offset).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("sent_at", "status"),
    [
        (timedelta(minutes=-16), 400),
        (timedelta(minutes=16), 400),
        (timedelta(minutes=-14), 200),
        (timedelta(minutes=14), 200),
        ("2024-01-01T00:00:00", 400),  # no zone
        ("yesterday", 400),
        ("", 400),
    ],
    ids=["16_min_old", "16_min_ahead", "14_min_old", "14_min_ahead", "no_zone", "not_a_time", "empty"],
)
async def test_a_transmission_time_outside_the_window_or_unreadable_is_refused(
    sent_at: timedelta | str,
    status: int,
    hook_bot: RunningBot,
    engine: AsyncEngine,
    paypal_emulator: PayPalEmulator,
) -> None:
    event = paypal_emulator.build_event("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-TIME"})
    body = paypal_emulator.serialize(event)
    when = _at(sent_at) if isinstance(sent_at, timedelta) else sent_at
    headers = paypal_emulator.sign(body, transmission_time=when or None)  # really signed with that time
    if not when:
        headers["PAYPAL-TRANSMISSION-TIME"] = ""
    assert await post(hook_bot, body, headers) == status
    assert (await inbox_row(engine, event["id"]) is None) is (status == 400)


async def test_a_transmission_time_with_an_offset_instead_of_z_is_read(
    hook_bot: RunningBot, engine: AsyncEngine, paypal_emulator: PayPalEmulator
) -> None:
    event = paypal_emulator.build_event("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-OFFSET"})
    body = paypal_emulator.serialize(event)
    sent_at = (datetime.now(UTC) - timedelta(minutes=1)).astimezone(timezone(timedelta(hours=-7)))
    headers = paypal_emulator.sign(body, transmission_time=sent_at.isoformat(timespec="milliseconds"))
    assert await post(hook_bot, body, headers) == 200
    assert await inbox_row(engine, event["id"]) is not None


async def test_the_window_is_paypal_webhook_max_age_seconds_also_in_verify_api_mode(
    database_url: str, slack: SlackEmulator, engine: AsyncEngine, paypal_emulator: PayPalEmulator, ca_file: Path
) -> None:
    settings = webhook_settings(
        database_url, slack, paypal_emulator, ca_file,
        paypal_webhook_verification="api", paypal_webhook_max_age_seconds=60,
    )  # fmt: skip
    async for bot in _running(settings, database_url):
        for offset, status in ((timedelta(seconds=-90), 400), (timedelta(seconds=-30), 200)):
            event = paypal_emulator.build_event("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-API"})
            body = paypal_emulator.serialize(event)
            assert await post(bot, body, paypal_emulator.sign(body, transmission_time=_at(offset))) == status
            assert (await inbox_row(engine, event["id"]) is None) is (status == 400)
        assert len(paypal_emulator.calls_to("verify")) == 1  # the stale one never reached PayPal's API


async def test_housekeeping_forgets_transmission_ids_only_well_past_the_window(engine: AsyncEngine) -> None:
    ids = {age: f"tx-{age}-{uuid.uuid4()}" for age in (30, 40)}
    async with engine.begin() as conn:
        for age, tid in ids.items():
            await conn.execute(
                text(
                    "INSERT INTO bot_paypal_transmissions (transmission_id, body_sha256, event_id, transmission_time,"
                    " received_at) VALUES (:t, '\\x00', 'WH-X', now(), now() - make_interval(mins => :m))"
                ),
                {"t": tid, "m": age},
            )
    await housekeeping(engine, datetime.now(UTC), paypal_max_age_seconds=60 * 15)  # keeps 2 × 15 min + 1 h
    await housekeeping(engine, datetime.now(UTC), paypal_max_age_seconds=60 * 3)  # keeps 2 × 3 min + 1 h
    async with engine.connect() as conn:
        left = set((await conn.execute(text("SELECT transmission_id FROM bot_paypal_transmissions"))).scalars())
    assert ids[30] in left and ids[40] in left
    async with engine.begin() as conn:
        older = (
            "UPDATE bot_paypal_transmissions SET received_at = now() - interval '67 minutes' WHERE transmission_id = :t"
        )
        await conn.execute(text(older), {"t": ids[40]})
    await housekeeping(engine, datetime.now(UTC), paypal_max_age_seconds=60 * 3)
    async with engine.connect() as conn:
        left = set((await conn.execute(text("SELECT transmission_id FROM bot_paypal_transmissions"))).scalars())
    assert ids[30] in left and ids[40] not in left


# -- PayPal's copy, not the body ------------------------------------------------------------------------


async def test_a_capture_is_credited_from_paypals_copy_whatever_amount_the_body_says(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    event = paypal_emulator.event_capture_completed(await captured(hook_bot, paypal_emulator, topup))
    event["resource"]["amount"]["value"] = "9999.00"  # signed, but not what PayPal holds
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    assert (await settled(engine, event["id"])).outcome.startswith("credited")
    assert await balance(engine, topup.org) == START + Decimal("25.00")


async def test_a_completed_notice_for_a_capture_paypal_holds_as_pending_is_an_anomaly(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.set_capture_outcome(topup.order_id, "PENDING", "PENDING_REVIEW")
    event = paypal_emulator.event_capture_pending(await captured(hook_bot, paypal_emulator, topup))
    event["event_type"], event["resource"]["status"] = "PAYMENT.CAPTURE.COMPLETED", "COMPLETED"
    event["resource"].pop("status_details")
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    row = await settled(engine, event["id"])
    assert row.outcome.startswith("mismatch") and "PayPal says it is PENDING" in row.outcome
    assert (await topup_status(engine, topup), await balance(engine, topup.org)) == ("pending", START)
    await staff_told(engine, "anomaly", f"capture {event['resource']['id']} completed; PayPal says it is PENDING")


async def test_an_approved_notice_for_an_order_still_awaiting_the_buyer_captures_nothing(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    event = paypal_emulator.event_order_approved(topup.order_id)
    event["resource"]["status"] = "APPROVED"  # the buyer never approved
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    row = await settled(engine, event["id"])
    assert row.status == "processed" and "PayPal says it is PAYER_ACTION_REQUIRED" in row.outcome
    assert paypal_emulator.calls_to("orders.capture") == []
    assert (await topup_status(engine, topup), await balance(engine, topup.org)) == ("pending", START)


async def test_an_approval_reversal_paypal_does_not_show_leaves_the_top_up_alone(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    paypal_emulator.approve(topup.order_id)  # approved, and PayPal did not void it
    event = paypal_emulator.event_approval_reversed(topup.order_id)
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    assert "PayPal says it is APPROVED" in (await settled(engine, event["id"])).outcome
    assert await topup_status(engine, topup) == "pending"


async def test_a_refund_is_debited_from_paypals_copy_whatever_amount_the_body_says(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup, capture_id = await captured_topup(hook_bot, engine, slack, paypal_emulator)
    event = paypal_emulator.event_capture_refunded(paypal_emulator.refund(capture_id, "10.00"))
    event["resource"]["amount"]["value"] = "25.00"
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    assert (await settled(engine, event["id"])).outcome.startswith("refunded")
    assert await balance(engine, topup.org) == START + Decimal("25.00") - Decimal("10.00")


async def test_a_refund_paypal_does_not_have_takes_nothing_back(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup, capture_id = await captured_topup(hook_bot, engine, slack, paypal_emulator)
    real = paypal_emulator.refund(capture_id, "5.00")
    event = paypal_emulator.event_capture_reversed(real)
    event["resource"]["id"] = "NOSUCHREFUND00001"
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    row = await settled(engine, event["id"])
    assert row.outcome.startswith("mismatch") and "PayPal has no refund" in row.outcome
    assert await balance(engine, topup.org) == START + Decimal("25.00")
    assert "NOSUCHREFUND00001" in (await metadata_of(engine, topup))["anomaly"]


async def test_a_refund_row_carries_the_refund_id_so_the_panel_finds_only_the_top_up_by_order_id(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    """The panel finishes a capture by reading the first row whose provider_transaction_id is the
    order id; a refund row there would answer for the top-up."""
    topup, capture_id = await captured_topup(hook_bot, engine, slack, paypal_emulator)
    refund = paypal_emulator.refund(capture_id, "10.00")
    event = paypal_emulator.event_capture_refunded(refund)
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    await settled(engine, event["id"])
    async with engine.connect() as conn:
        by_order = (
            await conn.execute(
                text("SELECT id, status FROM payment_transactions WHERE provider_transaction_id = :o"),
                {"o": topup.order_id},
            )
        ).all()
        refund_row = (
            await conn.execute(
                text("SELECT amount, metadata FROM payment_transactions WHERE provider_transaction_id = :r"),
                {"r": refund["id"]},
            )
        ).one()
    assert [(r.id, r.status) for r in by_order] == [(topup.transaction_id, "completed")]
    assert refund_row.amount == Decimal("-10.00")
    assert refund_row.metadata["order_id"] == topup.order_id
    assert refund_row.metadata["capture_id"] == capture_id
    assert refund_row.metadata["topup_transaction_id"] == str(topup.transaction_id)


# -- PayPal unreachable: the event waits ----------------------------------------------------------------


async def test_while_paypal_cannot_be_asked_the_event_waits_past_the_attempt_limit_then_applies_once(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    """Eight rounds without PayPal (5xx, 429, dropped connections) against an attempt limit of 3."""
    topup = await new_topup(hook_bot, engine, slack)
    event = paypal_emulator.event_capture_completed(await captured(hook_bot, paypal_emulator, topup))
    for status in (503, 500, 429):
        paypal_emulator.fail("captures.get", status=status, times=2)
    paypal_emulator.fail("captures.get", disconnect=True, times=2)
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    row = await settled(engine, event["id"])
    # (aiohttp itself retries a GET once when a kept-alive connection drops, so 7 or 8 rounds)
    assert (row.status, row.attempts) == ("processed", 1) and row.waits >= 7
    assert row.outcome.startswith("credited")
    assert len(paypal_emulator.calls_to("captures.get")) == 9
    assert await balance(engine, topup.org) == START + Decimal("25.00")
    await staff_told(engine, "waiting for PayPal", event["id"])


@pytest.mark.parametrize("ending", ["COMPLETED", "FAILED"])
async def test_a_refund_paypal_holds_as_pending_waits_past_the_attempt_limit_and_follows_paypals_ending(
    hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator, ending: str
) -> None:
    """An eCheck refund stays PENDING for days; its completion webhook may never come. The event waits
    (attempt limit 3 here) and the bot asks PayPal again each round, so the wallet follows PayPal."""
    topup, capture_id = await captured_topup(hook_bot, engine, slack, paypal_emulator)
    refund = paypal_emulator.refund(capture_id, "10.00", pending=True)
    event = paypal_emulator.event_capture_refunded(refund)
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    async with asyncio.timeout(20):
        while (row := await inbox_row(engine, event["id"])).waits < 5:
            await asyncio.sleep(0.05)
    assert row.status in {"pending", "processing"} and row.attempts <= 1 and "still PENDING" in row.last_error
    assert await balance(engine, topup.org) == START + Decimal("25.00")  # nothing went back yet
    await staff_told(engine, "waiting for PayPal", "still PENDING at PayPal")

    paypal_emulator.settle_refund(refund["id"], ending)  # and PayPal sends no webhook about it
    debited = Decimal("10.00") if ending == "COMPLETED" else Decimal(0)
    row = await settled(engine, event["id"], timeout=20)
    assert row.outcome.startswith("refunded" if debited else "mismatch")
    assert await balance(engine, topup.org) == START + Decimal("25.00") - debited


@pytest.fixture
async def no_credentials_bot(
    database_url: str, slack: SlackEmulator, paypal_emulator: PayPalEmulator, ca_file: Path
) -> AsyncIterator[RunningBot]:
    """Webhooks verified (webhook id and certificates configured) but no PayPal REST credentials."""
    slack.add_channel(STAFF_CHANNEL, name="csbot-staff")
    settings = make_settings(
        database_url, slack, paypal_webhook_id=paypal_emulator.webhook_id, paypal_cert_hosts=paypal_emulator.base_url,
        paypal_cert_ca=ca_file, admin_channel=STAFF_CHANNEL,
    )  # fmt: skip
    async for bot in _running(settings, database_url):
        yield bot


async def test_without_paypal_credentials_a_capture_event_waits_and_moves_nothing(
    no_credentials_bot: RunningBot, engine: AsyncEngine, paypal_emulator: PayPalEmulator
) -> None:
    org = await make_org(engine, await make_user(engine), balance=START)
    async with aiohttp.ClientSession() as session:
        client = PayPalClient(session, paypal_emulator.base_url, PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET)
        txn, order_id = await approved_order(engine, paypal_emulator, client, org.id, Decimal("25.00"))
        order = await client.capture_order(order_id, request_id=request_id_for_capture(order_id))
    event = paypal_emulator.event_capture_completed(order.captures[0].id)
    assert await deliver(paypal_emulator, no_credentials_bot, event) == [200]
    async with asyncio.timeout(10):
        while (row := await inbox_row(engine, event["id"])).waits < 3:
            await asyncio.sleep(0.05)
    assert row.status in {"pending", "processing"} and row.attempts <= 1
    assert "credentials are not configured" in row.last_error
    assert await balance(engine, org) == START
    async with engine.connect() as conn:
        status = (
            await conn.execute(text("SELECT status FROM payment_transactions WHERE id = :i"), {"i": txn})
        ).scalar_one()
    assert status == "pending"


# -- what the fuzzer found --------------------------------------------------------------------------------


@pytest.mark.parametrize("event_id", ["\x00", "WH-\ud800", "WH-1\tx"], ids=["nul", "lone_surrogate", "tab"])
async def test_an_event_id_postgresql_cannot_hold_is_refused_not_a_503(
    event_id: str, hook_bot: RunningBot, engine: AsyncEngine, paypal_emulator: PayPalEmulator
) -> None:
    """A 503 would make PayPal retry a delivery that can never be stored."""
    event = paypal_emulator.build_event("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-NUL"}, event_id=event_id)
    body = json.dumps(event).encode()  # \\u0000 and \\ud800 escapes, as JSON allows
    assert await post(hook_bot, body, paypal_emulator.sign(body)) == 400


@pytest.mark.parametrize("named", ["1" * 300, "à" * 20, "CAP TURE", ""], ids=["long", "not_ascii", "space", "empty"])
async def test_a_money_event_naming_something_that_is_no_paypal_id_is_malformed_at_once(
    named: str, hook_bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> None:
    topup = await new_topup(hook_bot, engine, slack)
    event = paypal_emulator.event_capture_completed(await captured(hook_bot, paypal_emulator, topup))
    event["resource"]["id"] = named
    assert await deliver(paypal_emulator, hook_bot, event) == [200]
    row = await settled(engine, event["id"])
    assert (row.status, row.attempts) == ("dead", 1) and "MalformedResource" in row.last_error
    assert paypal_emulator.calls_to("captures.get") == []
    assert await balance(engine, topup.org) == START
