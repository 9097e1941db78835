"""The parts of PayPal's Orders v2 / Payments v2 resources the bot relies on, parsed strictly.

Amounts stay strings on the wire and become `Decimal` here; nothing is ever a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class MalformedResource(ValueError):
    """A PayPal resource lacks a field we need or has one in the wrong shape."""


#: PayPal's `money.value`: a decimal string of at most 32 characters (never a JSON number).
_VALUE = re.compile(r"-?[0-9]+|-?[0-9]*[.][0-9]+")
#: Order, capture and refund ids: short upper-case alphanumerics at PayPal (17 characters today);
#: anything else is not one of PayPal's ids and is never put in a URL path or looked up.
_RESOURCE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def is_resource_id(value: object) -> bool:
    return isinstance(value, str) and _RESOURCE_ID.fullmatch(value) is not None


def money(value: Any) -> tuple[Decimal, str]:
    """`{"currency_code": "USD", "value": "10.00"}` → (Decimal("10.00"), "USD").

    Strings only, as PayPal sends them: a JSON number has already been through a float in some
    encoder, so it is refused as malformed rather than trusted to the cent.
    """
    if not isinstance(value, dict):
        raise MalformedResource("amount is not an object")
    text, currency = value.get("value"), value.get("currency_code")
    if not isinstance(text, str) or len(text) > 32 or not _VALUE.fullmatch(text):
        raise MalformedResource(f"amount value is not a decimal string: {value!r}")
    if not isinstance(currency, str) or len(currency) != 3:
        raise MalformedResource(f"currency_code is not a three-letter string: {value!r}")
    amount = Decimal(text)
    if amount.adjusted() > 15:
        raise MalformedResource(f"bad amount {value!r}")  # more than PayPal's 999999999999999.99
    return amount, currency.upper()


def _text(value: Any, what: str) -> str | None:
    """An optional string field; anything else where PayPal sends a string is malformed."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedResource(f"{what} is not a string")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    """An optional object field, as {} when absent."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedResource(f"{what} is not an object")
    return value


def _objects(value: Any, what: str) -> list[dict[str, Any]]:
    """An optional list of objects, as [] when absent."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise MalformedResource(f"{what} is not a list of objects")
    return value


@dataclass(frozen=True)
class Capture:
    id: str
    status: str  # COMPLETED, PENDING, DECLINED, PARTIALLY_REFUNDED, REFUNDED, FAILED
    amount: Decimal
    currency: str
    custom_id: str | None
    invoice_id: str | None
    order_id: str | None
    reason: str | None
    update_time: str | None

    @classmethod
    def parse(cls, resource: dict[str, Any], *, order_id: str | None = None) -> Capture:
        amount, currency = money(resource.get("amount"))
        supplementary = _object(resource.get("supplementary_data"), "supplementary_data")
        related = _text(_object(supplementary.get("related_ids"), "related_ids").get("order_id"), "order id")
        up = _link(resource, "up")
        if related is None and up and "/v2/checkout/orders/" in up:
            related = up.rstrip("/").rsplit("/", 1)[-1]
        if not _text(resource.get("id"), "capture id") or not _text(resource.get("status"), "capture status"):
            raise MalformedResource("capture without id or status")
        return cls(
            id=str(resource["id"]),
            status=str(resource["status"]),
            amount=amount,
            currency=currency,
            custom_id=_text(resource.get("custom_id"), "custom_id"),
            invoice_id=_text(resource.get("invoice_id"), "invoice_id"),
            order_id=order_id or related,
            reason=_text(_object(resource.get("status_details"), "status_details").get("reason"), "reason"),
            update_time=_text(resource.get("update_time"), "update_time"),
        )


@dataclass(frozen=True)
class Order:
    id: str
    status: str  # CREATED, SAVED, APPROVED, VOIDED, COMPLETED, PAYER_ACTION_REQUIRED
    amount: Decimal | None
    currency: str | None
    custom_id: str | None
    invoice_id: str | None
    buyer_url: str | None  # the `approve` or `payer-action` link
    captures: tuple[Capture, ...]
    refunds: tuple[Refund, ...]  # `payments.refunds`: an order read later shows what was refunded since

    @classmethod
    def parse(cls, resource: dict[str, Any]) -> Order:
        if not _text(resource.get("id"), "order id") or not _text(resource.get("status"), "order status"):
            raise MalformedResource("order without id or status")
        units = resource.get("purchase_units") or [{}]
        if not isinstance(units, list):
            raise MalformedResource("purchase_units is not a list")
        unit = units[0] if isinstance(units[0], dict) else {}
        amount, currency = money(unit["amount"]) if "amount" in unit else (None, None)
        payments = _object(unit.get("payments"), "payments")
        captures = _objects(payments.get("captures"), "captures")
        refunds = _objects(payments.get("refunds"), "refunds")
        return cls(
            id=str(resource["id"]),
            status=str(resource["status"]),
            amount=amount,
            currency=currency,
            custom_id=_text(unit.get("custom_id"), "custom_id"),
            invoice_id=_text(unit.get("invoice_id"), "invoice_id"),
            buyer_url=_link(resource, "approve") or _link(resource, "payer-action"),
            captures=tuple(Capture.parse(c, order_id=str(resource["id"])) for c in captures),
            refunds=tuple(Refund.parse(r) for r in refunds),
        )


@dataclass(frozen=True)
class Refund:
    """A refund or reversal of a capture (PAYMENT.CAPTURE.REFUNDED / .REVERSED resources)."""

    id: str
    capture_id: str
    amount: Decimal
    currency: str
    status: str | None
    custom_id: str | None
    invoice_id: str | None

    @classmethod
    def parse(cls, resource: dict[str, Any]) -> Refund:
        amount, currency = money(resource.get("amount"))
        up = _link(resource, "up")
        if not _text(resource.get("id"), "refund id") or not up or "/captures/" not in up:
            raise MalformedResource("refund without id or capture link")
        return cls(
            id=str(resource["id"]),
            capture_id=up.rstrip("/").rsplit("/", 1)[-1],
            amount=amount,
            currency=currency,
            status=_text(resource.get("status"), "refund status"),
            custom_id=_text(resource.get("custom_id"), "custom_id"),
            invoice_id=_text(resource.get("invoice_id"), "invoice_id"),
        )


@dataclass(frozen=True)
class Dispute:
    """A Disputes v1 resource (CUSTOMER.DISPUTE.* events): what the staff alert shows, type-checked so
    a wrongly typed field is refused as malformed at once instead of failing (and retrying) later."""

    id: str | None
    reason: str | None
    status: str | None
    stage: str | None
    amount: Decimal | None
    currency: str | None
    capture_ids: tuple[str, ...]  # our capture ids: `disputed_transactions[].seller_transaction_id`

    @classmethod
    def parse(cls, resource: dict[str, Any]) -> Dispute:
        transactions = _objects(resource.get("disputed_transactions"), "disputed_transactions")
        captures = (_text(t.get("seller_transaction_id"), "seller_transaction_id") for t in transactions)
        amount: Decimal | None = None
        currency: str | None = None
        disputed = _object(resource.get("dispute_amount"), "dispute_amount")
        if disputed:
            amount, currency = money(disputed)
        return cls(
            id=_text(resource.get("dispute_id"), "dispute id"),
            reason=_text(resource.get("reason"), "dispute reason"),
            status=_text(resource.get("status"), "dispute status"),
            stage=_text(resource.get("dispute_life_cycle_stage"), "dispute stage"),
            amount=amount,
            currency=currency,
            capture_ids=tuple(c for c in captures if c),
        )


def _link(resource: dict[str, Any], rel: str) -> str | None:
    links = resource.get("links") or []
    if not isinstance(links, list):
        raise MalformedResource("links is not a list")
    for link in links:
        if isinstance(link, dict) and link.get("rel") == rel:
            return str(link.get("href"))
    return None
