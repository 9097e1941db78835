"""Liveness, readiness and metrics endpoints for orchestrators and Prometheus."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.app_keys import ENGINE, HEAD_REVISION, METRICS, STOPPING
from bot.db.migrate import current_revision

log = logging.getLogger(__name__)
READINESS_TIMEOUT_SECONDS = 2.0


async def healthz(_request: web.Request) -> web.Response:
    """The process is alive and its event loop answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready = not shutting down, the database answers and migrations are at head."""
    if request.app[STOPPING].is_set():
        return web.json_response({"status": "stopping"}, status=503)
    head = request.app[HEAD_REVISION]
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS), request.app[ENGINE].connect() as conn:
            await conn.execute(text("SELECT 1"))
            revision = await current_revision(conn)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("readyz.database_unavailable", extra={"error": type(exc).__name__})
        return web.json_response({"status": "unavailable", "reason": "database unreachable"}, status=503)
    if revision != head:
        reason = f"migrations not at head (database {revision or 'unmigrated'}, code {head}); run `csbot migrate`"
        return web.json_response({"status": "unavailable", "reason": reason}, status=503)
    return web.json_response({"status": "ready", "revision": revision})


async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
