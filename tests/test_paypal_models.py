"""Parsing PayPal's resources: amounts only as decimal strings, and an order's refunds as strictly
as its captures (a wrong shape is MalformedResource, which the inbox treats as dead at once)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from bot.paypal.models import Capture, MalformedResource, Order, Refund, money

CAPTURE_URL = "https://api-m.paypal.com/v2/payments/captures/CAP1"
REFUND = {
    "id": "REF1",
    "status": "COMPLETED",
    "amount": {"currency_code": "USD", "value": "10.00"},
    "links": [{"href": CAPTURE_URL, "rel": "up", "method": "GET"}],
}
CAPTURE = {"id": "CAP1", "status": "PARTIALLY_REFUNDED", "amount": {"currency_code": "USD", "value": "25.00"}}
ORDER = {
    "id": "ORDER1",
    "status": "COMPLETED",
    "purchase_units": [
        {"amount": {"currency_code": "USD", "value": "25.00"}, "payments": {"captures": [CAPTURE], "refunds": [REFUND]}}
    ],
}


def order_with(**payments: Any) -> dict[str, Any]:
    order = copy.deepcopy(ORDER)
    order["purchase_units"][0]["payments"].update(payments)
    return order


@pytest.mark.parametrize(
    ("currency", "text", "number", "parsed"),
    [
        ("USD", "10.00", 10.0, Decimal("10.00")),
        ("USD", "10.10", 10.1, Decimal("10.10")),
        ("JPY", "1500", 1500, Decimal("1500")),
        ("USD", ".5", 0.5, Decimal("0.5")),
        ("USD", "-3.10", -3.1, Decimal("-3.10")),
    ],
)
def test_money_takes_the_decimal_string_and_refuses_the_same_amount_as_a_json_number(
    currency: str, text: str, number: float, parsed: Decimal
) -> None:
    assert money({"currency_code": currency, "value": text}) == (parsed, currency)
    with pytest.raises(MalformedResource):
        money({"currency_code": currency, "value": number})


@pytest.mark.parametrize(
    "wire",
    [
        {"currency_code": "USD", "value": "1e3"},
        {"currency_code": "USD", "value": " 10.00"},
        {"currency_code": "USD", "value": "1_000.00"},
        {"currency_code": "USD", "value": "١٠.٠٠"},  # Arabic-Indic digits: Decimal() takes them
        {"currency_code": "USD", "value": "+10.00"},
        {"currency_code": 840, "value": "10.00"},
        {"currency_code": None, "value": "10.00"},
        {"currency_code": "DOLLARS", "value": "10.00"},
    ],
    ids=["exponent", "space", "underscore", "non_ascii_digits", "plus", "currency_number", "currency_null",
         "currency_long"],
)  # fmt: skip
def test_money_refuses_what_is_not_paypals_decimal_string_or_currency_code(wire: Any) -> None:
    with pytest.raises(MalformedResource):
        money(wire)


@pytest.mark.parametrize("number", [25.0, 25, 10.1])
def test_capture_order_and_refund_amounts_as_json_numbers_are_malformed(number: float) -> None:
    with pytest.raises(MalformedResource):
        Capture.parse({**CAPTURE, "amount": {"currency_code": "USD", "value": number}})
    with pytest.raises(MalformedResource):
        Refund.parse({**REFUND, "amount": {"currency_code": "USD", "value": number}})
    order = copy.deepcopy(ORDER)
    order["purchase_units"][0]["amount"]["value"] = number
    with pytest.raises(MalformedResource):
        Order.parse(order)
    with pytest.raises(MalformedResource):
        Order.parse(order_with(refunds=[{**REFUND, "amount": {"currency_code": "USD", "value": number}}]))


def test_an_order_carries_its_captures_and_refunds() -> None:
    order = Order.parse(ORDER)
    assert [(c.id, c.status, c.amount, c.order_id) for c in order.captures] == [
        ("CAP1", "PARTIALLY_REFUNDED", Decimal("25.00"), "ORDER1")
    ]
    assert order.refunds == (Refund("REF1", "CAP1", Decimal("10.00"), "USD", "COMPLETED", None, None),)
    assert Order.parse(order_with(refunds=None)).refunds == ()
    assert Order.parse({"id": "ORDER2", "status": "APPROVED"}).refunds == ()


@pytest.mark.parametrize(
    "refunds",
    [{"id": "REF1"}, "REF1", [REFUND, "REF2"], [REFUND, None], [{**REFUND, "links": []}], [{**REFUND, "id": 7}]],
    ids=["object", "string", "item_string", "item_null", "no_capture_link", "id_number"],
)
def test_an_order_whose_refunds_are_the_wrong_shape_is_malformed(refunds: Any) -> None:
    with pytest.raises(MalformedResource):
        Order.parse(order_with(refunds=refunds))


@pytest.mark.parametrize("captures", [{}, "", False], ids=["empty_object", "empty_string", "false"])
def test_an_order_whose_captures_are_an_empty_value_of_the_wrong_type_is_malformed(captures: Any) -> None:
    """An empty object is not "no captures": the order is not the shape PayPal sends."""
    with pytest.raises(MalformedResource):
        Order.parse(order_with(captures=captures))
