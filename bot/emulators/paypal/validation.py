"""Request validation for create-order and refund, with PayPal's issue names and JSON pointers.

Validation is strict where a client bug would be silent against a lenient fake (float amounts,
over-long ``custom_id``, missing ``intent``); each failure names the field as PayPal does, e.g.
``/purchase_units/@reference_id=='default'/amount/value``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.emulators.paypal.errors import Issue, PayPalError, bad_request
from bot.emulators.paypal.money import parse_money

_TEXT_LIMITS = {"custom_id": 127, "invoice_id": 127, "description": 127, "soft_descriptor": 22, "reference_id": 256}


@dataclass(frozen=True)
class OrderRequest:
    """What the emulator keeps from a valid create-order body (one purchase unit)."""

    currency: str
    value: Decimal
    reference_id: str
    custom_id: str | None
    invoice_id: str | None
    description: str | None
    soft_descriptor: str | None
    return_url: str | None
    cancel_url: str | None
    experience_context: bool
    brand_name: str | None


@dataclass(frozen=True)
class RefundRequest:
    amount: tuple[str, Decimal] | None
    custom_id: str | None
    invoice_id: str | None
    note_to_payer: str | None


def parse_json_object(raw: bytes, *, empty_ok: bool) -> dict[str, Any]:
    """The body as a JSON object; PayPal answers anything else with ``MALFORMED_REQUEST_JSON``."""
    if not raw.strip() and empty_ok:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise bad_request("MALFORMED_REQUEST_JSON", field="/") from None
    if not isinstance(body, dict):
        raise bad_request("MALFORMED_REQUEST_JSON", field="/")
    return body


def _text(obj: dict[str, Any], key: str, pointer: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request("INVALID_PARAMETER_SYNTAX", field=f"{pointer}/{key}", value=str(value))
    if not 1 <= len(value) <= _TEXT_LIMITS.get(key, 255):
        raise bad_request("INVALID_STRING_LENGTH", field=f"{pointer}/{key}", value=value)
    return value


def _urls(body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Return/cancel URLs from ``payment_source.paypal.experience_context`` or ``application_context``."""
    source = body.get("payment_source")
    if source is not None:
        if not isinstance(source, dict):
            raise bad_request("INVALID_PARAMETER_SYNTAX", field="/payment_source")
        paypal = source.get("paypal")
        if not isinstance(paypal, dict) or set(source) != {"paypal"}:
            raise bad_request("NOT_SUPPORTED", field="/payment_source", value=",".join(sorted(source)))
        context = paypal.get("experience_context", {})
        if not isinstance(context, dict):
            raise bad_request("INVALID_PARAMETER_SYNTAX", field="/payment_source/paypal/experience_context")
        return context, True
    context = body.get("application_context", {})
    if not isinstance(context, dict):
        raise bad_request("INVALID_PARAMETER_SYNTAX", field="/application_context")
    return context, False


def validate_order(body: dict[str, Any]) -> OrderRequest:
    intent = body.get("intent")
    if intent is None:
        raise bad_request("MISSING_REQUIRED_PARAMETER", field="/intent")
    if intent != "CAPTURE":
        # AUTHORIZE is valid at PayPal but this emulator models the capture flow only.
        raise bad_request("INVALID_PARAMETER_VALUE", field="/intent", value=str(intent))
    units = body.get("purchase_units")
    if units is None:
        raise bad_request("MISSING_REQUIRED_PARAMETER", field="/purchase_units")
    if not isinstance(units, list) or not units:
        raise bad_request("INVALID_ARRAY_MIN_ITEMS", field="/purchase_units")
    if len(units) > 1:
        raise bad_request("NOT_SUPPORTED", field="/purchase_units", value=f"{len(units)} purchase units")
    unit = units[0]
    if not isinstance(unit, dict):
        raise bad_request("INVALID_PARAMETER_SYNTAX", field="/purchase_units/0")
    reference_id = _text(unit, "reference_id", "/purchase_units/0") or "default"
    pointer = f"/purchase_units/@reference_id=='{reference_id}'"
    currency, value = parse_money(unit.get("amount"), f"{pointer}/amount")
    context, experience = _urls(body)
    context_pointer = "/payment_source/paypal/experience_context" if experience else "/application_context"
    return OrderRequest(
        currency=currency,
        value=value,
        reference_id=reference_id,
        custom_id=_text(unit, "custom_id", pointer),
        invoice_id=_text(unit, "invoice_id", pointer),
        description=_text(unit, "description", pointer),
        soft_descriptor=_text(unit, "soft_descriptor", pointer),
        return_url=_text(context, "return_url", context_pointer),
        cancel_url=_text(context, "cancel_url", context_pointer),
        experience_context=experience,
        brand_name=_text(context, "brand_name", context_pointer),
    )


def validate_refund(body: dict[str, Any]) -> RefundRequest:
    """An empty body refunds what is left; ``amount`` makes it partial."""
    amount = body.get("amount")
    parsed = parse_money(amount, "/amount") if amount is not None else None
    note = body.get("note_to_payer")
    if note is not None and (not isinstance(note, str) or not 1 <= len(note) <= 255):
        raise PayPalError(400, Issue("INVALID_STRING_LENGTH", field="/note_to_payer"), api="payments/v2")
    return RefundRequest(
        amount=parsed,
        custom_id=_text(body, "custom_id", ""),
        invoice_id=_text(body, "invoice_id", ""),
        note_to_payer=note,
    )
