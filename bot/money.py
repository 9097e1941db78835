"""Money as people read it; amounts are Decimal all the way (never float).

Neutral ground: services word their refusals with it and renderers their messages, and neither
may import the other's layer (rendering depends on services for their types).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
CENT = Decimal("0.01")


def format_money(amount: Decimal, currency: str = "USD") -> str:
    """`$1,234.50`, `-$3.00`, `12.00 CHF`: two decimals, sign before the symbol."""
    quantized = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if quantized < 0 else ""
    digits = f"{abs(quantized):,.2f}"
    symbol = SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency.upper()}"
