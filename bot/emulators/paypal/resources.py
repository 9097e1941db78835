"""Ledger objects rendered as PayPal's JSON resources, with HATEOAS links to the emulator.

The same renderers feed API responses, the ``orders[...]``/``captures[...]`` views and webhook
events, so a field sits in one place whichever way a client reads it. Key order follows PayPal's
sample payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.emulators.paypal.ids import rfc3339
from bot.emulators.paypal.money import money
from bot.emulators.paypal.state import Capture, Dispute, Ledger, Order, Refund


def link(href: str, rel: str, method: str = "GET") -> dict[str, str]:
    return {"href": href, "rel": rel, "method": method}


@dataclass(frozen=True)
class Urls:
    """Every URL the emulator hands out, rooted at its own ``base_url``."""

    base: str

    def order(self, order_id: str) -> str:
        return f"{self.base}/v2/checkout/orders/{order_id}"

    def checkout(self, order_id: str) -> str:
        return f"{self.base}/checkoutnow?token={order_id}"

    def capture(self, capture_id: str) -> str:
        return f"{self.base}/v2/payments/captures/{capture_id}"

    def refund(self, refund_id: str) -> str:
        return f"{self.base}/v2/payments/refunds/{refund_id}"

    def dispute(self, dispute_id: str) -> str:
        return f"{self.base}/v1/customer/disputes/{dispute_id}"

    def event(self, event_id: str) -> str:
        return f"{self.base}/v1/notifications/webhooks-events/{event_id}"

    def cert(self, cert_id: str) -> str:
        return f"{self.base}/v1/notifications/certs/{cert_id}"


def order_links(order: Order, urls: Urls) -> list[dict[str, str]]:
    """Links by status: ``approve`` for CREATED, ``payer-action`` for PAYER_ACTION_REQUIRED."""
    self_link = link(urls.order(order.id), "self")
    if order.status == "PAYER_ACTION_REQUIRED":
        return [self_link, link(urls.checkout(order.id), "payer-action")]
    if order.status == "CREATED":
        return [
            self_link,
            link(urls.checkout(order.id), "approve"),
            link(urls.order(order.id), "update", "PATCH"),
            link(f"{urls.order(order.id)}/capture", "capture", "POST"),
        ]
    if order.status == "APPROVED":
        return [
            self_link,
            link(urls.order(order.id), "update", "PATCH"),
            link(f"{urls.order(order.id)}/capture", "capture", "POST"),
        ]
    return [self_link]


def _payment_source(order: Order) -> dict[str, Any] | None:
    if order.payer is not None:
        payer = order.payer
        return {
            "paypal": {
                "email_address": payer.email,
                "account_id": payer.payer_id,
                "account_status": "VERIFIED",
                "name": {"given_name": payer.given_name, "surname": payer.surname},
                "address": {"country_code": payer.country_code},
            }
        }
    return {"paypal": {}} if order.request.experience_context else None


def _payer(order: Order) -> dict[str, Any] | None:
    if order.payer is None:
        return None
    payer = order.payer
    return {
        "name": {"given_name": payer.given_name, "surname": payer.surname},
        "email_address": payer.email,
        "payer_id": payer.payer_id,
        "address": {"country_code": payer.country_code},
    }


def render_order(order: Order, ledger: Ledger, urls: Urls, *, minimal: bool = False) -> dict[str, Any]:
    """``Prefer: return=minimal`` gives id/status/links (plus payments once captured, as PayPal does)."""
    unit = order.request
    body: dict[str, Any] = {"id": order.id}
    if not minimal:
        body["intent"] = "CAPTURE"
    body["status"] = order.status
    if (source := _payment_source(order)) is not None:
        body["payment_source"] = source
    purchase_unit: dict[str, Any] = {"reference_id": unit.reference_id}
    if not minimal:
        purchase_unit["amount"] = money(unit.currency, unit.value)
        purchase_unit["payee"] = {"email_address": ledger.merchant.email, "merchant_id": ledger.merchant.merchant_id}
        for key in ("description", "custom_id", "invoice_id", "soft_descriptor"):
            if (value := getattr(unit, key)) is not None:
                purchase_unit[key] = value
    if order.capture_id is not None:
        purchase_unit["payments"] = _payments(ledger.captures[order.capture_id], ledger, urls)
    if not minimal or order.capture_id is not None:
        body["purchase_units"] = [purchase_unit]
        if (payer := _payer(order)) is not None:
            body["payer"] = payer
    if not minimal:
        body["create_time"] = rfc3339(order.create_time)
        if order.update_time is not None:
            body["update_time"] = rfc3339(order.update_time)
    body["links"] = order_links(order, urls)
    return body


def _payments(capture: Capture, ledger: Ledger, urls: Urls) -> dict[str, Any]:
    """The purchase unit's ``payment_collection``: the capture, then its refunds oldest first
    (``refunds`` only once there is one, as PayPal leaves out empty arrays)."""
    payments: dict[str, Any] = {"captures": [render_capture(capture, ledger, urls, in_order=True)]}
    if capture.refund_ids:
        payments["refunds"] = [render_refund(ledger.refunds[r], ledger, urls) for r in capture.refund_ids]
    return payments


def render_capture(capture: Capture, ledger: Ledger, urls: Urls, *, in_order: bool = False) -> dict[str, Any]:
    """A capture; the Payments API and webhooks add ``supplementary_data`` and ``payee``."""
    body: dict[str, Any] = {"id": capture.id, "status": capture.status}
    if capture.reason is not None:
        body["status_details"] = {"reason": capture.reason}
    body["amount"] = money(capture.currency, capture.amount)
    body["final_capture"] = True
    declined = capture.status in {"DECLINED", "FAILED"}
    body["seller_protection"] = (
        {"status": "NOT_ELIGIBLE"}
        if declined
        else {"status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]}
    )
    body["disbursement_mode"] = "INSTANT"
    if (fee := capture.fee) is not None:
        body["seller_receivable_breakdown"] = {
            "gross_amount": money(capture.currency, capture.amount),
            "paypal_fee": money(capture.currency, fee),
            "net_amount": money(capture.currency, capture.amount - fee),
        }
    if capture.invoice_id is not None:
        body["invoice_id"] = capture.invoice_id
    if capture.custom_id is not None:
        body["custom_id"] = capture.custom_id
    if not in_order:
        body["supplementary_data"] = {"related_ids": {"order_id": capture.order_id}}
        body["payee"] = {"email_address": ledger.merchant.email, "merchant_id": ledger.merchant.merchant_id}
    body["create_time"] = rfc3339(capture.create_time)
    body["update_time"] = rfc3339(capture.update_time)
    body["links"] = [
        link(urls.capture(capture.id), "self"),
        link(f"{urls.capture(capture.id)}/refund", "refund", "POST"),
        link(urls.order(capture.order_id), "up"),
    ]
    return body


def render_refund(refund: Refund, ledger: Ledger, urls: Urls, *, minimal: bool = False) -> dict[str, Any]:
    """A refund; the capture it belongs to is only in ``links[rel=up]``, as at PayPal.

    PayPal keeps its fee on refunds, so ``paypal_fee`` is zero and ``net_amount`` equals the gross.
    """
    links = [link(urls.refund(refund.id), "self"), link(urls.capture(refund.capture_id), "up")]
    if minimal:
        return {"id": refund.id, "status": refund.status, "links": links}
    body: dict[str, Any] = {"id": refund.id, "amount": money(refund.currency, refund.amount)}
    for key in ("invoice_id", "custom_id", "note_to_payer"):
        if (value := getattr(refund, key)) is not None:
            body[key] = value
    body["seller_payable_breakdown"] = {
        "gross_amount": money(refund.currency, refund.amount),
        "paypal_fee": money(refund.currency, Decimal(0)),
        "net_amount": money(refund.currency, refund.amount),
        "total_refunded_amount": money(refund.currency, refund.total_refunded),
    }
    body["status"] = refund.status
    body["payer"] = {"email_address": ledger.merchant.email, "merchant_id": ledger.merchant.merchant_id}
    body["create_time"] = rfc3339(refund.create_time)
    body["update_time"] = rfc3339(refund.create_time)
    body["links"] = links
    return body


def render_dispute(dispute: Dispute, ledger: Ledger, urls: Urls) -> dict[str, Any]:
    """A Disputes v1 resource; our capture id is ``disputed_transactions[].seller_transaction_id``."""
    capture = ledger.captures[dispute.capture_id]
    transaction: dict[str, Any] = {
        "buyer_transaction_id": dispute.buyer_transaction_id,
        "seller_transaction_id": dispute.capture_id,
        "create_time": rfc3339(capture.create_time),
        "transaction_status": "COMPLETED",
        "gross_amount": money(capture.currency, capture.amount),
        "buyer": {"name": "John Doe"},
        "seller": {"merchant_id": ledger.merchant.merchant_id, "email": ledger.merchant.email},
        "items": [],
        "seller_protection_eligible": True,
    }
    if capture.invoice_id is not None:
        transaction["invoice_number"] = capture.invoice_id
    if capture.custom_id is not None:
        transaction["custom"] = capture.custom_id
    return {
        "dispute_id": dispute.id,
        "create_time": rfc3339(dispute.create_time),
        "update_time": rfc3339(dispute.create_time),
        "disputed_transactions": [transaction],
        "reason": dispute.reason,
        "status": dispute.status,
        "dispute_amount": money(dispute.currency, dispute.amount),
        "dispute_life_cycle_stage": dispute.stage,
        "dispute_channel": "INTERNAL",
        "links": [
            link(urls.dispute(dispute.id), "self"),
            link(f"{urls.dispute(dispute.id)}/send-message", "send_message", "POST"),
        ],
    }
