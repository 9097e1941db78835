"""Where the database is: DATABASE_URL, or the embedded PostgreSQL when it is unset."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from bot.db.engine import plain_url, with_database
from bot.settings import Settings

log = logging.getLogger(__name__)
EMBEDDED_DATABASE = "csbot"


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """Yield the URL to use; an embedded server started here is stopped on exit."""
    if settings.database_url:
        yield settings.database_url
        return
    from bot.db.embedded import EmbeddedPostgres  # noqa: PLC0415 - only needed without DATABASE_URL

    data_dir = settings.csbot_data_dir.resolve() / "postgres"
    server = EmbeddedPostgres(data_dir)
    server_url = server.start()
    log.info("database.embedded_started", extra={"data_dir": str(data_dir)})
    try:
        asyncio.run(ensure_database(server_url, EMBEDDED_DATABASE))
        yield with_database(server_url, EMBEDDED_DATABASE)
    finally:
        server.stop()


async def ensure_database(server_url: str, name: str) -> None:
    """Create database `name` on the server if it does not exist yet."""
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
