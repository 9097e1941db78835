"""Refusing replayed PayPal deliveries before anything is stored.

PayPal signs `transmission id|transmission time|webhook id|CRC32(body)`. CRC32 is not a hash an
attacker must respect: a genuine delivery's headers (readable wherever raw deliveries are kept)
verify any other body patched to the same CRC32. Two checks take that replay away:

* the transmission time, which is signed, must lie within `PAYPAL_WEBHOOK_MAX_AGE_SECONDS` of the
  arrival, before or after, so old headers are worthless;
* within that window, a transmission id is bound to the SHA-256 of the first body it came with
  (`bot_paypal_transmissions`, written in the same statement as the event), so the same headers
  with another body are refused.

PayPal's own retries are new transmissions (new id, time and signature) of the same event id, so
both checks let them through; an exact re-send of the same bytes is a harmless duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from bot.db.paypal_events import Transmission
from bot.paypal.verify import InvalidWebhook

#: Longer than any transmission id PayPal sends (UUIDs); the column is VARCHAR(128).
MAX_TRANSMISSION_ID = 128
#: RFC 3339 with fractions and an offset stays well below this; longer input is not a time.
MAX_TIME_TEXT = 40


def transmission_of(headers: Mapping[str, str], body: bytes, *, now: datetime, max_age_seconds: int) -> Transmission:
    """The delivery's transmission (id, signed time, body digest) if its time is within the window.

    `headers` are lower-cased. Raises `InvalidWebhook` (400, nothing stored) for a missing or
    malformed id or time, and for a time further than `max_age_seconds` from `now` either way.
    """
    transmission_id = headers.get("paypal-transmission-id", "")
    if not transmission_id or len(transmission_id) > MAX_TRANSMISSION_ID:
        raise InvalidWebhook("transmission id missing or too long")
    sent_at = parse_transmission_time(headers.get("paypal-transmission-time", ""))
    if abs(now - sent_at) > timedelta(seconds=max_age_seconds):
        raise InvalidWebhook(f"transmission time {sent_at.isoformat()} is outside the {max_age_seconds}s window")
    return Transmission(transmission_id, sent_at, hashlib.sha256(body).digest())


def parse_transmission_time(value: str) -> datetime:
    """PayPal's RFC 3339 time (`2016-02-18T20:01:35Z`, fractions allowed); it must carry a zone."""
    if not value or len(value) > MAX_TIME_TEXT or not value.isascii():
        raise InvalidWebhook("transmission time missing or malformed")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidWebhook("transmission time is not RFC 3339") from exc
    if parsed.tzinfo is None or "T" not in value.upper():
        raise InvalidWebhook("transmission time has no date, time and zone")
    return parsed.astimezone(UTC)
