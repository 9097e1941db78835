"""Who a link token's Slack user is, as the account-link page shows them.

The page names what is being linked ("Slack user @name in workspace X") so that a person who was
sent someone else's link sees whose it is. It may suggest an email, but only the Slack user's own:
an address Slack confirmed, on their own account in the token's workspace (or Enterprise Grid).
Slack being slow or refusing never blocks the page: ids stand in for names and the email stays empty.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.identity import SlackRef

log = logging.getLogger(__name__)

#: The page never waits longer than this for Slack (both look-ups run at once).
LOOKUP_SECONDS = 2.0


@dataclass(frozen=True)
class LinkSubject:
    """The Slack side of a link, in words a person recognises."""

    user: str  # "@name", or the user id when Slack could not say
    workspace: str  # the workspace's name, or its id
    email: str  # the user's own confirmed email, else ''


async def link_subject(client: AsyncWebClient, slack: SlackRef) -> LinkSubject:
    """users.info and team.info together; each falls back on its own."""
    user, team = await asyncio.gather(
        _lookup(client.users_info(user=slack.user_id), "user"),
        _lookup(client.team_info(team=slack.team_id), "team"),
    )
    profile = user.get("profile") or {}
    handle = (profile.get("display_name") or user.get("name")) if user.get("id") == slack.user_id else None
    return LinkSubject(
        user=f"@{handle}" if isinstance(handle, str) and handle else slack.user_id,
        workspace=str(team.get("name") or slack.team_id) if team.get("id") == slack.team_id else slack.team_id,
        email=own_email(user, slack),
    )


def own_email(user: dict[str, Any], slack: SlackRef) -> str:
    """The profile email only when it is verifiably this person's: Slack confirmed it, the account is
    theirs (not a bot, not deactivated) and it lives in the token's workspace or Grid. Otherwise ''."""
    if user.get("id") != slack.user_id or user.get("deleted") or user.get("is_bot") or user.get("is_app_user"):
        return ""
    if user.get("is_email_confirmed") is not True:
        return ""
    enterprise = (user.get("enterprise_user") or {}).get("enterprise_id")
    if user.get("team_id") != slack.team_id and not (slack.enterprise_id and enterprise == slack.enterprise_id):
        return ""
    email = (user.get("profile") or {}).get("email")
    return email if isinstance(email, str) else ""


async def _lookup(call: Any, key: str) -> dict[str, Any]:
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            response = await call
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        log.info("link.slack_lookup_unavailable", extra={"lookup": key, "error": type(exc).__name__})
        return {}
    found = response.get(key)
    return found if isinstance(found, dict) else {}
