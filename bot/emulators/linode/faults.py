"""Linode's injected failures: a status with Linode's error body, optionally after the real effect.

Faults are queued per route key in a shared ``FaultPlan``. ``after_effect`` faults let the action
happen first and then lie about it, which is how a real 502 on a create that did create the server
looks to a retrying client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.emulators.base import Fault

_DEFAULT_REASONS = {
    400: "Invalid request",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class LinodeFault(Fault):
    """A base fault answered with ``body`` (default: Linode's ``errors`` list for the status)."""

    status: int = 500
    body: dict[str, Any] | None = None
    after_effect: bool = False

    def answer(self) -> dict[str, Any]:
        if self.body is not None:
            return self.body
        return {"errors": [{"reason": _DEFAULT_REASONS.get(self.status, "Error")}]}
