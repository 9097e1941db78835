"""Liveness, readiness and metrics endpoints for orchestrators and Prometheus.

Metrics are not public (they describe traffic, failures and payments): `/metrics` on the main
port exists only with METRICS_TOKEN and answers only to that bearer token; the separate listener
(METRICS_HOST/METRICS_PORT, loopback by default) serves it too, asking for the token when one is set.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.app_keys import ENGINE, HEAD_REVISION, METRICS, SETTINGS, STOPPING
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
    """`/metrics` on the public port: without METRICS_TOKEN it does not exist here (404, as any
    unknown path); with it, only the bearer of that token gets an answer."""
    if request.app[SETTINGS].metrics_token is None:
        raise web.HTTPNotFound()
    return _metrics_for_bearer(request)


async def listener_metrics(request: web.Request) -> web.Response:
    """`/metrics` on the metrics listener, which only those who reach METRICS_HOST can call."""
    return _metrics_for_bearer(request)


def _metrics_for_bearer(request: web.Request) -> web.Response:
    token = request.app[SETTINGS].metrics_token
    if token is not None and not bearer_matches(request.headers.get("Authorization", ""), token.get_secret_value()):
        return web.Response(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def bearer_matches(authorization: str, token: str) -> bool:
    """`Authorization: Bearer <token>` (scheme in any case), compared in constant time."""
    scheme, _, credentials = authorization.strip().partition(" ")
    matches = hmac.compare_digest(credentials.strip().encode(), token.encode())
    return scheme.lower() == "bearer" and matches
