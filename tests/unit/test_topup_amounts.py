"""Top-up amounts as people type them: `25`, `25.50`, or with the wallet's currency symbol first."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.services.wallet import InvalidAmount, parse_amount

MAXIMUM = Decimal("10000")


@pytest.mark.parametrize(
    ("typed", "currency", "amount"),
    [
        ("$10", "USD", "10.00"),
        ("$ 25.50", "USD", "25.50"),
        ("€7", "EUR", "7.00"),
        ("£1.5", "GBP", "1.50"),
        ("9", "USD", "9.00"),
    ],
)
def test_the_wallets_own_symbol_may_lead_the_amount(typed: str, currency: str, amount: str) -> None:
    assert parse_amount(typed, currency=currency, maximum=MAXIMUM) == Decimal(amount)


def test_another_currencys_symbol_is_refused_naming_the_wallets() -> None:
    with pytest.raises(InvalidAmount, match=r"This wallet is in EUR: give the amount in it, for example €25.00"):
        parse_amount("$10", currency="EUR", maximum=MAXIMUM)
