"""Webhook events: PayPal's envelope, resources taken from the ledger, and the wire serialisation.

Builders snapshot the ledger at call time, exactly as PayPal freezes a resource into an event
when it happens; later state changes don't alter an event already built. ``serialize`` writes
bytes no Python re-serialisation reproduces, so a receiver that hashes anything but the raw body
fails verification in tests instead of in production.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bot.emulators.paypal import ids
from bot.emulators.paypal.money import summary_amount
from bot.emulators.paypal.resources import Urls, render_capture, render_dispute, render_order, render_refund
from bot.emulators.paypal.state import Clock, Ledger

_RESOURCE_TYPES = {
    "CHECKOUT": "checkout-order",
    "PAYMENT.CAPTURE.REFUNDED": "refund",
    "PAYMENT.CAPTURE.REVERSED": "refund",
    "PAYMENT.CAPTURE": "capture",
    "CUSTOMER.DISPUTE": "dispute",
}


def resource_type_for(event_type: str) -> str:
    """The longest matching prefix wins, so REFUNDED/REVERSED are ``refund`` not ``capture``."""
    for prefix in sorted(_RESOURCE_TYPES, key=len, reverse=True):
        if event_type.startswith(prefix):
            return _RESOURCE_TYPES[prefix]
    return event_type.split(".")[-2].lower() if "." in event_type else event_type.lower()


def serialize(event: dict[str, Any]) -> bytes:
    """Compact-but-not-quite JSON (``","`` then ``": "``), slashes escaped as ``\\/``, UTF-8.

    Key order and string values ("1.0") are kept; only a receiver that hashes the bytes it was
    sent, rather than ``json.dumps(json.loads(body))``, gets the same CRC32 PayPal signed.
    """
    text = json.dumps(event, separators=(",", ": "), ensure_ascii=False)
    return text.replace("/", "\\/").encode("utf-8")


class EventBuilder:
    def __init__(self, ledger: Ledger, urls: Callable[[], Urls], clock: Clock) -> None:
        self._ledger = ledger
        self._urls = urls
        self._clock = clock

    def build_event(
        self,
        event_type: str,
        resource: dict[str, Any],
        *,
        event_id: str | None = None,
        resource_type: str | None = None,
        summary: str | None = None,
        resource_version: str = "2.0",
    ) -> dict[str, Any]:
        """PayPal's envelope around ``resource``; ``id`` is the receiver's dedupe key."""
        event_id = event_id or ids.event_id()
        urls = self._urls()
        return {
            "id": event_id,
            "event_version": "1.0",
            "create_time": ids.rfc3339_millis(self._clock()),
            "resource_type": resource_type or resource_type_for(event_type),
            "resource_version": resource_version,
            "event_type": event_type,
            "summary": summary or event_type,
            "resource": resource,
            "links": [
                {"href": urls.event(event_id), "rel": "self", "method": "GET", "encType": "application/json"},
                {
                    "href": f"{urls.event(event_id)}/resend",
                    "rel": "resend",
                    "method": "POST",
                    "encType": "application/json",
                },
            ],
        }

    # --- orders --------------------------------------------------------------------------------

    def order_approved(self, order_id: str) -> dict[str, Any]:
        """The order as it stands; ``amount.breakdown: {}`` as in the payloads that broke re-encoders."""
        resource = render_order(self._ledger.order(order_id), self._ledger, self._urls())
        resource["purchase_units"][0]["amount"]["breakdown"] = {}
        return self.build_event("CHECKOUT.ORDER.APPROVED", resource, summary="An order has been approved by buyer")

    def approval_reversed(self, order_id: str) -> dict[str, Any]:
        """PayPal's sample carries ``order_id`` (not ``id``) and a trimmed purchase unit."""
        order = self._ledger.order(order_id)
        unit: dict[str, Any] = {"reference_id": order.request.reference_id}
        if order.request.custom_id is not None:
            unit["custom_id"] = order.request.custom_id
        if order.request.invoice_id is not None:
            unit["invoice_id"] = order.request.invoice_id
        resource = {"order_id": order.id, "purchase_units": [unit], "payment_source": {"paypal": {}}}
        return self.build_event(
            "CHECKOUT.PAYMENT-APPROVAL.REVERSED", resource, summary="A payment has been reversed after approval."
        )

    # --- captures ------------------------------------------------------------------------------

    def capture_event(self, event_type: str, capture_id: str, verb: str) -> dict[str, Any]:
        capture = self._ledger.capture_of(capture_id)
        resource = render_capture(capture, self._ledger, self._urls())
        resource["processor_response"] = {}  # an empty object, harmless to a faithful receiver
        summary = f"Payment {verb} for {summary_amount(capture.amount, capture.currency)}"
        return self.build_event(event_type, resource, summary=summary)

    # --- refunds and reversals -----------------------------------------------------------------

    def refund_event(self, event_type: str, refund: dict[str, Any] | str, verb: str) -> dict[str, Any]:
        refund_id = refund if isinstance(refund, str) else refund["id"]
        stored = self._ledger.refund_of(refund_id)
        resource = render_refund(stored, self._ledger, self._urls())
        resource["payer"] = {}  # PayPal's refund events carry no merchant details; an empty object stays
        summary = f"A {summary_amount(stored.amount, stored.currency)} capture payment was {verb}"
        return self.build_event(event_type, resource, summary=summary)

    # --- disputes ------------------------------------------------------------------------------

    def dispute_created(self, dispute: dict[str, Any] | str) -> dict[str, Any]:
        dispute_id = dispute if isinstance(dispute, str) else dispute["dispute_id"]
        stored = self._ledger.disputes.get(dispute_id)
        if stored is None:
            raise KeyError(f"unknown dispute {dispute_id!r}")
        resource = render_dispute(stored, self._ledger, self._urls())
        resource["extensions"] = {}
        return self.build_event(
            "CUSTOMER.DISPUTE.CREATED",
            resource,
            summary=f"A new dispute opened with Case # {stored.id}",
            resource_version="1.0",
        )
