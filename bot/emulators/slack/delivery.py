"""Events the emulated Slack itself sends to the app: ``tokens_revoked`` and ``app_uninstalled``.

They are built by the same ``SlackRequestFactory`` the tests use (so they are really signed) and
POSTed to the app's event URL in the background, as Slack sends them after the fact; every attempt
is recorded with the app's answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.emulators.slack.signing import SignedRequest

DELIVERY_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class EventDelivery:
    """One POST of a Slack-originated event; status 0: not delivered (no event URL or no connection)."""

    event_type: str
    team_id: str | None
    enterprise_id: str | None
    payload: dict[str, Any]
    status: int
    body: str


class EventSender:
    """Background deliveries, so a sync ``uninstall()`` in a test can still send over HTTP."""

    def __init__(self) -> None:
        self.deliveries: list[EventDelivery] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, url: str | None, request: SignedRequest) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside an event loop: nothing can be sent
            loop, url = None, None
        if loop is None:
            asyncio.run(self._post(None, request))
            return
        task = loop.create_task(self._post(url, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str | None, request: SignedRequest) -> None:
        payload = request.payload()
        status, body = 0, "no event URL configured"
        if url is not None:
            try:
                timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_SECONDS)
                async with (
                    aiohttp.ClientSession(timeout=timeout) as session,
                    session.post(url, data=request.body, headers=request.headers) as response,
                ):
                    status, body = response.status, await response.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                body = f"not delivered: {type(exc).__name__}"
        event_type = payload["event"]["type"]
        team_id, enterprise_id = payload.get("team_id"), payload.get("enterprise_id")
        self.deliveries.append(EventDelivery(event_type, team_id, enterprise_id, payload, status, body))

    async def drain(self) -> None:
        """Wait for every delivery started so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
