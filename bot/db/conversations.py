"""SQL for the conversation directory: which workspace a channel or user id was seen in.

Queued work names only a channel or a user; in distributed mode the outbox reads the workspace
from here when the enqueuer did not say (see `bot.db.outbox`). First sighting wins: an id moves
workspaces only when Slack Connect shares a channel, and then the first workspace can still post.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_REMEMBER = text(
    """
    INSERT INTO bot_slack_conversations (conversation_id, enterprise_id, team_id)
    SELECT id, :enterprise_id, :team_id FROM unnest(CAST(:ids AS varchar[])) AS id
    ON CONFLICT (conversation_id) DO NOTHING
    """
)


async def remember(engine: AsyncEngine, ids: Iterable[str], *, enterprise_id: str, team_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(_REMEMBER, {"ids": list(ids), "enterprise_id": enterprise_id, "team_id": team_id})
