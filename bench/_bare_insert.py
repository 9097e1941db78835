"""The floor for webhook benchmarks: a bare aiohttp handler that stores the body with one INSERT."""

from __future__ import annotations

import json
import sys

import asyncpg
from aiohttp import web


async def make_app(database_url: str) -> web.Application:
    pool = await asyncpg.create_pool(database_url, min_size=4, max_size=10)
    await pool.execute("CREATE TABLE IF NOT EXISTS bench_floor (event_id text PRIMARY KEY, body bytea NOT NULL)")

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        event_id = json.loads(body)["id"]
        await pool.execute("INSERT INTO bench_floor VALUES ($1, $2) ON CONFLICT DO NOTHING", event_id, body)
        return web.json_response({"status": "received"})

    app = web.Application()
    app.router.add_post("/webhooks/paypal", receive)
    app.router.add_get("/healthz", lambda _r: web.json_response({"status": "ok"}))  # type: ignore[arg-type,return-value]
    return app


if __name__ == "__main__":
    web.run_app(make_app(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
