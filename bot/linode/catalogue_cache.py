"""Single-flight, time-bounded memory of Linode catalogue reads (regions, images, StackScripts).

The create modal needs the catalogue every time it opens, and every Linode call runs in the
gateway's one worker thread: without this, a slow Linode (seconds per call) would queue one
catalogue read per open modal in front of everyone's power actions. With it, concurrent modals
share one in-flight read and later ones reuse the answer until it is `ttl_seconds` old. Failures
are never remembered, so the next modal tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class CatalogueCache:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, asyncio.Future[Any]]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        """The remembered answer for `key`, or the one in flight, or a new `load()`."""
        entry = self._entries.get(key)
        if entry is None or self._stale(entry):
            entry = (self._clock(), asyncio.ensure_future(load()))
            self._entries[key] = entry
        # Shielded: a caller that gives up (timeout, cancelled listener) must not cancel the shared read.
        return await asyncio.shield(entry[1])

    def clear(self) -> None:
        self._entries.clear()

    def _stale(self, entry: tuple[float, asyncio.Future[Any]]) -> bool:
        started, future = entry
        if not future.done():
            return False
        if future.cancelled() or future.exception() is not None:
            return True
        return self._clock() - started > self.ttl_seconds
