"""The LISTEN loop: a dedicated asyncpg connection on `csbot_tickets`, syncing each notified ticket.

Notifications are a fast path only. They are lost while the bot is down or the connection drops, so
after every (re)connect the loop runs one reconcile pass, and the periodic reconciler keeps running
anyway; `sync_ticket` is idempotent, so a ticket seen by both is still posted once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import plain_url
from bot.services import tickets_sync

log = logging.getLogger(__name__)
CHANNEL = "csbot_tickets"


class TicketListener:
    def __init__(
        self, engine: AsyncEngine, database_url: str, *, default_channel: str | None, retry_seconds: float = 5.0
    ) -> None:
        self._engine = engine
        self._url = plain_url(database_url)
        self._default_channel = default_channel
        self._retry_seconds = retry_seconds
        self._queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
        self.listening = asyncio.Event()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            self._queue.put_nowait(uuid.UUID(json.loads(payload)["ticket_id"]))
        except (ValueError, KeyError, TypeError):
            log.warning("tickets.bad_notification", extra={"payload": payload[:200]})

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self._url, server_settings={"application_name": "csbot-listen"})
                await conn.add_listener(CHANNEL, self._on_notify)
                self.listening.set()
                await tickets_sync.reconcile(self._engine, default_channel=self._default_channel)
                await self._drain(conn, stop)
            except Exception:
                log.exception("tickets.listener_failed")
            finally:
                self.listening.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._retry_seconds)

    async def _drain(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if conn.is_closed():
                raise ConnectionError("LISTEN connection closed")
            try:
                ticket_id = await asyncio.wait_for(self._queue.get(), timeout=1.0)
            except TimeoutError:
                continue
            batch = {ticket_id}
            while not self._queue.empty():
                batch.add(self._queue.get_nowait())
            for one in batch:
                try:
                    await tickets_sync.sync_one(self._engine, one, default_channel=self._default_channel)
                except Exception:
                    log.exception("tickets.sync_failed", extra={"ticket_id": str(one)})
