"""The sandbox's one clock: real time plus the offset `:clock +3h` moves.

Everything in the sandbox reads it: the Linode emulator, the bot's commands and scheduler (through
`AppOptions.clock`) and the console's billing runs. The database follows it too: rows it inserts
are stamped at sandbox time (`created_at` is a server's billing anchor and a ticket's age), and the
offset is kept in the database, so a restarted console continues at the sandbox time it had
reached. Only the sandbox's own embedded database gets the table and the triggers below.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_TABLE = text(
    "CREATE TABLE IF NOT EXISTS sandbox_clock ("
    " id boolean PRIMARY KEY DEFAULT true CHECK (id), offset_seconds double precision NOT NULL DEFAULT 0)"
)
_READ = text("SELECT offset_seconds FROM sandbox_clock")
_WRITE = text(
    "INSERT INTO sandbox_clock (id, offset_seconds) VALUES (true, :offset) "
    "ON CONFLICT (id) DO UPDATE SET offset_seconds = EXCLUDED.offset_seconds"
)
# A row inserted with the default `created_at` (the transaction's now()) gets the sandbox time instead.
_STAMP = text(
    """
    CREATE OR REPLACE FUNCTION sandbox_created_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.created_at = now() THEN
            NEW.created_at := now() + make_interval(secs => coalesce(
                (SELECT offset_seconds FROM sandbox_clock), 0));
        END IF;
        RETURN NEW;
    END;
    $$
    """
)
_STAMPED_TABLES = text(
    "SELECT c.table_name FROM information_schema.columns c "
    "JOIN information_schema.tables t USING (table_schema, table_name) "
    "WHERE c.table_schema = 'public' AND c.column_name = 'created_at' AND t.table_type = 'BASE TABLE' "
    "ORDER BY 1"
)


class SandboxClock:
    """Real time plus an offset; callable as a float clock (the emulators) or through `now()` (the bot)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self(), UTC)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


async def attach(engine: AsyncEngine, clock: SandboxClock) -> None:
    """Set `clock` to the stored offset and make the database stamp new rows at sandbox time."""
    async with engine.begin() as conn:
        await conn.execute(_TABLE)
        clock.offset = (await conn.execute(_READ)).scalar_one_or_none() or 0.0
        await conn.execute(_STAMP)
        for (table,) in (await conn.execute(_STAMPED_TABLES)).all():
            await conn.execute(text(f'DROP TRIGGER IF EXISTS sandbox_created_at ON "{table}"'))
            await conn.execute(
                text(
                    f'CREATE TRIGGER sandbox_created_at BEFORE INSERT ON "{table}" '
                    "FOR EACH ROW EXECUTE FUNCTION sandbox_created_at()"
                )
            )
        await conn.execute(_WRITE, {"offset": clock.offset})


async def remember(engine: AsyncEngine, clock: SandboxClock) -> None:
    """Store the offset (after `:clock` moved it), for new rows and for the next start."""
    async with engine.begin() as conn:
        await conn.execute(_WRITE, {"offset": clock.offset})
