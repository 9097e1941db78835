"""The HTTP edge: PayPal's REST routes on a real aiohttp app, plus the buyer's checkout page.

Every route goes through one wrapper that applies slowness and injected faults, checks the Bearer
token, turns ``PayPalError`` into PayPal's error body with a ``PayPal-Debug-Id`` header, and
records the exchange. Faults come before authentication, as an outage at PayPal's edge would.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from aiohttp import web

from bot.emulators.paypal.crypto import SigningCert
from bot.emulators.paypal.errors import Issue, PayPalError, error_body, not_found
from bot.emulators.paypal.faults import Fault, FaultBook
from bot.emulators.paypal.ids import debug_id
from bot.emulators.paypal.oauth import TokenBook
from bot.emulators.paypal.recording import Call
from bot.emulators.paypal.resources import Urls, render_capture, render_order, render_refund
from bot.emulators.paypal.signing import Signer
from bot.emulators.paypal.state import Clock, Ledger
from bot.emulators.paypal.subscriptions import Subscription
from bot.emulators.paypal.validation import parse_json_object, validate_order, validate_refund


@dataclass
class Reply:
    """A handler's answer: dicts and lists go out as JSON, ``str``/``bytes`` verbatim."""

    status: int
    body: Any
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Backend:
    """What the HTTP edge needs from the emulator; the emulator owns and mutates all of it."""

    ledger: Ledger
    tokens: TokenBook
    signer: Signer
    faults: FaultBook
    certs: dict[str, SigningCert]
    calls: list[Call]
    webhook_id: Callable[[], str]
    urls: Callable[[], Urls]
    buyer_approves: Callable[[str], Any]
    clock: Clock
    webhooks: dict[str, Subscription] = field(default_factory=dict)


Handler = Callable[[web.Request, bytes], Reply]


def _prefers_representation(request: web.Request) -> bool:
    return "return=representation" in request.headers.get("Prefer", "").lower()


def _require_json(request: web.Request) -> None:
    """PayPal rejects POSTs without ``Content-Type: application/json``, even with an empty body."""
    if request.content_type != "application/json":
        raise PayPalError(415, Issue("UNSUPPORTED_MEDIA_TYPE", field="Content-Type", location="header"))


class PayPalHttp:
    def __init__(self, backend: Backend) -> None:
        self.b = backend

    def build_app(self) -> web.Application:
        app = web.Application()
        route = self._route
        app.router.add_post("/v1/oauth2/token", route("oauth", self._token, auth=False))
        app.router.add_post("/v2/checkout/orders", route("orders.create", self._create_order))
        app.router.add_get("/v2/checkout/orders/{id}", route("orders.get", self._get_order))
        app.router.add_post("/v2/checkout/orders/{id}/capture", route("orders.capture", self._capture))
        app.router.add_get("/v2/payments/captures/{id}", route("captures.get", self._get_capture, api="payments/v2"))
        app.router.add_post("/v2/payments/captures/{id}/refund", route("captures.refund", self._refund, "payments/v2"))
        app.router.add_get("/v2/payments/refunds/{id}", route("refunds.get", self._get_refund, api="payments/v2"))
        app.router.add_get("/v1/notifications/certs/{id}", route("certs", self._cert, auth=False))
        app.router.add_post("/v1/notifications/verify-webhook-signature", route("verify", self._verify))
        app.router.add_get("/v1/notifications/webhooks", route("webhooks.list", self._list_webhooks))
        app.router.add_get("/v1/notifications/webhooks/{id}", route("webhooks.get", self._get_webhook))
        app.router.add_get("/checkoutnow", route("checkout", self._checkout_page, auth=False))
        app.router.add_post("/checkoutnow/{action}", route("checkout", self._checkout_action, auth=False))
        app.router.add_route("*", "/{tail:.*}", route("unknown", self._unknown, auth=False))
        return app

    # --- the wrapper ---------------------------------------------------------------------------

    def _route(
        self, key: str, handler: Handler, api: str = "orders/v2", *, auth: bool = True
    ) -> Callable[[web.Request], Any]:
        async def serve(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            if seconds := self.b.faults.slowness(key):
                await asyncio.sleep(seconds)
            if (fault := self.b.faults.take(key)) is not None:
                return await self._inject(key, request, raw, fault)
            try:
                if auth:
                    self.b.tokens.check(request.headers.get("Authorization"))
                reply = handler(request, raw)
            except PayPalError as exc:
                if exc.api == "orders/v2" and api != "orders/v2":
                    exc.api = api
                reply = Reply(exc.status, exc.to_body(), headers={"PayPal-Debug-Id": exc.debug_id})
            return self._answer(key, request, raw, reply)

        return serve

    async def _inject(self, key: str, request: web.Request, raw: bytes, fault: Fault) -> web.StreamResponse:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.disconnect:
            self._record(key, request, raw, Reply(0, None))
            if request.transport is not None:
                request.transport.close()
            # aiohttp treats a handler's CancelledError as the client going away and stays quiet.
            raise asyncio.CancelledError
        body = fault.body if fault.body is not None else error_body(fault.status)
        content_type = "application/json" if isinstance(body, dict | list) else "text/plain"
        return self._answer(key, request, raw, Reply(fault.status, body, content_type, dict(fault.headers)))

    def _answer(self, key: str, request: web.Request, raw: bytes, reply: Reply) -> web.Response:
        self._record(key, request, raw, reply)
        headers = {"PayPal-Debug-Id": debug_id(), **reply.headers}
        if reply.status in {301, 302, 303}:
            return web.Response(status=reply.status, headers=headers)
        if isinstance(reply.body, dict | list):
            data = json.dumps(reply.body).encode()
        else:
            data = reply.body.encode() if isinstance(reply.body, str) else reply.body
        return web.Response(status=reply.status, body=data, content_type=reply.content_type, headers=headers)

    def _record(self, key: str, request: web.Request, raw: bytes, reply: Reply) -> None:
        parsed: Any = None
        form: dict[str, str] = {}
        if request.content_type == "application/x-www-form-urlencoded":
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        elif raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        response = reply.body if isinstance(reply.body, dict | list) or reply.body is None else str(reply.body)[:500]
        self.b.calls.append(
            Call(
                route=key,
                method=request.method,
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                json=parsed,
                status=reply.status,
                response=response,
                at=self.b.clock(),
                query=dict(request.query),
                form=form,
            )
        )

    # --- OAuth and orders ----------------------------------------------------------------------

    def _token(self, request: web.Request, raw: bytes) -> Reply:
        body = self.b.tokens.issue(request.headers.get("Authorization"), request.content_type, raw)
        return Reply(200, body)

    def _create_order(self, request: web.Request, raw: bytes) -> Reply:
        _require_json(request)
        ledger, request_id = self.b.ledger, request.headers.get("PayPal-Request-Id")
        if (replay := ledger.replay("orders.create", request_id)) is not None:
            order = ledger.order(replay.resource_id)
            return Reply(200, render_order(order, ledger, self.b.urls(), minimal=not replay.representation))
        order = ledger.create_order(validate_order(parse_json_object(raw, empty_ok=False)))
        representation = _prefers_representation(request)
        ledger.remember("orders.create", request_id, order.id, representation)
        return Reply(201, render_order(order, ledger, self.b.urls(), minimal=not representation))

    def _get_order(self, request: web.Request, raw: bytes) -> Reply:
        order = self.b.ledger.order(request.match_info["id"])
        return Reply(200, render_order(order, self.b.ledger, self.b.urls()))

    def _capture(self, request: web.Request, raw: bytes) -> Reply:
        _require_json(request)
        parse_json_object(raw, empty_ok=True)
        ledger, request_id, urls = self.b.ledger, request.headers.get("PayPal-Request-Id"), self.b.urls()
        if (replay := ledger.replay("orders.capture", request_id)) is not None:
            order = ledger.order(replay.resource_id)
            return Reply(200, render_order(order, ledger, urls, minimal=not replay.representation))
        order_id = request.match_info["id"]
        ledger.capture(order_id, urls.checkout(order_id))
        representation = _prefers_representation(request)
        ledger.remember("orders.capture", request_id, order_id, representation)
        return Reply(201, render_order(ledger.order(order_id), ledger, urls, minimal=not representation))

    # --- payments ------------------------------------------------------------------------------

    def _get_capture(self, request: web.Request, raw: bytes) -> Reply:
        capture = self.b.ledger.capture_of(request.match_info["id"])
        return Reply(200, render_capture(capture, self.b.ledger, self.b.urls()))

    def _refund(self, request: web.Request, raw: bytes) -> Reply:
        _require_json(request)
        ledger, request_id, urls = self.b.ledger, request.headers.get("PayPal-Request-Id"), self.b.urls()
        if (replay := ledger.replay("captures.refund", request_id)) is not None:
            refund = ledger.refund_of(replay.resource_id)
            return Reply(200, render_refund(refund, ledger, urls, minimal=not replay.representation))
        refund_request = validate_refund(parse_json_object(raw, empty_ok=True))
        refund = ledger.refund(request.match_info["id"], refund_request)
        representation = _prefers_representation(request)
        ledger.remember("captures.refund", request_id, refund.id, representation)
        return Reply(201, render_refund(refund, ledger, urls, minimal=not representation))

    def _get_refund(self, request: web.Request, raw: bytes) -> Reply:
        refund = self.b.ledger.refund_of(request.match_info["id"])
        return Reply(200, render_refund(refund, self.b.ledger, self.b.urls()))

    # --- notifications -------------------------------------------------------------------------

    def _cert(self, request: web.Request, raw: bytes) -> Reply:
        cert = self.b.certs.get(request.match_info["id"])
        if cert is None:
            raise PayPalError(404, Issue("INVALID_RESOURCE_ID", location="path"), api="notifications/v1")
        return Reply(200, cert.chain_pem, content_type="application/x-pem-file")

    def _verify(self, request: web.Request, raw: bytes) -> Reply:
        _require_json(request)
        return Reply(200, {"verification_status": self.b.signer.verification_status(raw, self.b.webhook_id())})

    def _list_webhooks(self, request: web.Request, raw: bytes) -> Reply:
        base = self.b.urls().base
        return Reply(200, {"webhooks": [hook.to_api(base) for hook in self.b.webhooks.values()]})

    def _get_webhook(self, request: web.Request, raw: bytes) -> Reply:
        hook = self.b.webhooks.get(request.match_info["id"])
        if hook is None:
            raise not_found(request.match_info["id"], api="notifications/v1")
        return Reply(200, hook.to_api(self.b.urls().base))

    def _unknown(self, request: web.Request, raw: bytes) -> Reply:
        raise PayPalError(404, Issue("INVALID_RESOURCE_ID", location="path", value=request.path))

    # --- the buyer's side ----------------------------------------------------------------------

    def _checkout_page(self, request: web.Request, raw: bytes) -> Reply:
        order = self.b.ledger.orders.get(request.query.get("token", ""))
        if order is None:
            return Reply(404, "<h1>This checkout link is not valid.</h1>", "text/html")
        unit, token = order.request, html.escape(order.id)
        page = (
            f"<!doctype html><title>PayPal emulator checkout</title>"
            f"<h1>Pay {html.escape(str(unit.value))} {html.escape(unit.currency)}</h1>"
            f"<p>Order {token} is {html.escape(order.status)}.</p>"
            f'<form method="post" action="/checkoutnow/approve?token={token}"><button>Pay now</button></form>'
            f'<form method="post" action="/checkoutnow/cancel?token={token}"><button>Cancel</button></form>'
        )
        return Reply(200, page, "text/html")

    def _checkout_action(self, request: web.Request, raw: bytes) -> Reply:
        """Approve or cancel as the buyer, then redirect like PayPal (``token`` and ``PayerID``)."""
        order = self.b.ledger.orders.get(request.query.get("token", ""))
        action = request.match_info["action"]
        if order is None or action not in {"approve", "cancel"}:
            return Reply(404, "<h1>This checkout link is not valid.</h1>", "text/html")
        if action == "cancel":
            self.b.ledger.cancel(order.id)
            target, query = order.request.cancel_url, {"token": order.id}
        else:
            try:
                self.b.buyer_approves(order.id)
            except ValueError as exc:
                return Reply(409, f"<h1>{html.escape(str(exc))}</h1>", "text/html")
            payer = order.payer
            target, query = order.request.return_url, {"token": order.id, "PayerID": payer.payer_id if payer else ""}
        if not target:
            return Reply(200, f"<h1>Order {html.escape(order.id)}: {action}d.</h1>", "text/html")
        separator = "&" if "?" in target else "?"
        return Reply(303, None, headers={"Location": f"{target}{separator}{urlencode(query)}"})
