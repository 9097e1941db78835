"""Construction of the Bolt app (listeners are registered by `handlers.register_listeners`)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build_bolt_app(signing_secret: str, client: AsyncWebClient) -> AsyncApp:
    """Ack-first Bolt app: listeners run after the HTTP answer, unhandled requests reach our error
    handler (so events are acked instead of retried and stale buttons get a kind answer)."""
    return AsyncApp(
        signing_secret=signing_secret,
        client=client,
        process_before_response=False,
        raise_error_for_unhandled_request=True,
        logger=logging.getLogger("csbot.bolt"),
    )
