"""Identifiers and timestamps in PayPal's formats.

Clients validate or log these (order ids in URLs, ``WH-`` event ids as dedupe keys, RFC 3339
times), so the emulator produces the same shapes rather than arbitrary strings.
"""

from __future__ import annotations

import secrets
import string
import uuid
from datetime import UTC, datetime

_ALNUM = string.ascii_uppercase + string.digits


def resource_id(length: int = 17) -> str:
    """An order, capture or refund id: 17 uppercase alphanumerics, e.g. ``5O190127TN364715T``."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def event_id() -> str:
    """A webhook event id, e.g. ``WH-7Y7254563A4550640-11V2185806837105M``."""
    return f"WH-{resource_id()}-{resource_id()}"


def dispute_id() -> str:
    return f"PP-D-{secrets.randbelow(90000) + 10000}"


def payer_id() -> str:
    return resource_id(13)


def debug_id() -> str:
    """PayPal's correlation id for support requests, a short hex string."""
    return secrets.token_hex(7)[:13]


def transmission_id() -> str:
    return str(uuid.uuid4())


def cert_id() -> str:
    """A certificate id like ``CERT-360caa42-fca2a594-a5cafa77``."""
    return "CERT-" + "-".join(secrets.token_hex(4) for _ in range(3))


def rfc3339(at: float) -> str:
    """Resource timestamps: whole seconds in UTC, ``2022-08-26T18:29:50Z``."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_millis(at: float) -> str:
    """Event envelope timestamps carry milliseconds, ``2018-08-15T19:14:04.543Z``."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
