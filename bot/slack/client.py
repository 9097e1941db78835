"""Slack Web API clients built from settings (the base URL is injectable so emulators work)."""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

REQUEST_TIMEOUT_SECONDS = 10


def interactive_client(token: str, base_url: str, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """For work done while a user waits: retries connection errors, 429 (Retry-After) and 5xx.

    Pass the process's `session`: without one, slack-sdk opens a new connection (and TLS handshake)
    for every API call, which is most of the time a `views.open` before an ack takes.
    """
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,
        timeout=REQUEST_TIMEOUT_SECONDS,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def outbox_client(token: str, base_url: str, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """For the outbox worker: no in-call retries, because the worker reschedules durably instead
    of sleeping on a 429 while other channels wait."""
    return AsyncWebClient(
        token=token, base_url=base_url, session=session, timeout=REQUEST_TIMEOUT_SECONDS, retry_handlers=[]
    )
