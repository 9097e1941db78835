"""The emulator's webhook API: build events from its own state, serialise, sign and deliver them.

Kept apart from the HTTP server so the sending side of PayPal reads as one piece: an event is
built (``event_*``), turned into the exact bytes (``serialize``), signed per attempt (``sign``) and
POSTed with PayPal's retry behaviour (``deliver``/``deliver_many``).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from bot.emulators.paypal.crypto import SigningCert
from bot.emulators.paypal.delivery import Sender
from bot.emulators.paypal.events import EventBuilder, serialize
from bot.emulators.paypal.forgery import PLACEHOLDER, forge
from bot.emulators.paypal.signing import MOCK_WEBHOOK_ID, Signer, Transmission

Event = dict[str, Any]


class Signed(Protocol):
    """A genuine transmission: a ``Delivery`` the emulator sent, or a ``Transmission`` it signed."""

    @property
    def body(self) -> bytes: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


def _body_and_id(event_or_body: Event | bytes) -> tuple[bytes, str | None]:
    if isinstance(event_or_body, bytes | bytearray):
        body = bytes(event_or_body)
        try:
            parsed = json.loads(body)
        except ValueError:
            return body, None
        return body, parsed.get("id") if isinstance(parsed, dict) else None
    return serialize(event_or_body), event_or_body.get("id")


class WebhookMethods(ABC):
    """Mixed into ``PayPalEmulator``; builders read the emulator's ledger so ids and amounts agree."""

    webhook_id: str

    @abstractmethod
    def _events_builder(self) -> EventBuilder: ...

    @abstractmethod
    def _delivery(self) -> Sender: ...

    @abstractmethod
    def _signer_and_cert(self) -> tuple[Signer, SigningCert, str]: ...

    @abstractmethod
    def _sign_mock(self, body: bytes) -> Transmission: ...

    # --- building ------------------------------------------------------------------------------

    def build_event(
        self,
        event_type: str,
        resource: dict[str, Any],
        *,
        event_id: str | None = None,
        resource_type: str | None = None,
        summary: str | None = None,
        resource_version: str = "2.0",
    ) -> Event:
        """PayPal's envelope: id (``WH-…``), create_time, resource_type, event_type, summary,
        event_version "1.0", resource_version, resource, links self/resend."""
        return self._events_builder().build_event(
            event_type,
            resource,
            event_id=event_id,
            resource_type=resource_type,
            summary=summary,
            resource_version=resource_version,
        )

    def event_order_approved(self, order_id: str) -> Event:
        return self._events_builder().order_approved(order_id)

    def event_approval_reversed(self, order_id: str) -> Event:
        return self._events_builder().approval_reversed(order_id)

    def event_capture_completed(self, capture_id: str) -> Event:
        return self._events_builder().capture_event("PAYMENT.CAPTURE.COMPLETED", capture_id, "completed")

    def event_capture_pending(self, capture_id: str) -> Event:
        return self._events_builder().capture_event("PAYMENT.CAPTURE.PENDING", capture_id, "pending")

    def event_capture_denied(self, capture_id: str) -> Event:
        return self._events_builder().capture_event("PAYMENT.CAPTURE.DENIED", capture_id, "denied")

    def event_capture_declined(self, capture_id: str) -> Event:
        return self._events_builder().capture_event("PAYMENT.CAPTURE.DECLINED", capture_id, "declined")

    def event_capture_refunded(self, refund: dict[str, Any] | str) -> Event:
        """``refund`` is a refund resource (as ``refund()`` returns) or its id."""
        return self._events_builder().refund_event("PAYMENT.CAPTURE.REFUNDED", refund, "refunded")

    def event_capture_reversed(self, refund: dict[str, Any] | str) -> Event:
        return self._events_builder().refund_event("PAYMENT.CAPTURE.REVERSED", refund, "reversed")

    def event_dispute_created(self, dispute: dict[str, Any] | str) -> Event:
        return self._events_builder().dispute_created(dispute)

    # --- wire ----------------------------------------------------------------------------------

    @staticmethod
    def serialize(event: Event) -> bytes:
        """The exact bytes PayPal would send: non-canonical whitespace, ``\\/`` escapes, UTF-8."""
        return serialize(event)

    def sign(
        self,
        body: bytes,
        *,
        transmission_id: str | None = None,
        transmission_time: str | None = None,
        webhook_id: str | None = None,
        mock: bool = False,
    ) -> dict[str, str]:
        """Headers for one transmission of ``body``, recorded for verify-webhook-signature.

        ``mock=True`` signs like PayPal's simulator (webhook id ``WEBHOOK_ID``) and is never
        recorded, so verify-webhook-signature answers FAILURE for it.
        """
        signer, cert, cert_url = self._signer_and_cert()
        transmission = signer.sign(
            cert,
            cert_url,
            body,
            MOCK_WEBHOOK_ID if mock else webhook_id or self.webhook_id,
            transmission_id=transmission_id,
            transmission_time=transmission_time,
            record=not mock,
        )
        return transmission.headers

    def forged_replay(self, genuine: Signed, event: Event) -> tuple[bytes, dict[str, str]]:
        """What an attacker holding one genuine transmission can send: ``event`` serialised as PayPal
        would, ten characters of its ``summary`` chosen so the bytes have the genuine body's CRC32,
        and the genuine headers byte for byte. PayPal's signature verifies it; only the receiver's
        own checks (transmission ids, PayPal's copy of the resource) can refuse it."""
        summary = f"{event.get('summary') or event.get('event_type')} {PLACEHOLDER.decode()}"
        return forge(genuine.body, serialize({**event, "summary": summary})), dict(genuine.headers)

    async def deliver(
        self,
        url: str,
        event_or_body: Event | bytes,
        *,
        headers: dict[str, str] | None = None,
        retries: int = 0,
        backoff: float = 0.05,
        mock: bool = False,
        timeout: float = 10.0,  # noqa: ASYNC109 - a per-attempt HTTP timeout, like PayPal's
    ) -> list[int]:
        """POST the event's exact bytes to ``url``; retry non-2xx ``retries`` times, each attempt a
        new transmission (id, time, signature) of the same body. Returns each attempt's status,
        0 when there was no HTTP answer. ``headers`` override the signed ones (e.g. to tamper)."""
        body, event_id = _body_and_id(event_or_body)
        return await self._delivery().deliver(
            url,
            body,
            event_id,
            headers=headers,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            sign=self._sign_mock if mock else None,
        )

    async def deliver_many(
        self,
        url: str,
        events: Iterable[Event | bytes],
        *,
        concurrency: int = 8,
        duplicates: int = 1,
        shuffle: bool = False,
        seed: int | None = None,
        jitter: float = 0.0,
        retries: int = 0,
        backoff: float = 0.05,
    ) -> list[list[int]]:
        """A storm: every event ``duplicates`` times (same event id, new transmissions), optionally
        shuffled and jittered, ``concurrency`` in flight. Statuses per delivery, in schedule order."""
        return await self._delivery().deliver_many(
            url,
            [_body_and_id(event) for event in events],
            concurrency=concurrency,
            duplicates=duplicates,
            shuffle=shuffle,
            seed=seed,
            jitter=jitter,
            retries=retries,
            backoff=backoff,
        )
