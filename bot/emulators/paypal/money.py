"""Amounts as PayPal handles them: decimal strings, per-currency precision, the ``money`` object.

Amounts are ``Decimal`` internally and strings on the wire ("10.00"); a client that sends floats or
three decimals gets the same 400/422 issues PayPal returns, so those bugs surface in tests.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.emulators.paypal.errors import bad_request, unprocessable

# Supported currencies and how many decimals each allows (PayPal's currency-codes page).
CURRENCY_DECIMALS: dict[str, int] = {
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 0,
    "JPY": 0,
    "MXN": 2,
    "NOK": 2,
    "NZD": 2,
    "PLN": 2,
    "SEK": 2,
    "SGD": 2,
    "TWD": 0,
    "USD": 2,
}
MAX_VALUE = Decimal("999999999999999.99")
# The emulator's fee schedule: 3.49 % plus a fixed part per currency (US standard checkout rate).
FEE_RATE = Decimal("0.0349")
FIXED_FEES: dict[str, Decimal] = {"USD": Decimal("0.49"), "EUR": Decimal("0.39"), "GBP": Decimal("0.30")}
_VALUE = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")  # the ``money.value`` pattern
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-CURRENCY_DECIMALS.get(currency, 2))


def fmt(amount: Decimal, currency: str) -> str:
    """The wire form, always with the currency's decimals: ``Decimal("10.5")`` -> ``"10.50"``."""
    return str(amount.quantize(quantum(currency), rounding=ROUND_HALF_UP))


def money(currency: str, amount: Decimal) -> dict[str, str]:
    return {"currency_code": currency, "value": fmt(amount, currency)}


def paypal_fee(gross: Decimal, currency: str) -> Decimal:
    fixed = FIXED_FEES.get(currency, Decimal("0.49") if CURRENCY_DECIMALS.get(currency, 2) else Decimal(40))
    fee = (gross * FEE_RATE + fixed).quantize(quantum(currency), rounding=ROUND_HALF_UP)
    return min(fee, gross)


def summary_amount(amount: Decimal, currency: str) -> str:
    """Amounts in event summaries look like ``$ 57.0 USD`` (trailing zeros dropped, one kept)."""
    text = format(amount.normalize(), "f")
    if "." not in text:
        text += ".0"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get(currency, currency)
    return f"{symbol} {text} {currency}"


def parse_money(obj: Any, pointer: str) -> tuple[str, Decimal]:
    """Validate a ``money`` object at JSON pointer ``pointer``; raise PayPal's 400/422 issues."""
    if not isinstance(obj, dict):
        raise bad_request("MISSING_REQUIRED_PARAMETER" if obj is None else "INVALID_PARAMETER_SYNTAX", field=pointer)
    currency = obj.get("currency_code")
    if currency is None:
        raise bad_request("MISSING_REQUIRED_PARAMETER", field=f"{pointer}/currency_code")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise bad_request("INVALID_PARAMETER_SYNTAX", field=f"{pointer}/currency_code", value=str(currency))
    if currency not in CURRENCY_DECIMALS:
        raise unprocessable("INVALID_CURRENCY_CODE", field=f"{pointer}/currency_code", value=currency)
    value = obj.get("value")
    if value is None:
        raise bad_request("MISSING_REQUIRED_PARAMETER", field=f"{pointer}/value")
    if not isinstance(value, str) or len(value) > 32 or not _VALUE.match(value):
        raise bad_request("INVALID_PARAMETER_SYNTAX", field=f"{pointer}/value", value=str(value))
    amount = Decimal(value)
    if amount <= 0:
        raise unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE", field=f"{pointer}/value", value=value)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > CURRENCY_DECIMALS[currency]:
        raise unprocessable("DECIMAL_PRECISION", field=f"{pointer}/value", value=value)
    if amount > MAX_VALUE:
        raise unprocessable("MAX_VALUE_EXCEEDED", field=f"{pointer}/value", value=value)
    return currency, amount
