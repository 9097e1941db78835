"""Publishing a user's App Home: snapshot → view → `views.publish` (best effort, never raises)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.rendering.fit import plain_view
from bot.rendering.home import render_home
from bot.services.container import Services
from bot.services.home import home_snapshot
from bot.services.identity import SlackRef
from bot.services.link_tokens import link_url
from bot.slack.errors import REFUSED_CONTENT, classify, refusal_details

log = logging.getLogger(__name__)


async def refresh_home(services: Services, client: AsyncWebClient, slack: SlackRef) -> None:
    """Re-render and publish the Home tab; a failure is logged, since the next open re-renders it."""
    try:
        snapshot = await home_snapshot(services.engine, slack)
        url = None
        settings = services.settings
        if not snapshot.linked and settings.bot_secret is not None:
            url = await link_url(services.engine, settings.bot_secret.get_secret_value(), settings.public_url, slack)
        view = render_home(snapshot, command=settings.slack_command, link_url=url)
        await publish_home(client, slack.user_id, view)
    except Exception as exc:  # best effort by design; see docstring
        log.warning(
            "home.publish_failed", exc_info=True, extra={"slack_user": slack.user_id, "error": classify(exc).code}
        )


async def publish_home(client: AsyncWebClient, user_id: str, view: dict[str, Any]) -> None:
    """`views.publish`; when Slack refuses the view itself, its words as a plain view instead (logged with
    Slack's reasons), so the user never keeps a stale Home."""
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        code = classify(exc).code
        if code not in REFUSED_CONTENT:
            raise
        log.warning(
            "home.plain_fallback", extra={"slack_user": user_id, "slack_error": code, "problems": refusal_details(exc)}
        )
        await client.views_publish(user_id=user_id, view=plain_view(view))
