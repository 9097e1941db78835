"""Updating a modal the user may already have closed.

A modal's work often outlives the modal: the catalogue loads, a server provisions, a delete runs
while the user closes the window or opens another modal (Slack keeps one stack per user, so
opening a new one closes the old). Slack then answers `views.update` with `not_found`. That is
not a failure to apologise for: the work itself is recorded and reported elsewhere.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import classify

log = logging.getLogger(__name__)

#: What Slack answers for a view id that is no longer open.
VIEW_GONE = "not_found"


async def update_modal(client: AsyncWebClient, view_id: str, view: dict[str, Any]) -> bool:
    """Replace the open modal `view_id` with `view`; False when the user has closed it."""
    try:
        await client.views_update(view_id=view_id, view=view)
    except SlackApiError as exc:
        if classify(exc).code != VIEW_GONE:
            raise
        log.info("slack.modal_gone", extra={"view_id": view_id})
        return False
    return True
