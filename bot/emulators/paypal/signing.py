"""Signing webhook transmissions as PayPal does, and answering ``verify-webhook-signature``.

The signed message is ``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw
body, unsigned decimal>``. Every signature is recorded, so the verification endpoint can say
SUCCESS only for a transmission the emulator really sent, with the event spliced in byte for byte.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from json.decoder import scanstring

from bot.emulators.paypal import ids
from bot.emulators.paypal.crypto import AUTH_ALGO, SigningCert
from bot.emulators.paypal.errors import bad_request, v1_validation_error
from bot.emulators.paypal.state import Clock

MOCK_WEBHOOK_ID = "WEBHOOK_ID"  # what PayPal's simulator signs with instead of a real webhook id
VERIFY_FIELDS = (
    "auth_algo",
    "cert_url",
    "transmission_id",
    "transmission_sig",
    "transmission_time",
    "webhook_id",
    "webhook_event",
)
_WS = re.compile(r"[ \t\n\r]*")


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()


@dataclass(frozen=True)
class Transmission:
    """One signed delivery attempt; a retry of the same event is a new transmission."""

    transmission_id: str
    transmission_time: str
    webhook_id: str
    cert_url: str
    signature: str
    body: bytes
    auth_algo: str = AUTH_ALGO

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": self.transmission_id,
            "PAYPAL-TRANSMISSION-TIME": self.transmission_time,
            "PAYPAL-TRANSMISSION-SIG": self.signature,
            "PAYPAL-CERT-URL": self.cert_url,
            "PAYPAL-AUTH-ALGO": self.auth_algo,
        }


class Signer:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.transmissions: dict[str, Transmission] = {}

    def sign(
        self,
        cert: SigningCert,
        cert_url: str,
        body: bytes,
        webhook_id: str,
        *,
        transmission_id: str | None = None,
        transmission_time: str | None = None,
        record: bool = True,
    ) -> Transmission:
        """Sign ``body``; ``record=False`` (mock events) keeps it out of verify-webhook-signature."""
        tid = transmission_id or ids.transmission_id()
        ttime = transmission_time or ids.rfc3339(self._clock())
        signature = cert.sign(signed_message(tid, ttime, webhook_id, body))
        transmission = Transmission(tid, ttime, webhook_id, cert_url, signature, body)
        if record:
            self.transmissions[tid] = transmission
        return transmission

    def verification_status(self, raw: bytes, webhook_id: str) -> str:
        """SUCCESS only when every field matches a recorded transmission and our webhook id.

        ``webhook_event`` is compared as the raw bytes found in the request, so a client that
        parsed and re-encoded the event gets FAILURE, as it does at PayPal.
        """
        try:
            text = raw.decode("utf-8")
            body = json.loads(text)
        except ValueError:
            raise bad_request("MALFORMED_REQUEST_JSON", field="/", api="notifications/v1") from None
        if not isinstance(body, dict):
            raise bad_request("MALFORMED_REQUEST_JSON", field="/", api="notifications/v1")
        missing = [name for name in VERIFY_FIELDS if body.get(name) in (None, "")]
        if missing:
            raise v1_validation_error(*missing)
        sent = self.transmissions.get(str(body["transmission_id"]))
        event_raw = member_spans(text).get("webhook_event")
        matches = (
            sent is not None
            and event_raw is not None
            and text[event_raw[0] : event_raw[1]].encode("utf-8") == sent.body.strip()
            and body["transmission_time"] == sent.transmission_time
            and body["transmission_sig"] == sent.signature
            and body["cert_url"] == sent.cert_url
            and body["auth_algo"] == sent.auth_algo
            and body["webhook_id"] == sent.webhook_id == webhook_id
        )
        return "SUCCESS" if matches else "FAILURE"


def _skip(text: str, at: int) -> int:
    match = _WS.match(text, at)
    return match.end() if match else at


def member_spans(text: str) -> dict[str, tuple[int, int]]:
    """Where each top-level member's value sits in a JSON object's text, as (start, end) offsets.

    The standard decoder parses values but forgets positions; walking the top level by hand and
    letting ``raw_decode`` measure each value recovers the exact bytes a client spliced in.
    """
    decoder = json.JSONDecoder()
    spans: dict[str, tuple[int, int]] = {}
    at = _skip(text, 0)
    if text[at : at + 1] != "{":
        return spans
    at = _skip(text, at + 1)
    while text[at : at + 1] == '"':
        key, at = scanstring(text, at + 1)
        at = _skip(text, at)
        if text[at : at + 1] != ":":
            return spans
        start = _skip(text, at + 1)
        _, end = decoder.raw_decode(text, start)
        spans[key] = (start, end)
        at = _skip(text, end)
        if text[at : at + 1] != ",":
            break
        at = _skip(text, at + 1)
    return spans
