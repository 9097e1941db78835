"""Audit trail: every change made from Slack becomes an `activity_logs` row like the panel's."""

from __future__ import annotations

import uuid
from typing import Any

from bot.db.activity import insert_activity
from bot.db.plain import SqlConnection
from bot.services.identity import Actor, SlackRef

SLACK_USER_AGENT = "ContainerStacks Slack bot"


def slack_metadata(slack: SlackRef, channel_id: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"source": "slack", "slack_user_id": slack.user_id, "slack_team_id": slack.team_id}
    if slack.enterprise_id:
        meta["slack_enterprise_id"] = slack.enterprise_id
    if channel_id:
        meta["slack_channel_id"] = channel_id
    return meta


async def record(
    conn: SqlConnection,
    *,
    user_id: uuid.UUID,
    slack: SlackRef,
    event_type: str,
    entity_type: str,
    entity_id: str | None,
    message: str,
    organization_id: uuid.UUID | None = None,
    status: str = "success",
    channel_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    is_read: bool = False,
) -> uuid.UUID:
    """Write one activity row in the caller's transaction (so it commits with the change)."""
    return await record_unattended(
        conn,
        user_id=user_id,
        organization_id=organization_id,
        event_type=event_type,
        entity_type=entity_type,
        entity_id=entity_id,
        message=message,
        status=status,
        metadata={**slack_metadata(slack, channel_id), **(metadata or {})},
        is_read=is_read,
    )


async def record_for_actor(
    conn: SqlConnection,
    actor: Actor,
    *,
    event_type: str,
    entity_type: str,
    entity_id: str | None,
    message: str,
    organization_id: uuid.UUID | None = None,
    channel_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> uuid.UUID:
    org_id = organization_id if organization_id is not None else (actor.org.id if actor.org else None)
    return await record(
        conn,
        user_id=actor.user_id,
        slack=actor.slack,
        event_type=event_type,
        entity_type=entity_type,
        entity_id=entity_id,
        message=message,
        organization_id=org_id,
        channel_id=channel_id,
        metadata=metadata,
    )


async def record_unattended(
    conn: SqlConnection,
    *,
    user_id: uuid.UUID,
    event_type: str,
    entity_type: str,
    entity_id: str | None,
    message: str,
    organization_id: uuid.UUID | None,
    status: str = "success",
    metadata: dict[str, Any] | None = None,
    is_read: bool = False,
) -> uuid.UUID:
    """A change the bot made because of what `user_id` did outside Slack (e.g. a reply in the panel);
    `record` is this plus who did it in Slack."""
    return await insert_activity(
        conn,
        user_id=user_id,
        organization_id=organization_id,
        event_type=event_type,
        entity_type=entity_type,
        entity_id=entity_id,
        message=message,
        status=status,
        metadata={"source": "slack_bot", **(metadata or {})},
        user_agent=SLACK_USER_AGENT,
        is_read=is_read,
    )
