"""``PayPalEmulator``: a stateful fake PayPal on 127.0.0.1 for tests and the sandbox mode.

The bot's own aiohttp PayPal client is pointed at ``base_url`` and its webhook verifier at
``cert_url``'s host and ``ca_pem``, so both run unchanged. The buyer and PayPal's back office
are plain methods (``approve``, ``refund``, ``open_dispute`` …), and the webhook sender signs
events exactly as PayPal does. HTTP lives in ``server``, rules in ``state``, events in ``events``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

from aiohttp import web

from bot.emulators.base.recording import WAIT_TIMEOUT
from bot.emulators.base.server import EmulatorServer
from bot.emulators.paypal import ids
from bot.emulators.paypal.crypto import PAYPAL_CERT_CN, SigningCert, new_authority, new_signing_cert, utc
from bot.emulators.paypal.delivery import Sender
from bot.emulators.paypal.events import EventBuilder
from bot.emulators.paypal.faults import Fault, FaultBook
from bot.emulators.paypal.money import parse_money
from bot.emulators.paypal.oauth import Credentials, TokenBook
from bot.emulators.paypal.recording import Call, Delivery, new_call_log
from bot.emulators.paypal.resources import Urls, render_capture, render_dispute, render_order, render_refund
from bot.emulators.paypal.server import Backend, PayPalHttp
from bot.emulators.paypal.signing import MOCK_WEBHOOK_ID, Signer, Transmission
from bot.emulators.paypal.state import Ledger, Merchant, Outcome, Payer
from bot.emulators.paypal.subscriptions import ALL_EVENTS, Subscription
from bot.emulators.paypal.validation import RefundRequest
from bot.emulators.paypal.webhooks import WebhookMethods

T = TypeVar("T")


class ResourceView(Mapping[str, dict[str, Any]], Generic[T]):
    """Read-only ``em.orders[id]``: each access renders the resource's current JSON."""

    def __init__(self, store: dict[str, T], render: Callable[[T], dict[str, Any]]) -> None:
        self._store = store
        self._render = render

    def __getitem__(self, key: str) -> dict[str, Any]:
        return self._render(self._store[key])

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._store))

    def __len__(self) -> int:
        return len(self._store)


class PayPalEmulator(EmulatorServer, WebhookMethods):
    """A fake PayPal REST API (OAuth, Orders v2, Payments v2, webhook certs and verification)."""

    def __init__(
        self,
        *,
        client_id: str = "emu-client-id",
        client_secret: str = "emu-client-secret",  # noqa: S107 - the emulator's fake credentials
        webhook_id: str = "WH-EMU-0001",
        clock: Callable[[], float] = time.time,
        token_ttl: int = 32400,
        cert_common_name: str = PAYPAL_CERT_CN,
        cert_not_after: datetime | None = None,
        merchant_id: str = "EMUMERCHANT01",
        merchant_email: str = "merchant@business.example.com",
    ) -> None:
        self.webhook_id = webhook_id
        self.clock = clock
        self.credentials = Credentials(client_id, client_secret)
        self._ledger = Ledger(Merchant(merchant_id, merchant_email), clock)
        self._tokens = TokenBook(self.credentials, clock, token_ttl)
        self._faults = FaultBook()
        self._authority = new_authority(utc(clock()))
        self._cert_common_name = cert_common_name
        self._signing = new_signing_cert(
            self._authority, utc(clock()), common_name=cert_common_name, not_after=cert_not_after
        )
        self._certs: dict[str, SigningCert] = {self._signing.cert_id: self._signing}
        self._signer = Signer(clock)
        self._events = EventBuilder(self._ledger, self._urls, clock)
        self._sender = Sender(self._sign_for_delivery, clock)
        self.calls = new_call_log()
        self._webhooks: dict[str, Subscription] = {}
        self.orders = ResourceView(self._ledger.orders, lambda o: render_order(o, self._ledger, self._urls()))
        self.captures = ResourceView(self._ledger.captures, lambda c: render_capture(c, self._ledger, self._urls()))
        self.refunds = ResourceView(self._ledger.refunds, lambda r: render_refund(r, self._ledger, self._urls()))
        self.disputes = ResourceView(self._ledger.disputes, lambda d: render_dispute(d, self._ledger, self._urls()))
        super().__init__()

    # --- lifecycle -----------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        backend = Backend(
            self._ledger,
            self._tokens,
            self._signer,
            self._faults,
            self._certs,
            self.calls,
            lambda: self.webhook_id,
            self._urls,
            self.approve,
            self.clock,
            self._webhooks,
        )
        return PayPalHttp(backend).build_app()

    async def start(self) -> None:
        await super().start()
        await self._sender.open()

    async def stop(self) -> None:
        await self._sender.close()
        await super().stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the bot's PAYPAL_API_URL and, as origin, its PAYPAL_CERT_HOSTS."""
        return self.origin

    def _urls(self) -> Urls:
        return Urls(self.base_url)

    # --- certificates --------------------------------------------------------------------------

    @property
    def ca_pem(self) -> bytes:
        """The trust anchor for PAYPAL_CERT_CA: the emulator's self-signed CA, PEM."""
        return self._authority.pem

    @property
    def cert_id(self) -> str:
        return self._signing.cert_id

    @property
    def cert_url(self) -> str:
        """Where the current signing certificate chain (leaf, then CA) is served."""
        return self._urls().cert(self._signing.cert_id)

    @property
    def cert_chain_pem(self) -> bytes:
        return self._signing.chain_pem

    def rotate_certificate(self, *, not_after: datetime | None = None) -> str:
        """Sign with a new key from now on; the old certificate stays served. Returns the new URL."""
        self._signing = new_signing_cert(
            self._authority, utc(self.clock()), common_name=self._cert_common_name, not_after=not_after
        )
        self._certs[self._signing.cert_id] = self._signing
        return self.cert_url

    # --- the REST app's webhook subscriptions ---------------------------------------------------

    def add_webhook(
        self, url: str, event_types: Iterable[str] = (ALL_EVENTS,), *, webhook_id: str | None = None
    ) -> dict[str, Any]:
        """Subscribe ``url`` as the dashboard's "Add Webhook" does; the id defaults to the one events are
        signed for. Returns the webhook as ``GET /v1/notifications/webhooks/{id}`` shows it."""
        hook = Subscription(webhook_id or self.webhook_id, url, tuple(event_types))
        self._webhooks[hook.id] = hook
        return hook.to_api(self.base_url)

    def remove_webhook(self, webhook_id: str) -> None:
        self._webhooks.pop(webhook_id, None)

    # --- the buyer and PayPal's back office ----------------------------------------------------

    def checkout_url(self, order_id: str) -> str:
        return self._urls().checkout(order_id)

    def approve(self, order_id: str, *, payer_email: str = "buyer@example.com") -> dict[str, Any]:
        """The buyer approves: the order becomes APPROVED and gains a payer. Returns the order."""
        order = self._ledger.approve(order_id, Payer(payer_email, ids.payer_id()))
        return render_order(order, self._ledger, self._urls())

    def cancel(self, order_id: str) -> None:
        """The buyer cancels on PayPal's page; like PayPal, the order's status does not change."""
        self._ledger.cancel(order_id)

    decline = cancel

    def reverse_approval(self, order_id: str) -> None:
        """Approved but never captured: PayPal voids the order (CHECKOUT.PAYMENT-APPROVAL.REVERSED)."""
        self._ledger.reverse_approval(order_id)

    def set_capture_outcome(self, order_id: str | None, status: str = "COMPLETED", reason: str | None = None) -> None:
        """How captures go: COMPLETED, PENDING (reason PENDING_REVIEW), DECLINED, FAILED, or
        INSTRUMENT_DECLINED (the capture call fails with 422; one-shot per order). None: all orders."""
        self._ledger.set_outcome(order_id, Outcome(status, reason))

    def complete_pending_capture(self, capture_id: str) -> dict[str, Any]:
        capture = self._ledger.settle_pending(capture_id, "COMPLETED")
        return render_capture(capture, self._ledger, self._urls())

    def deny_pending_capture(self, capture_id: str) -> dict[str, Any]:
        """A pending capture fails later (PAYMENT.CAPTURE.DENIED); its status becomes DECLINED."""
        capture = self._ledger.settle_pending(capture_id, "DECLINED")
        return render_capture(capture, self._ledger, self._urls())

    def refund(
        self, capture_id: str, amount: str | None = None, *, note_to_payer: str | None = None, pending: bool = False
    ) -> dict[str, Any]:
        """A refund made on PayPal's dashboard; same rules as the API. Returns the refund resource;
        `pending` keeps it PENDING (as an eCheck refund stays for days) until `settle_refund`."""
        capture = self._ledger.capture_of(capture_id)
        money = None
        if amount is not None:
            money = parse_money({"currency_code": capture.currency, "value": amount}, "/amount")
        refund = self._ledger.refund(capture_id, RefundRequest(money, None, None, note_to_payer), pending=pending)
        return render_refund(refund, self._ledger, self._urls())

    def settle_refund(self, refund_id: str, status: str = "COMPLETED") -> dict[str, Any]:
        """A pending refund ends: COMPLETED (the money went back), FAILED or CANCELLED."""
        if status not in {"COMPLETED", "FAILED", "CANCELLED"}:
            raise ValueError(f"a refund ends COMPLETED, FAILED or CANCELLED, not {status}")
        refund = self._ledger.settle_pending_refund(refund_id, status)
        return render_refund(refund, self._ledger, self._urls())

    def reverse(self, capture_id: str) -> dict[str, Any]:
        """A chargeback or risk reversal: a refund of what is left, noted "Payment reversed"."""
        return self.refund(capture_id, note_to_payer="Payment reversed")

    def open_dispute(self, capture_id: str, reason: str = "MERCHANDISE_OR_SERVICE_NOT_RECEIVED") -> dict[str, Any]:
        dispute = self._ledger.open_dispute(capture_id, reason)
        return render_dispute(dispute, self._ledger, self._urls())

    def revoke_tokens(self) -> None:
        """Forget every access token, as if PayPal rotated them; the next call gets a 401."""
        self._tokens.revoke_all()

    # --- faults --------------------------------------------------------------------------------

    def fail(
        self,
        route_key: str,
        *,
        status: int = 500,
        times: int = 1,
        delay: float = 0.0,
        disconnect: bool = False,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Make the next ``times`` requests to ``route_key`` fail after ``delay`` seconds.

        The answer is ``status`` with PayPal's error body (or ``body``); ``disconnect`` drops the
        connection instead. Route keys: oauth, orders.create, orders.get, orders.capture,
        captures.get, captures.refund, refunds.get, certs, verify, webhooks.list, webhooks.get, checkout.
        """
        fault = Fault(
            status=status, delay=delay, disconnect=disconnect, body=body, headers=dict(headers or {}), remaining=times
        )
        self._faults.add(route_key, fault)

    def slow(self, route_key: str, seconds: float) -> None:
        """Delay every request to ``route_key`` by ``seconds`` until ``clear_faults``."""
        self._faults.slow(route_key, seconds)

    def clear_faults(self) -> None:
        self._faults.clear()

    def faults_left(self, route_key: str | None = None) -> int:
        """How many scripted failures (``fail``) have not been met yet, for one route or all."""
        return self._faults.left(route_key)

    # --- recording -----------------------------------------------------------------------------

    def calls_to(self, route_key: str) -> list[Call]:
        return self.calls.to(route_key)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook POST attempt, retries included, in the order they were made."""
        return self._sender.deliveries

    @property
    def transmissions(self) -> dict[str, Transmission]:
        return self._signer.transmissions

    async def wait_for(
        self,
        route_key: str,
        count: int = 1,
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109 - a deadline for polling recorded calls, not for I/O
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait for ``count`` calls to ``route_key`` that succeeded (2xx) or match ``predicate``."""
        return await self.calls.wait_for(
            route_key, count, timeout, predicate or (lambda call: call.ok), wanted="matching call(s)"
        )

    # --- webhook plumbing used by WebhookMethods -----------------------------------------------

    def _sign_for_delivery(self, body: bytes) -> Transmission:
        return self._signer.sign(self._signing, self.cert_url, body, self.webhook_id)

    def _sign_mock(self, body: bytes) -> Transmission:
        return self._signer.sign(self._signing, self.cert_url, body, MOCK_WEBHOOK_ID, record=False)

    def _events_builder(self) -> EventBuilder:
        return self._events

    def _delivery(self) -> Sender:
        return self._sender

    def _signer_and_cert(self) -> tuple[Signer, SigningCert, str]:
        return self._signer, self._signing, self.cert_url
