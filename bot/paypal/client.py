"""A small async PayPal REST client (OAuth client credentials, Orders v2, webhook verify API).

Every mutating call carries a deterministic `PayPal-Request-Id`, so a retried create or capture
returns PayPal's first answer instead of acting twice.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import aiohttp

from bot.paypal.models import Capture, Order, Refund, is_resource_id

LIVE_URL = "https://api-m.paypal.com"
SANDBOX_URL = "https://api-m.sandbox.paypal.com"
TOKEN_MARGIN_SECONDS = 60


def default_base_url(mode: str) -> str:
    return LIVE_URL if mode == "live" else SANDBOX_URL


class PayPalError(Exception):
    """PayPal answered with an error (or could not be reached)."""

    def __init__(self, status: int, name: str, issue: str | None = None, debug_id: str | None = None) -> None:
        self.status = status
        self.name = name
        self.issue = issue
        self.debug_id = debug_id
        super().__init__(f"PayPal {status} {name}" + (f" ({issue})" if issue else ""))

    @property
    def transient(self) -> bool:
        """Worth retrying later: PayPal or the network had a problem, not our request."""
        return self.status in {0, 429} or self.status >= 500


@dataclass
class _Token:
    value: str
    expires_at: float


class PayPalClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout_seconds: float = 15.0,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    # -- plumbing -------------------------------------------------------------------------------

    async def _access_token(self, *, refresh: bool = False) -> str:
        async with self._token_lock:
            if self._token and not refresh and self._token.expires_at > time.monotonic():
                return self._token.value
            basic = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode()).decode()
            status, body = await self._send(
                "POST",
                "/v1/oauth2/token",
                data=b"grant_type=client_credentials",
                headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"},
            )
            if status != 200 or "access_token" not in body:
                raise PayPalError(status, str(body.get("error") or "AUTHENTICATION_FAILURE"))
            lifetime = max(0.0, float(body.get("expires_in", 0)) - TOKEN_MARGIN_SECONDS)
            self._token = _Token(str(body["access_token"]), time.monotonic() + lifetime)
            return self._token.value

    async def _send(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        try:
            async with self._session.request(
                method, self._base + path, data=data, headers=headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                body = json.loads(text) if text.strip() else {}
                return response.status, body if isinstance(body, dict) else {"value": body}
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
            raise PayPalError(0, f"NETWORK_ERROR: {type(exc).__name__}") from exc

    async def _call(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | bytes | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """An authenticated JSON call; a 401 fetches a fresh token once."""
        raw = payload if isinstance(payload, bytes) else (json.dumps(payload).encode() if payload is not None else None)
        for attempt in (0, 1):
            token = await self._access_token(refresh=attempt == 1)
            all_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})}
            status, body = await self._send(method, path, data=raw, headers=all_headers)
            if status != 401:
                return status, body
        return status, body

    @staticmethod
    def _raise_for(status: int, body: dict[str, Any]) -> None:
        if status >= 400:
            details = body.get("details") or [{}]
            issue = details[0].get("issue") if isinstance(details[0], dict) else None
            raise PayPalError(status, str(body.get("name") or "UNKNOWN_ERROR"), issue, body.get("debug_id"))

    # -- Orders v2 ------------------------------------------------------------------------------

    async def create_order(
        self,
        *,
        request_id: str,
        amount: Decimal,
        currency: str,
        custom_id: str,
        invoice_id: str,
        description: str,
        brand_name: str,
        return_url: str,
        cancel_url: str,
    ) -> Order:
        payload = {
            "intent": "CAPTURE",
            "purchase_units": [
                {
                    "amount": {"currency_code": currency, "value": f"{amount:.2f}"},
                    "custom_id": custom_id,
                    "invoice_id": invoice_id,
                    "description": description[:127],
                }
            ],
            "payment_source": {
                "paypal": {
                    "experience_context": {
                        "brand_name": brand_name[:127],
                        "shipping_preference": "NO_SHIPPING",
                        "user_action": "PAY_NOW",
                        "return_url": return_url,
                        "cancel_url": cancel_url,
                    }
                }
            },
        }
        headers = {"PayPal-Request-Id": request_id, "Prefer": "return=representation"}
        status, body = await self._call("POST", "/v2/checkout/orders", payload, headers=headers)
        self._raise_for(status, body)
        return Order.parse(body)

    async def _get(self, path: str) -> dict[str, Any]:
        status, body = await self._call("GET", path)
        self._raise_for(status, body)
        return body

    async def get_order(self, order_id: str) -> Order:
        return Order.parse(await self._get(f"/v2/checkout/orders/{_safe_id(order_id)}"))

    async def capture_order(self, order_id: str, *, request_id: str) -> Order:
        """Capture an approved order; if it was already captured, return its current state."""
        headers = {"PayPal-Request-Id": request_id, "Prefer": "return=representation"}
        status, body = await self._call(
            "POST", f"/v2/checkout/orders/{_safe_id(order_id)}/capture", {}, headers=headers
        )
        try:
            self._raise_for(status, body)
        except PayPalError as error:
            if error.issue == "ORDER_ALREADY_CAPTURED":
                return await self.get_order(order_id)
            raise
        return Order.parse(body)

    # -- Payments v2: PayPal's own copy of what a webhook names -----------------------------------

    async def get_capture(self, capture_id: str) -> Capture:
        """A capture with `supplementary_data.related_ids.order_id`: the order it belongs to."""
        return Capture.parse(await self._get(f"/v2/payments/captures/{_safe_id(capture_id)}"))

    async def get_refund(self, refund_id: str) -> Refund:
        """A refund (also what PAYMENT.CAPTURE.REVERSED names); its capture is `links[rel=up]`."""
        return Refund.parse(await self._get(f"/v2/payments/refunds/{_safe_id(refund_id)}"))

    # -- Webhooks -------------------------------------------------------------------------------

    async def verify_webhook_signature(self, *, headers: dict[str, str], raw_body: bytes, webhook_id: str) -> bool:
        """PayPal's verify API; the event is spliced in as the raw bytes received (never re-encoded)."""
        fields = {
            "auth_algo": headers.get("paypal-auth-algo", ""),
            "cert_url": headers.get("paypal-cert-url", ""),
            "transmission_id": headers.get("paypal-transmission-id", ""),
            "transmission_sig": headers.get("paypal-transmission-sig", ""),
            "transmission_time": headers.get("paypal-transmission-time", ""),
            "webhook_id": webhook_id,
        }
        prefix = json.dumps(fields)[:-1].encode()
        payload = prefix + b', "webhook_event": ' + raw_body + b"}"
        status, body = await self._call("POST", "/v1/notifications/verify-webhook-signature", payload)
        self._raise_for(status, body)
        return body.get("verification_status") == "SUCCESS"

    # -- Checks (`csbot doctor`) ------------------------------------------------------------------

    async def check_credentials(self) -> None:
        """Ask PayPal for a fresh access token; raises `PayPalError` when the credentials are refused."""
        await self._access_token(refresh=True)

    async def webhook(self, webhook_id: str) -> dict[str, Any]:
        """The webhook subscription `webhook_id` of this REST app (`id`, `url`, `event_types`)."""
        status, body = await self._call("GET", f"/v1/notifications/webhooks/{_safe_id(webhook_id)}")
        self._raise_for(status, body)
        return body


def _safe_id(value: str) -> str:
    """Resource ids are ASCII alphanumerics; refuse anything that could change the path."""
    if not is_resource_id(value):
        raise PayPalError(400, "INVALID_RESOURCE_ID")
    return value
