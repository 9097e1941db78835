"""``CallLog``: the requests an emulator answered, in order, with filters and waiting.

Tests assert on this traffic rather than on the bot's internals: the bot keeps working after it has
answered, and only what reached the provider shows what really happened.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Generic, TypeVar

C = TypeVar("C")

#: How long a wait for recorded calls gives up after: generous, since it returns as soon as the calls
#: arrived and only a failing test waits it out (tests share a loaded machine on several workers).
WAIT_TIMEOUT = 30.0


class CallLog(list[C], Generic[C]):
    """A plain list of recorded calls that also knows each call's key and how to describe it."""

    def __init__(self, key: Callable[[C], str], describe: Callable[[C], str]) -> None:
        super().__init__()
        self._key = key
        self._describe = describe

    def to(self, key: str) -> list[C]:
        """The calls recorded under ``key`` (a method name or route key), oldest first."""
        return [call for call in self if self._key(call) == key]

    async def wait_for(
        self,
        key: str,
        count: int,
        timeout: float,  # noqa: ASYNC109 - a deadline for polling recorded calls, not for I/O
        match: Callable[[C], bool],
        *,
        wanted: str = "call(s)",
    ) -> list[C]:
        """Wait until ``count`` calls under ``key`` satisfy ``match``; fail with a readable summary."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matched = [call for call in self.to(key) if match(call)]
            if len(matched) >= count:
                return matched
            if loop.time() >= deadline:
                raise AssertionError(self.summary(key, count, timeout, len(matched), wanted))
            await asyncio.sleep(0.01)

    def summary(self, key: str, count: int, timeout: float, matched: int, wanted: str = "call(s)") -> str:
        """What did arrive, for the message of a ``wait_for`` that gave up."""
        lines = [f"expected {count} {wanted} to {key} within {timeout}s, {matched} matched"]
        lines.extend(f"  {self._describe(call)}" for call in self.to(key))
        totals = Counter(self._key(call) for call in self)
        lines.append("all calls: " + (", ".join(f"{k}×{n}" for k, n in totals.items()) or "none"))
        return "\n".join(lines)
