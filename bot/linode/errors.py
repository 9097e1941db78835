"""Linode failures sorted into a closed set of categories, each with a friendly message.

``ApiError`` from linode-api4 and transport failures are translated at the gateway boundary, so
services and handlers only ever see ``LinodeError``.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from bot.errors import BotError

log = logging.getLogger(__name__)

LABEL_NOT_UNIQUE = "Label must be unique among your linodes"


class LinodeFailure(enum.Enum):
    VALIDATION = "validation"  # 400: the request was refused, often naming a field
    AUTH = "auth"  # 401/403: our token is wrong or lacks a scope; staff must fix configuration
    NOT_FOUND = "not_found"  # 404: the server (or IP) is gone at Linode
    RATE_LIMITED = "rate_limited"  # 429: back off and retry later
    UNAVAILABLE = "unavailable"  # 5xx, timeouts, connection errors: transient
    NOT_CONFIGURED = "not_configured"  # no token in settings nor an active provider row


FRIENDLY = {
    LinodeFailure.VALIDATION: "Linode refused the request: {reasons}",
    LinodeFailure.AUTH: (
        "The server provider rejected our credentials. Staff have been alerted; please try again later."
    ),
    LinodeFailure.NOT_FOUND: "That server no longer exists at the provider.",
    LinodeFailure.RATE_LIMITED: "The server provider is busy right now. Please try again in a minute.",
    LinodeFailure.UNAVAILABLE: "The server provider did not answer in time. Please try again in a few minutes.",
    LinodeFailure.NOT_CONFIGURED: "Servers are not available yet: the Linode account is not configured.",
}


class LinodeError(BotError):
    """The server provider could not do that."""

    def __init__(
        self,
        category: LinodeFailure,
        *,
        status: int | None = None,
        reasons: tuple[str, ...] = (),
        field: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.category = category
        self.status = status
        self.reasons = reasons
        self.field = field
        self.retry_after = retry_after
        super().__init__(FRIENDLY[category].format(reasons="; ".join(reasons) or "invalid request"))

    @property
    def transient(self) -> bool:
        return self.category in (LinodeFailure.RATE_LIMITED, LinodeFailure.UNAVAILABLE)

    @property
    def label_taken(self) -> bool:
        return self.category is LinodeFailure.VALIDATION and any(LABEL_NOT_UNIQUE in r for r in self.reasons)


def from_api_error(status: int, body: Any, reasons: list[str] | None = None) -> LinodeError:
    """Classify an HTTP error answer from Linode (``ApiError.status`` and ``.json``)."""
    errors = body.get("errors", []) if isinstance(body, dict) else []
    found = tuple(str(e.get("reason", "")) for e in errors if isinstance(e, dict)) or tuple(reasons or ())
    field = next((str(e["field"]) for e in errors if isinstance(e, dict) and e.get("field")), None)
    if status in (401, 403):
        category = LinodeFailure.AUTH
    elif status == 404:
        category = LinodeFailure.NOT_FOUND
    elif status == 429:
        category = LinodeFailure.RATE_LIMITED
    elif 400 <= status < 500:
        category = LinodeFailure.VALIDATION
    else:
        category = LinodeFailure.UNAVAILABLE
        if status < 500:
            log.warning("linode.unknown_status", extra={"status": status})
    return LinodeError(category, status=status, reasons=found, field=field)
