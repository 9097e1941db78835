"""Receiving PayPal webhooks: refuse stale transmissions, verify the raw bytes (offline by default, or
via PayPal's API), then store the event before answering, so nothing PayPal told us can be lost.

A transmission id that already came with another body is refused here too (see
`bot.services.paypal_replay`). What is stored is only a notification: the inbox worker applies
PayPal's own copy of the resource, never the body.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

import asyncpg

from bot.db import paypal_events as inbox_db
from bot.db.paypal_events import Stored
from bot.paypal.client import PayPalError
from bot.paypal.models import MalformedResource, is_resource_id
from bot.paypal.verify import CertificateUnavailable, InvalidWebhook
from bot.services.container import Services
from bot.services.paypal_events import is_handled, parse_envelope
from bot.services.paypal_replay import transmission_of

log = logging.getLogger(__name__)

#: Headers kept with the raw event (everything PayPal signs or that helps an investigation).
KEPT_HEADERS = ("paypal-", "content-type", "user-agent")


class Receipt(enum.Enum):
    STORED = 200
    DUPLICATE = 200
    INVALID = 400
    UNAVAILABLE = 503


async def _verify(services: Services, headers: Mapping[str, str], body: bytes) -> None:
    settings = services.settings
    if services.webhook_verifier is None:
        raise InvalidWebhook("PAYPAL_WEBHOOK_ID is not configured")
    if settings.paypal_webhook_verification == "offline":
        await services.webhook_verifier.verify(headers, body)
        return
    if services.paypal is None or not settings.paypal_webhook_id:
        raise InvalidWebhook("verify-API mode needs PayPal credentials")
    try:
        verified = await services.paypal.verify_webhook_signature(
            headers=dict(headers), raw_body=body, webhook_id=settings.paypal_webhook_id
        )
    except PayPalError as error:
        if error.transient:
            raise CertificateUnavailable(f"verify API unavailable: {error}") from error
        raise InvalidWebhook(f"verify API refused: {error}") from error
    if not verified:
        raise InvalidWebhook("PayPal's verify API answered FAILURE")


def _printable(value: str) -> str:
    """A header value as jsonb can hold it: bytes that were not UTF-8 (kept by aiohttp as lone
    surrogates, which PostgreSQL refuses, turning every redelivery into a 503) become escapes."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


async def receive(services: Services, headers: Mapping[str, str], body: bytes, *, remote: str | None) -> Receipt:
    """Verify, then store; invalid requests store nothing and get 400; storage trouble gets 503."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        transmission = transmission_of(
            lowered, body, now=datetime.now(UTC), max_age_seconds=services.settings.paypal_webhook_max_age_seconds
        )
        await _verify(services, lowered, body)
        event = parse_envelope(body)
    except CertificateUnavailable as exc:
        log.warning("paypal.webhook.unverifiable", extra={"reason": str(exc), "remote": remote})
        return Receipt.UNAVAILABLE
    except (InvalidWebhook, MalformedResource) as exc:
        log.warning("paypal.webhook.rejected", extra={"reason": str(exc), "remote": remote})
        return Receipt.INVALID
    kept = {k: _printable(v) for k, v in lowered.items() if k.startswith(KEPT_HEADERS)}
    resource_id = event.resource.get("id")  # informative only (staff views); kept when PayPal-shaped
    try:
        stored = await inbox_db.store(
            services.pool,
            event_id=event.event_id,
            event_type=event.event_type,
            resource_id=resource_id if is_resource_id(resource_id) else None,
            raw_body=body,
            headers=kept,
            transmission=transmission,
            handled=is_handled(event.event_type),
        )
    except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, TimeoutError) as exc:
        # InternalClientError: a pooled connection the server dropped mid-operation (a restart).
        log.error("paypal.webhook.store_failed", extra={"event_id": event.event_id, "error": type(exc).__name__})
        return Receipt.UNAVAILABLE
    if stored is Stored.REUSED_TRANSMISSION:
        log.warning(
            "paypal.webhook.rejected",
            extra={"reason": "transmission id already seen with another body", "remote": remote},
        )
        return Receipt.INVALID
    log.info(
        "paypal.webhook.stored" if stored is Stored.NEW else "paypal.webhook.duplicate",
        extra={"event_id": event.event_id, "event_type": event.event_type},
    )
    return Receipt.STORED if stored is Stored.NEW else Receipt.DUPLICATE
