"""``/v1/oauth2/token`` and the Bearer check on every other API call.

Tokens expire on the injected clock, so a client's "cache until just before expiry, refetch once
on 401" logic is exercised without sleeping.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from bot.emulators.paypal.errors import Issue, PayPalError, oauth_error
from bot.emulators.paypal.ids import rfc3339
from bot.emulators.paypal.state import Clock

SCOPES = " ".join(
    [
        "https://uri.paypal.com/services/payments/refund",
        "https://uri.paypal.com/services/applications/webhooks",
        "https://uri.paypal.com/services/payments/payment/authcode",
        "https://uri.paypal.com/services/payments/realtimepayment",
        "https://uri.paypal.com/services/disputes/read-seller",
        "https://uri.paypal.com/services/payments/orders/client_sdk_orders_api",
        "https://uri.paypal.com/services/disputes/update-seller",
        "openid",
    ]
)
APP_ID = "APP-80W284485P519543T"


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


class TokenBook:
    def __init__(self, credentials: Credentials, clock: Clock, ttl: int) -> None:
        self.credentials = credentials
        self.ttl = ttl
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self, authorization: str | None, content_type: str, raw: bytes) -> dict[str, Any]:
        """Client credentials grant: HTTP Basic ``client_id:secret`` and ``grant_type`` in a form."""
        if not self._basic_matches(authorization):
            raise oauth_error(401, "invalid_client", "Client Authentication failed")
        form = parse_qs(raw.decode("utf-8", "replace")) if content_type == "application/x-www-form-urlencoded" else {}
        grant = form.get("grant_type", [None])[0]
        if grant is None:
            raise oauth_error(400, "unsupported_grant_type", "Grant Type is NULL")
        if grant != "client_credentials":
            raise oauth_error(400, "unsupported_grant_type", f"unsupported grant_type: {grant}")
        now = self._clock()
        token = "A21AA" + secrets.token_urlsafe(64)
        self._expiry[token] = now + self.ttl
        return {
            "scope": SCOPES,
            "access_token": token,
            "token_type": "Bearer",
            "app_id": APP_ID,
            "expires_in": self.ttl,
            "nonce": rfc3339(now) + secrets.token_urlsafe(32),
        }

    def _basic_matches(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, secret = decoded.partition(":")
        expected = f"{self.credentials.client_id}:{self.credentials.client_secret}"
        return secrets.compare_digest(f"{client_id}:{secret}", expected)

    def check(self, authorization: str | None) -> None:
        """Raise PayPal's 401 unless ``authorization`` is a live Bearer token."""
        if not authorization or not authorization.startswith("Bearer "):
            raise self._failure("MISSING_AUTHORIZATION")
        expiry = self._expiry.get(authorization[7:].strip())
        if expiry is None:
            raise self._failure("INVALID_TOKEN")
        if self._clock() >= expiry:
            raise self._failure("TOKEN_EXPIRED")

    def revoke_all(self) -> None:
        self._expiry.clear()

    @staticmethod
    def _failure(issue: str) -> PayPalError:
        return PayPalError(401, Issue(issue, field="Authorization", location="header"), api="rest/authentication")
