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
    if not amount.is_finite():
        raise MalformedResource(f"bad amount {value!r}")
    return amount, currency


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
        related = ((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
        up = _link(resource, "up")
        if related is None and up and "/v2/checkout/orders/" in up:
            related = up.rstrip("/").rsplit("/", 1)[-1]
        if not resource.get("id") or not resource.get("status"):
            raise MalformedResource("capture without id or status")
        return cls(
            id=str(resource["id"]),
            status=str(resource["status"]),
            amount=amount,
            currency=currency,
            custom_id=resource.get("custom_id"),
            invoice_id=resource.get("invoice_id"),
            order_id=order_id or related,
            reason=(resource.get("status_details") or {}).get("reason"),
            update_time=resource.get("update_time"),
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
        if not resource.get("id") or not resource.get("status"):
            raise MalformedResource("order without id or status")
        units = resource.get("purchase_units") or [{}]
        unit = units[0] if isinstance(units[0], dict) else {}
        amount, currency = money(unit["amount"]) if "amount" in unit else (None, None)
        captures = tuple(
            Capture.parse(c, order_id=str(resource["id"])) for c in ((unit.get("payments") or {}).get("captures") or [])
        )
        return cls(
            id=str(resource["id"]),
            status=str(resource["status"]),
            amount=amount,
            currency=currency,
            custom_id=unit.get("custom_id"),
            invoice_id=unit.get("invoice_id"),
            buyer_url=_link(resource, "approve") or _link(resource, "payer-action"),
            captures=captures,
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
        if not resource.get("id") or not up or "/captures/" not in up:
            raise MalformedResource("refund without id or capture link")
        return cls(
            id=str(resource["id"]),
            capture_id=up.rstrip("/").rsplit("/", 1)[-1],
            amount=amount,
            currency=currency,
            status=resource.get("status"),
            custom_id=resource.get("custom_id"),
            invoice_id=resource.get("invoice_id"),
        )


def _link(resource: dict[str, Any], rel: str) -> str | None:
    for link in resource.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == rel:
            return str(link.get("href"))
    return None
