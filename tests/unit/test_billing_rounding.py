"""Month-capped cumulative rounding of hourly charges (the pure mirror of the billing SQL), and batching."""

from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.services.billing import cumulative_charge, hour_charge, plan_batches

MONTHLY = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("9999.99"), places=2)


def month_total(monthly: Decimal, hours: int) -> Decimal:
    return sum((hour_charge(monthly, i) for i in range(1, hours + 1)), Decimal("0.00"))


@given(MONTHLY)
def test_a_31_day_month_never_charges_more_than_the_monthly_price(monthly: Decimal) -> None:
    assert month_total(monthly, 744) == monthly


@given(MONTHLY)
def test_a_30_day_month_totals_720_730ths_of_the_monthly_price_within_a_cent(monthly: Decimal) -> None:
    assert abs(month_total(monthly, 720) - monthly * 720 / 730) <= Decimal("0.005")


@given(MONTHLY, st.integers(min_value=1, max_value=744))
def test_hour_charges_are_whole_cents_and_never_negative(monthly: Decimal, hour: int) -> None:
    charge = hour_charge(monthly, hour)
    assert charge >= 0 and charge == charge.quantize(Decimal("0.01"))


def test_the_panel_default_rate_alternates_two_and_three_cents() -> None:
    assert [hour_charge(Decimal("19.71"), i) for i in range(1, 6)] == [
        Decimal(x) for x in ("0.03", "0.02", "0.03", "0.03", "0.03")
    ]
    assert cumulative_charge(Decimal("19.71"), 730) == Decimal("19.71")


def test_batches_keep_organisations_whole_in_id_order_and_share_work_evenly_between_workers() -> None:
    due = [(uuid.UUID(int=n), 50) for n in range(2000)]
    batches = plan_batches(due, batch_hours=20_000, parallel=2)
    assert len(batches) == 6
    assert [org for batch in batches for org in batch] == [org for org, _ in due]
    assert {len(batch) for batch in batches} <= {333, 334}
    assert plan_batches([(uuid.UUID(int=1), 90_000)], batch_hours=20_000, parallel=2) == [[uuid.UUID(int=1)]]
    assert plan_batches([], batch_hours=20_000, parallel=2) == []
