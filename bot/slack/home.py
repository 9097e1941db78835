"""Publishing a user's App Home: snapshot → view → `views.publish` (best effort, never raises)."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.rendering.home import render_home
from bot.services.container import Services
from bot.services.home import home_snapshot
from bot.services.identity import SlackRef
from bot.services.link_tokens import link_url
from bot.slack.errors import classify

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
        await client.views_publish(user_id=slack.user_id, view=view)
    except Exception as exc:  # best effort by design; see docstring
        log.warning(
            "home.publish_failed", exc_info=True, extra={"slack_user": slack.user_id, "error": classify(exc).code}
        )
