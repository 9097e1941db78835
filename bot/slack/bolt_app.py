"""Construction of the Bolt app (listeners are registered by `handlers.register_listeners`)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.ack_runner import PromptAckRunner


def build_bolt_app(signing_secret: str, client: AsyncWebClient) -> AsyncApp:
    """Ack-first Bolt app: listeners run after the HTTP answer, unhandled requests reach our error
    handler (so events are acked instead of retried and stale buttons get a kind answer). The
    listener runner answers as soon as a listener acks (`bot.slack.ack_runner`)."""
    app = AsyncApp(
        signing_secret=signing_secret,
        client=client,
        process_before_response=False,
        raise_error_for_unhandled_request=True,
        logger=logging.getLogger("csbot.bolt"),
    )
    # Bolt exposes its runner read-only; error handlers registered later still reach this one
    # (`app.error` sets the handler on whatever runner the app holds).
    app._async_listener_runner = PromptAckRunner.replacing(app.listener_runner)
    return app
