"""Distributed mode's request side: Bolt's authorize step, and the conversation directory.

`WorkspaceAuthorize` answers Bolt with the bot token of the workspace a request comes from (its own
install, else its Enterprise Grid org's org-wide install), through `Installations`' cache: no
database round trip per request. `RememberConversations` notes which workspace each channel and
user belongs to, once per id and process, so queued work addressed to them finds its token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import conversations
from bot.slack.installations import Installations

log = logging.getLogger(__name__)

#: Ids this process already wrote to the directory; cleared when full (a re-write is harmless).
SEEN_LIMIT = 200_000


class WorkspaceAuthorize(AsyncAuthorize):
    def __init__(self, installations: Installations) -> None:
        super().__init__()
        self._installations = installations

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_actor: Any,
    ) -> AuthorizeResult | None:
        bot = await self._installations.bot_for(enterprise_id, None if context.is_enterprise_install else team_id)
        if bot is None:
            log.warning("slack.not_installed", extra={"enterprise_id": enterprise_id, "team_id": team_id})
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            team=bot.team_name,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


class RememberConversations(AsyncMiddleware):
    """The directory write runs beside the listener (a task), never before the ack."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._seen: set[str] = set()
        self._writing: set[asyncio.Task[None]] = set()

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        context = req.context
        new = [i for i in (context.channel_id, context.user_id) if i and i not in self._seen]
        if context.team_id and new:
            if len(self._seen) > SEEN_LIMIT:
                self._seen.clear()
            self._seen.update(new)
            task = asyncio.create_task(self._write(new, context.enterprise_id or "", context.team_id))
            self._writing.add(task)
            task.add_done_callback(self._writing.discard)
        return await next()

    async def _write(self, ids: list[str], enterprise_id: str, team_id: str) -> None:
        try:
            await conversations.remember(self._engine, ids, enterprise_id=enterprise_id, team_id=team_id)
        except Exception:
            log.warning("slack.directory_write_failed", exc_info=True)
            self._seen.difference_update(ids)  # the next request from them tries again
