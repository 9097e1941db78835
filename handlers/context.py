"""Reading who and where from Slack payloads (slash commands, interactivity and events)."""

from __future__ import annotations

from typing import Any

from bot.services.identity import SlackRef
from bot.services.linking import SlackNames


def slack_ref(body: dict[str, Any]) -> SlackRef:
    """The acting Slack user: flat fields for slash commands, nested objects for interactivity."""
    if "user_id" in body:  # slash command
        return SlackRef(
            enterprise_id=str(body.get("enterprise_id") or ""),
            team_id=str(body.get("team_id") or ""),
            user_id=str(body["user_id"]),
        )
    user = body.get("user") or {}
    if isinstance(user, str):  # Events API: event.user is an id
        user = {"id": user}
    team = body.get("team") or {}
    enterprise = body.get("enterprise") or {}
    return SlackRef(
        enterprise_id=str((enterprise.get("id") if isinstance(enterprise, dict) else enterprise) or ""),
        team_id=str(
            user.get("team_id") or (team.get("id") if isinstance(team, dict) else team) or body.get("team_id") or ""
        ),
        user_id=str(user.get("id") or ""),
    )


def channel_id(body: dict[str, Any]) -> str | None:
    if body.get("channel_id"):
        return str(body["channel_id"])
    channel = body.get("channel")
    if isinstance(channel, dict):
        return channel.get("id")
    container = body.get("container") or {}
    return container.get("channel_id")


def slack_names(body: dict[str, Any]) -> SlackNames:
    """The interacting user's handle and workspace as Slack's own (signed) payload names them."""
    slack = slack_ref(body)
    user, team = body.get("user") or {}, body.get("team") or {}
    handle = (user.get("username") or user.get("name")) if isinstance(user, dict) else None
    domain = team.get("domain") if isinstance(team, dict) else None
    return SlackNames(user=f"@{handle}" if handle else slack.user_id, workspace=str(domain or slack.team_id))
