"""Slack's v0 request signing, and the request shape the inbound builders produce.

Kept apart from the builders so the negative cases (tampered body, foreign signature) are plain
functions any test can apply to any request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
STALE_AFTER_SECONDS = 300


AnswerHook = Callable[["SignedRequest", int, str], object]


@dataclass(frozen=True)
class SignedRequest:
    """Raw body and headers of one inbound request; hand them to any HTTP transport.

    ``on_answer`` is Slack's side of the exchange: whoever sends the request passes the bot's HTTP
    answer to ``answered`` so the emulator can hold it to Slack's rules, as Slack would.
    """

    body: bytes
    headers: dict[str, str]
    content_type: str
    on_answer: AnswerHook | None = field(default=None, compare=False, repr=False)

    def answered(self, status: int, body: str) -> None:
        """Hand the bot's answer to the emulator that issued this request (if any)."""
        if self.on_answer is not None:
            self.on_answer(self, status, body)

    @property
    def timestamp(self) -> int:
        return int(self.headers[TIMESTAMP_HEADER])

    @property
    def signature(self) -> str:
        return self.headers[SIGNATURE_HEADER]

    def payload(self) -> dict[str, Any]:
        """The decoded content: the JSON envelope, the interactive ``payload`` or the flat form."""
        text = self.body.decode()
        if self.content_type == JSON_CONTENT_TYPE:
            return json.loads(text)
        fields = dict(parse_qsl(text, keep_blank_values=True))
        return json.loads(fields["payload"]) if "payload" in fields else fields


def sign(signing_secret: str, body: bytes, timestamp: int) -> str:
    """Slack's v0 signature: HMAC-SHA256 over ``v0:<timestamp>:<raw body>``."""
    message = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), message, hashlib.sha256).hexdigest()


def tamper(req: SignedRequest) -> SignedRequest:
    """Change one body byte but keep the old signature, as a man in the middle would."""
    body = bytearray(req.body)
    index = max(i for i, byte in enumerate(body) if chr(byte).isalnum())
    body[index] = ord("y") if body[index] == ord("x") else ord("x")
    return replace(req, body=bytes(body))


def with_signature(req: SignedRequest, signature: str) -> SignedRequest:
    return replace(req, headers={**req.headers, SIGNATURE_HEADER: signature})
