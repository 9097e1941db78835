"""PayPal over plain REST with aiohttp: Orders v2 client and offline webhook verification."""

from __future__ import annotations
