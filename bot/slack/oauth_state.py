"""slack-sdk's `AsyncOAuthStateStore` on PostgreSQL: each install attempt's `state` is random,
consumed at most once (by whichever replica gets Slack's redirect) and dead after ten minutes."""

from __future__ import annotations

import logging
import secrets

from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import oauth_states

log = logging.getLogger(__name__)

STATE_SECONDS = 600


class PostgresOAuthStateStore(AsyncOAuthStateStore):
    def __init__(self, engine: AsyncEngine, *, expiration_seconds: int = STATE_SECONDS) -> None:
        self._engine = engine
        self.expiration_seconds = expiration_seconds

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(32)
        async with self._engine.begin() as conn:
            await oauth_states.issue(conn, state, seconds=self.expiration_seconds)
        return state

    async def async_consume(self, state: str) -> bool:
        if not state or len(state) > 64:
            return False
        async with self._engine.begin() as conn:
            return await oauth_states.consume(conn, state)
