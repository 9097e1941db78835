"""An in-process Linode API v4 for tests and the sandbox, driven by the real linode-api4 SDK."""

from __future__ import annotations

from bot.emulators.linode.recording import Call
from bot.emulators.linode.routes import ROUTE_KEYS
from bot.emulators.linode.server import LinodeEmulator
from bot.emulators.linode.state import RESIZE_STATUS, STATUSES
from bot.emulators.linode.validation import LABEL_NOT_UNIQUE, WEAK_PASSWORD
from bot.emulators.linode.wire import FakeClock, api_time

__all__ = [
    "LABEL_NOT_UNIQUE",
    "RESIZE_STATUS",
    "ROUTE_KEYS",
    "STATUSES",
    "WEAK_PASSWORD",
    "Call",
    "FakeClock",
    "LinodeEmulator",
    "api_time",
]
