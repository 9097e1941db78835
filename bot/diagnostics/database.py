"""The database: does it answer, and are the migrations at head?"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.migrate import current_revision, head_revision
from bot.diagnostics.findings import Finding, failed, passed, skipped
from bot.settings import Settings


async def open_database(settings: Settings) -> tuple[AsyncEngine | None, list[Finding]]:
    """An engine when the database answers (the other checks then read it), and what was found."""
    if not settings.database_url:
        why = "DATABASE_URL is unset: `csbot serve` starts the embedded PostgreSQL; set DATABASE_URL in production"
        return None, [skipped("database", why)]
    engine = create_engine(settings.database_url, pool_size=1, max_overflow=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            revision = await current_revision(conn)
    except (SQLAlchemyError, OSError) as exc:
        await engine.dispose()
        fix = "check DATABASE_URL (host, port, user, password, database name) and that PostgreSQL accepts us"
        return None, [failed("database", f"cannot connect: {type(exc).__name__}: {exc}", fix)]
    head = head_revision()
    reachable = passed("database", "reachable")
    if revision != head:
        at = f"database at {revision or 'nothing (never migrated)'}, code at {head}"
        return engine, [reachable, failed("migrations", at, "run `csbot migrate` (or the migration Job)")]
    return engine, [reachable, passed("migrations", f"at head ({head})")]
