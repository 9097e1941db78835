"""The parts of PayPal's Orders v2 / Payments v2 resources the bot relies on, parsed strictly.

Amounts stay strings on the wire and become `Decimal` here; nothing is ever a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


class MalformedResource(ValueError):
    """A PayPal resource lacks a field we need or has one in the wrong shape."""


def money(value: Any) -> tuple[Decimal, str]:
    """`{"currency_code": "USD", "value": "10.00"}` → (Decimal("10.00"), "USD")."""
    if not isinstance(value, dict):
        raise MalformedResource("amount is not an object")
    try:
        amount = Decimal(str(value["value"]))
        currency = str(value["currency_code"]).upper()
    except (KeyError, InvalidOperation) as exc:
        raise MalformedResource(f"bad amount {value!r}") from exc
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or not isinstance(exponent, int) or abs(exponent) > 30 or amount.adjusted() > 15:
        raise MalformedResource(f"bad amount {value!r}")  # (1e999999999 would be a billion digits in a receipt)
    return amount, currency


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

    @classmethod
    def parse(cls, resource: dict[str, Any]) -> Order:
        if not _text(resource.get("id"), "order id") or not _text(resource.get("status"), "order status"):
            raise MalformedResource("order without id or status")
        units = resource.get("purchase_units") or [{}]
        if not isinstance(units, list):
            raise MalformedResource("purchase_units is not a list")
        unit = units[0] if isinstance(units[0], dict) else {}
        amount, currency = money(unit["amount"]) if "amount" in unit else (None, None)
        captures = _object(unit.get("payments"), "payments").get("captures") or []
        if not isinstance(captures, list) or not all(isinstance(c, dict) for c in captures):
            raise MalformedResource("captures is not a list of objects")
        return cls(
            id=str(resource["id"]),
            status=str(resource["status"]),
            amount=amount,
            currency=currency,
            custom_id=_text(unit.get("custom_id"), "custom_id"),
            invoice_id=_text(unit.get("invoice_id"), "invoice_id"),
            buyer_url=_link(resource, "approve") or _link(resource, "payer-action"),
            captures=tuple(Capture.parse(c, order_id=str(resource["id"])) for c in captures),
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
        transactions = resource.get("disputed_transactions")
        if transactions is None:
            transactions = []
        if not isinstance(transactions, list) or not all(isinstance(t, dict) for t in transactions):
            raise MalformedResource("disputed_transactions is not a list of objects")
        captures = (_text(t.get("seller_transaction_id"), "seller_transaction_id") for t in transactions)
        amount: Decimal | None = None
        currency: str | None = None
        disputed = _object(resource.get("dispute_amount"), "dispute_amount")
        if disputed:  # PayPal sends the value as a decimal string, never a number
            if not isinstance(disputed.get("value"), str) or not isinstance(disputed.get("currency_code"), str):
                raise MalformedResource("dispute_amount value or currency is not a string")
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
