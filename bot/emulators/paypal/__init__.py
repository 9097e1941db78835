"""An in-process PayPal for tests and the sandbox: REST emulator plus a PayPal-exact webhook sender."""

from __future__ import annotations

from bot.emulators.paypal.emulator import PayPalEmulator
from bot.emulators.paypal.recording import Call, Delivery
from bot.emulators.paypal.signing import Transmission, signed_message

__all__ = ["Call", "Delivery", "PayPalEmulator", "Transmission", "signed_message"]
