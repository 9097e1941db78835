"""Exactly-once money: captures and refunds applied through the real ledger on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.paypal.models import Capture, Order, Refund
from bot.services.topups import (
    Outcome,
    apply_capture,
    apply_captured_order,
    apply_refund,
    attach_order,
    create_pending_topup,
)
from tests.factories import OrgRecord, make_org, make_user, set_balance


async def new_topup(engine: AsyncEngine, amount: str = "25.00") -> tuple[OrgRecord, uuid.UUID, str]:
    owner = await make_user(engine)
    org = await make_org(engine, owner, balance=Decimal("10.00"))
    order_id = uuid.uuid4().hex[:17].upper()
    async with engine.begin() as conn:
        txn = await create_pending_topup(
            conn, organization_id=org.id, amount=Decimal(amount), currency="USD", description="Wallet top-up",
            slack_metadata={"slack_user_id": "U0PAYER"},
        )  # fmt: skip
        await attach_order(conn, txn, order_id)
    return org, txn, order_id


def capture_for(org: OrgRecord, order_id: str, *, capture_id: str | None = None, status: str = "COMPLETED",
                amount: str = "25.00", currency: str = "USD", custom_id: str | None = None) -> Capture:  # fmt: skip
    return Capture(
        id=capture_id or "CAP" + uuid.uuid4().hex[:14].upper(), status=status, amount=Decimal(amount),
        currency=currency, custom_id=custom_id or str(org.id), invoice_id=None, order_id=order_id,
        reason="PENDING_REVIEW" if status == "PENDING" else None, update_time="2026-11-24T12:00:00Z",
    )  # fmt: skip


async def apply(engine: AsyncEngine, capture: Capture) -> Outcome:
    async with engine.begin() as conn:
        return (await apply_capture(conn, capture, source="test")).outcome


async def balance(engine: AsyncEngine, org: OrgRecord) -> Decimal:
    async with engine.connect() as conn:
        return (
            await conn.execute(text("SELECT balance FROM wallets WHERE organization_id = :o"), {"o": org.id})
        ).scalar_one()


async def row_status(engine: AsyncEngine, txn: uuid.UUID) -> tuple[str, dict]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT status, metadata FROM payment_transactions WHERE id = :i"), {"i": txn})
        ).one()
    return row.status, row.metadata


async def test_completed_capture_credits_once_with_panel_metadata(engine: AsyncEngine) -> None:
    org, txn, order_id = await new_topup(engine)
    capture = capture_for(org, order_id)
    assert await apply(engine, capture) is Outcome.CREDITED
    assert await apply(engine, capture) is Outcome.ALREADY_APPLIED
    assert await balance(engine, org) == Decimal("35.00")
    status, meta = await row_status(engine, txn)
    assert status == "completed"
    assert meta["balance_before"] == "10.00" and meta["balance_after"] == "35.00"
    assert meta["capture_id"] == capture.id and meta["payment_id"] == order_id
    assert meta["capture_status"] == "COMPLETED" and meta["capture_amount"] == "25.00"


async def test_the_same_capture_applied_concurrently_credits_once(engine: AsyncEngine) -> None:
    org, _, order_id = await new_topup(engine)
    capture = capture_for(org, order_id)
    outcomes = await asyncio.gather(*(apply(engine, capture) for _ in range(5)))
    assert sorted(o.value for o in outcomes) == ["already_applied"] * 4 + ["credited"]
    assert await balance(engine, org) == Decimal("35.00")


async def test_an_order_the_panel_already_completed_is_not_credited_again(engine: AsyncEngine) -> None:
    org, txn, order_id = await new_topup(engine)
    async with engine.begin() as conn:  # the panel's capture endpoint finished it first
        await conn.execute(text("UPDATE payment_transactions SET status = 'completed' WHERE id = :i"), {"i": txn})
        await conn.execute(text("UPDATE wallets SET balance = balance + 25 WHERE organization_id = :o"), {"o": org.id})
    assert await apply(engine, capture_for(org, order_id)) is Outcome.ALREADY_APPLIED
    assert await balance(engine, org) == Decimal("35.00")


async def test_mismatched_amount_currency_or_organisation_moves_no_money(engine: AsyncEngine) -> None:
    org, txn, order_id = await new_topup(engine)
    for capture in (
        capture_for(org, order_id, amount="250.00"),
        capture_for(org, order_id, currency="EUR"),
        capture_for(org, order_id, custom_id=str(uuid.uuid4())),
    ):
        assert await apply(engine, capture) is Outcome.MISMATCH
    assert await balance(engine, org) == Decimal("10.00")
    status, meta = await row_status(engine, txn)
    assert status == "pending" and "anomaly" in meta


async def test_pending_then_completed_credits_when_completed(engine: AsyncEngine) -> None:
    org, txn, order_id = await new_topup(engine)
    pending = capture_for(org, order_id, status="PENDING")
    assert await apply(engine, pending) is Outcome.PENDING
    assert (await row_status(engine, txn))[0] == "pending"
    assert await apply(engine, capture_for(org, order_id, capture_id=pending.id)) is Outcome.CREDITED
    assert await balance(engine, org) == Decimal("35.00")


async def test_declined_capture_marks_the_top_up_failed(engine: AsyncEngine) -> None:
    org, txn, order_id = await new_topup(engine)
    assert await apply(engine, capture_for(org, order_id, status="DECLINED")) is Outcome.FAILED
    status, meta = await row_status(engine, txn)
    assert status == "failed" and meta["capture_status"] == "DECLINED" and "failure_time" in meta


@pytest.mark.parametrize("status", ["PARTIALLY_REFUNDED", "REFUNDED"])
async def test_a_capture_already_refunded_at_paypal_is_still_credited_in_full_once(
    status: str, engine: AsyncEngine
) -> None:
    """The money was captured; what was refunded comes back out through the refunds' own rows."""
    org, txn, order_id = await new_topup(engine)
    capture = capture_for(org, order_id, status=status)
    assert await apply(engine, capture) is Outcome.CREDITED
    assert await apply(engine, capture) is Outcome.ALREADY_APPLIED
    assert await apply(engine, capture_for(org, order_id, capture_id=capture.id)) is Outcome.ALREADY_APPLIED
    assert await balance(engine, org) == Decimal("35.00")
    status_now, meta = await row_status(engine, txn)
    assert (status_now, meta["capture_status"], meta["capture_amount"]) == ("completed", status, "25.00")


def order_of(capture: Capture, *refunds: tuple[str, str, str]) -> Order:
    """The order PayPal shows for `capture`, with refunds given as (id, amount, status)."""
    return Order(
        id=str(capture.order_id), status="COMPLETED", amount=capture.amount, currency=capture.currency,
        custom_id=capture.custom_id, invoice_id=None, buyer_url=None, captures=(capture,),
        refunds=tuple(Refund(i, capture.id, Decimal(a), "USD", s, None, None) for i, a, s in refunds),
    )  # fmt: skip


async def apply_order(engine: AsyncEngine, order: Order) -> list[tuple[Outcome, str | None]]:
    async with engine.begin() as conn:
        return [(r.outcome, r.reference) for r in await apply_captured_order(conn, order, source="test")]


async def test_an_orders_completed_refunds_follow_its_capture_once_and_pending_ones_wait(engine: AsyncEngine) -> None:
    org, _, order_id = await new_topup(engine)
    capture = capture_for(org, order_id, status="PARTIALLY_REFUNDED")
    order = order_of(capture, ("REF-OK", "10.00", "COMPLETED"), ("REF-WAIT", "5.00", "PENDING"),
                     ("REF-FAILED", "3.00", "FAILED"))  # fmt: skip
    assert await apply_order(engine, order) == [(Outcome.CREDITED, capture.id), (Outcome.REFUNDED, "REF-OK")]
    assert await apply_order(engine, order) == [
        (Outcome.ALREADY_APPLIED, capture.id),
        (Outcome.ALREADY_APPLIED, "REF-OK"),
    ]
    assert await balance(engine, org) == Decimal("25.00")


async def test_an_orders_refunds_wait_while_its_capture_is_not_credited(engine: AsyncEngine) -> None:
    org, txn, order_id = await new_topup(engine)
    for capture in (capture_for(org, order_id, amount="250.00"), capture_for(org, order_id, status="PENDING")):
        order = order_of(capture, ("REF-" + capture.id, "10.00", "COMPLETED"))
        assert [outcome for outcome, _ in await apply_order(engine, order)] in (
            [Outcome.MISMATCH],
            [Outcome.PENDING],
        )
    assert await balance(engine, org) == Decimal("10.00")
    assert (await row_status(engine, txn))[0] == "pending"


async def test_unknown_order_is_reported_not_credited(engine: AsyncEngine) -> None:
    org, _, _ = await new_topup(engine)
    assert await apply(engine, capture_for(org, "NOSUCHORDER000001")) is Outcome.UNKNOWN_ORDER


async def test_partial_and_full_refunds_debit_once_each_and_may_go_negative(engine: AsyncEngine) -> None:
    org, txn, order_id = await new_topup(engine)
    capture = capture_for(org, order_id)
    await apply(engine, capture)
    async with engine.begin() as conn:  # the customer spends most of it
        await set_balance(conn, org.id, Decimal("5"))

    async def refund(refund_id: str, amount: str, *, reversal: bool = False) -> Outcome:
        resource = Refund(refund_id, capture.id, Decimal(amount), "USD", "COMPLETED", str(org.id), None)
        async with engine.begin() as conn:
            return (await apply_refund(conn, resource, reversal=reversal, source="test")).outcome

    assert await refund("REF-1", "10.00") is Outcome.REFUNDED
    assert await refund("REF-1", "10.00") is Outcome.ALREADY_APPLIED
    assert await refund("REF-2", "15.00", reversal=True) is Outcome.REFUNDED
    assert await refund("REF-3", "30.00") is Outcome.MISMATCH  # more than was captured
    assert await refund("REF-4", "0.01") is Outcome.MISMATCH  # 25.00 of 25.00 already taken back
    assert await refund("REF-2", "15.00", reversal=True) is Outcome.ALREADY_APPLIED  # a replay is still a replay
    assert await balance(engine, org) == Decimal("-20.00")
    assert "would take back 25.01 in all" in (await row_status(engine, txn))[1]["anomaly"]
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT amount, status, metadata->>'kind' AS kind FROM payment_transactions "
                     "WHERE organization_id = :o AND amount < 0 ORDER BY amount"),
                {"o": org.id},
            )
        ).all()  # fmt: skip
    assert [(r.amount, r.status, r.kind) for r in rows] == [
        (Decimal("-15.00"), "completed", "reversal"),
        (Decimal("-10.00"), "completed", "refund"),
    ]
    assert (await row_status(engine, txn))[0] == "completed"  # history of the top-up is kept
