"""What every emulator shares: an aiohttp server on a free local port, fault plans and call logs.

The Slack and Linode emulators are built on these; each keeps only its own wire format and state.
"""

from __future__ import annotations

from bot.emulators.base.faults import Fault, FaultPlan
from bot.emulators.base.recording import CallLog
from bot.emulators.base.server import EmulatorServer
from bot.emulators.base.wire import drop_connection, retry_after_header

__all__ = ["CallLog", "EmulatorServer", "Fault", "FaultPlan", "drop_connection", "retry_after_header"]
