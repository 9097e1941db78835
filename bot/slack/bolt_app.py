"""Construction of the Bolt app (listeners are registered by `handlers.register_listeners`)."""

from __future__ import annotations

import logging
import os

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.ack_runner import PromptAckRunner


def build_bolt_app(
    signing_secret: str,
    client: AsyncWebClient,
    *,
    authorize: AsyncAuthorize | None = None,
    oauth_settings: AsyncOAuthSettings | None = None,
    not_installed_message: str | None = None,
) -> AsyncApp:
    """Ack-first Bolt app: listeners run after the HTTP answer, unhandled requests reach our error
    handler (so events are acked instead of retried and stale buttons get a kind answer). The
    listener runner answers as soon as a listener acks (`bot.slack.ack_runner`). In distributed mode
    `authorize` picks each request's workspace token and `oauth_settings` adds the install flow;
    `client` then has no token and lends its base URL, session and retries to every request's client."""
    logger = logging.getLogger("csbot.bolt")
    quiet = _SameTokenNotice(client.token)
    logger.addFilter(quiet)
    try:
        app = AsyncApp(
            signing_secret=signing_secret,
            client=client,
            authorize=authorize,
            oauth_settings=oauth_settings,
            user_facing_authorize_error_message=not_installed_message,
            process_before_response=False,
            raise_error_for_unhandled_request=True,
            logger=logger,
        )
    finally:
        logger.removeFilter(quiet)
    # Bolt exposes its runner read-only; error handlers registered later still reach this one
    # (`app.error` sets the handler on whatever runner the app holds).
    app._async_listener_runner = PromptAckRunner.replacing(app.listener_runner)
    return app


class _SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when it is handed a client, and then warns
    that the token "will be unused" on every start. Our client is built from that very token, so the
    warning says nothing; it still shows when the environment holds a different token."""

    def __init__(self, client_token: str | None) -> None:
        super().__init__()
        self._client_token = client_token
        self._message = warning_client_prioritized_and_token_skipped()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self._message or os.environ.get("SLACK_BOT_TOKEN") != self._client_token
