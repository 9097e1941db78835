"""Posting signed webhooks to the bot, retrying the way PayPal does.

PayPal retries a delivery that got no 2xx; each attempt is a new transmission (new id, time and
signature) over the same body with the same event id. Storms of duplicates, shuffled order and
jitter exercise the receiver's dedupe-by-event-id and order independence.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence

import aiohttp

from bot.emulators.paypal.recording import Delivery
from bot.emulators.paypal.signing import Transmission
from bot.emulators.paypal.state import Clock

Sign = Callable[[bytes], Transmission]


class Sender:
    def __init__(self, sign: Sign, clock: Clock) -> None:
        self._sign = sign
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self.deliveries: list[Delivery] = []

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(
        self,
        url: str,
        body: bytes,
        event_id: str | None,
        *,
        headers: dict[str, str] | None = None,
        retries: int = 0,
        backoff: float = 0.05,
        timeout: float = 10.0,  # noqa: ASYNC109 - a per-attempt HTTP timeout, like PayPal's
        sign: Sign | None = None,
    ) -> list[int]:
        """POST ``body`` until a 2xx or ``retries`` extra attempts; waits ``backoff * 2**n`` between."""
        if self._session is None:
            raise RuntimeError("PayPalEmulator is not started; call await start() first")
        statuses: list[int] = []
        for attempt in range(retries + 1):
            if attempt:
                await asyncio.sleep(backoff * 2 ** (attempt - 1))
            transmission = (sign or self._sign)(body)
            sent_headers = {**transmission.headers, **(headers or {})}
            status, error = await self._post(url, body, sent_headers, timeout)
            self.deliveries.append(
                Delivery(url, event_id, transmission.transmission_id, sent_headers, body, status, self._clock(), error)
            )
            statuses.append(status)
            if 200 <= status < 300:
                break
        return statuses

    async def _post(self, url: str, body: bytes, headers: dict[str, str], seconds: float) -> tuple[int, str | None]:
        assert self._session is not None
        try:
            async with self._session.post(
                url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=seconds)
            ) as response:
                await response.read()
                return response.status, None
        except (aiohttp.ClientError, TimeoutError) as exc:
            return 0, f"{type(exc).__name__}: {exc}"

    async def deliver_many(
        self,
        url: str,
        bodies: Sequence[tuple[bytes, str | None]],
        *,
        concurrency: int = 8,
        duplicates: int = 1,
        shuffle: bool = False,
        seed: int | None = None,
        jitter: float = 0.0,
        retries: int = 0,
        backoff: float = 0.05,
    ) -> list[list[int]]:
        """Deliver every body ``duplicates`` times, ``concurrency`` at once; statuses per delivery.

        The result lines up with the schedule: each body repeated ``duplicates`` times in a row,
        then shuffled when asked. ``jitter`` sleeps up to that many seconds before each delivery.
        """
        schedule = [item for item in bodies for _ in range(duplicates)]
        rng = random.Random(seed)  # noqa: S311 - test traffic ordering, not security
        if shuffle:
            rng.shuffle(schedule)
        pauses = [rng.uniform(0, jitter) if jitter else 0.0 for _ in schedule]
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> list[int]:
            body, event_id = schedule[index]
            async with gate:
                if pauses[index]:
                    await asyncio.sleep(pauses[index])
                return await self.deliver(url, body, event_id, retries=retries, backoff=backoff)

        return list(await asyncio.gather(*(one(i) for i in range(len(schedule)))))
