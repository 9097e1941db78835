"""PayPal's own copy of the resource a webhook names, fetched with the bot's credentials.

A webhook is a notification, not proof of payment: its body only says which capture, refund or
order to look at. Before anything moves money the worker asks PayPal (`GET /v2/payments/captures/
{id}`, `/v2/payments/refunds/{id}`, `/v2/checkout/orders/{id}`) and applies that answer. Failing to
ask is never a reason to trust the body instead, nor to drop the event: it waits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.paypal.client import PayPalClient, PayPalError
from bot.paypal.models import Capture, Order, Refund

T = TypeVar("T")

#: PayPal's answers meaning "there is no such resource (for this account)": the notification named
#: something PayPal does not have. 401/403 are not among them: those say our credentials are wrong.
NOT_THERE_STATUSES = frozenset({400, 404, 422})


class EventNotReady(Exception):
    """The event cannot be applied yet; the inbox retries it (counting attempts)."""


class WaitingOnPayPal(EventNotReady):
    """PayPal cannot say yet what the event claims: it is unreachable, or still settling the money.

    The inbox keeps such an event waiting with capped backoff and does not count the round as an
    attempt, so however long PayPal takes, the event never turns `dead`, is never applied from its
    body and is never dropped; staff hear once if it waits long, with `advice`.
    """

    advice = "It is kept and retried; nothing is applied until PayPal confirms it."


class PayPalUnreachable(WaitingOnPayPal):
    """PayPal could not be asked (network, timeout, 5xx, 429, credentials missing or refused)."""

    advice = (
        "It is kept and retried; nothing is applied until PayPal confirms it. Check the PayPal credentials "
        "and PayPal's status."
    )


@dataclass(frozen=True)
class Missing:
    """PayPal says the resource a webhook named does not exist: a forged or garbled notification."""

    kind: str
    resource_id: str

    @property
    def detail(self) -> str:
        return f"PayPal has no {self.kind} {self.resource_id!r}, which a webhook named"


async def _ask(
    paypal: PayPalClient | None, kind: str, resource_id: str, fetch: Callable[[PayPalClient], Awaitable[T]]
) -> T | Missing:
    if paypal is None:
        raise PayPalUnreachable(f"PayPal credentials are not configured; cannot read {kind} {resource_id}")
    try:
        return await fetch(paypal)
    except PayPalError as error:
        if error.status in NOT_THERE_STATUSES or error.name == "INVALID_RESOURCE_ID":
            return Missing(kind, resource_id)
        raise PayPalUnreachable(f"PayPal could not be asked for {kind} {resource_id}: {error}") from error


async def capture_copy(paypal: PayPalClient | None, capture_id: str) -> Capture | Missing:
    return await _ask(paypal, "capture", capture_id, lambda client: client.get_capture(capture_id))


async def refund_copy(paypal: PayPalClient | None, refund_id: str) -> Refund | Missing:
    return await _ask(paypal, "refund", refund_id, lambda client: client.get_refund(refund_id))


async def order_copy(paypal: PayPalClient | None, order_id: str) -> Order | Missing:
    return await _ask(paypal, "order", order_id, lambda client: client.get_order(order_id))


async def capture_approved(paypal: PayPalClient | None, order_id: str, request_id: str) -> Order:
    """Capture an order PayPal says is APPROVED (idempotent by `request_id`); failing to reach
    PayPal waits like a failed read. PayPal refusing the capture (4xx) is raised as it is."""
    if paypal is None:
        raise PayPalUnreachable(f"PayPal credentials are not configured; cannot capture order {order_id}")
    try:
        return await paypal.capture_order(order_id, request_id=request_id)
    except PayPalError as error:
        if error.transient or error.status in {401, 403}:
            raise PayPalUnreachable(f"PayPal could not capture order {order_id}: {error}") from error
        raise
