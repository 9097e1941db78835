"""Money as people read it; amounts are Decimal all the way (never float).

Neutral ground: services word their refusals with it and renderers their messages, and neither
may import the other's layer (rendering depends on services for their types).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
CENT = Decimal("0.01")
RATE_STEP = Decimal("0.0001")


def format_money(amount: Decimal, currency: str = "USD", *, step: Decimal = CENT) -> str:
    """`$1,234.50`, `-$3.00`, `12.00 CHF`: two decimals (or `step`'s), sign before the symbol."""
    quantized = amount.quantize(step, rounding=ROUND_HALF_UP)
    sign = "-" if quantized < 0 else ""
    places = -int(step.as_tuple().exponent)
    digits = f"{abs(quantized):,.{places}f}"
    symbol = SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency.upper()}"


def format_rate(hourly: Decimal, currency: str = "USD") -> str:
    """An hourly price to four decimals (`$0.0274`): most servers cost a fraction of a cent an hour."""
    return format_money(hourly, currency, step=RATE_STEP)
