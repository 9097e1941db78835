"""Alembic environment: thin wiring only.

The bot runs migrations over a connection it already holds (placed in `config.attributes`), so
adoption checks, stamping and upgrading share one transaction. Used standalone (`alembic upgrade`),
it connects to DATABASE_URL itself.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.db.bot_schema import metadata
from bot.db.engine import async_url

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone(url: str) -> None:
    engine = create_async_engine(async_url(url), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    shared = config.attributes.get("connection")
    if shared is not None:
        _run(shared)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("Set DATABASE_URL (or use `csbot migrate`, which also handles the embedded database).")
    asyncio.run(_run_standalone(url))


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `csbot migrate`.")
run_migrations_online()
