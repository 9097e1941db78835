"""Running the schema migrations, including adopting a database the panel created.

Everything happens in one transaction under an advisory lock: two replicas starting together do
not race, and an incompatible panel database is left exactly as it was.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import migrations
from bot.db.drift import DriftReport, inspect_drift
from bot.db.schema import PANEL_TABLES
from bot.errors import MigrationError
from bot.panel_passwords import generate_password, panel_hash

BASELINE_REVISION = "0001_panel_baseline"
#: The staff account the baseline seeds, as the panel's migration 001 does, with a published password.
SEED_ADMIN_EMAIL = "admin@containerstacks.com"
_REPLACE_SEED_PASSWORD = text("UPDATE users SET password_hash = :hash WHERE email = :email")
#: Advisory lock key that serialises concurrent `csbot migrate` runs.
MIGRATION_LOCK_KEY = int.from_bytes(b"csbot-mi", "big")


class IncompatibleDatabase(MigrationError):
    """The existing database lacks what the bot needs; nothing was changed."""

    def __init__(self, report: DriftReport) -> None:
        self.report = report
        super().__init__(
            "The existing panel database is not compatible with the bot; nothing was changed.\n" + report.render()
        )


@dataclass(frozen=True)
class MigrationOutcome:
    before: str | None
    after: str
    adopted: bool
    applied: tuple[str, ...]
    #: Set only when this run built the schema from empty: the seeded admin's new password, for the
    #: operator's terminal (never logged, never part of `describe()`).
    seed_admin_password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        if not self.applied and not self.adopted:
            return f"Database already at head ({self.after}); nothing to do."
        lines = []
        if self.adopted:
            lines.append(f"Adopted the existing panel database (stamped {BASELINE_REVISION}; no rows changed).")
        if self.applied:
            lines.append("Applied: " + ", ".join(self.applied))
        lines.append(f"Now at {self.after}.")
        return "\n".join(lines)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, optionally sharing a connection."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError("No migration revisions found.")
    return head


async def current_revision(conn: AsyncConnection) -> str | None:
    """The stamped revision, or None when the database has never been migrated by the bot."""
    exists = (await conn.execute(text("SELECT to_regclass('public.alembic_version') IS NOT NULL"))).scalar_one()
    if not exists:
        return None
    return (await conn.execute(text("SELECT version_num FROM alembic_version LIMIT 1"))).scalar_one_or_none()


async def panel_tables_present(conn: AsyncConnection) -> bool:
    names = [t.name for t in PANEL_TABLES]
    query = text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(:names)")
    return int((await conn.execute(query, {"names": names})).scalar_one()) > 0


def _revisions_between(before: str | None, after: str) -> tuple[str, ...]:
    script = ScriptDirectory.from_config(alembic_config())
    applied = [rev.revision for rev in script.iterate_revisions(after, before)]
    return tuple(reversed(applied))


async def migrate(engine: AsyncEngine) -> MigrationOutcome:
    """Bring the database to head; adopt a panel-made database after checking it is compatible."""
    async with engine.connect() as conn, conn.begin():
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        before = await current_revision(conn)
        adopted = False
        if before is None and await panel_tables_present(conn):
            report = await inspect_drift(conn, tables=PANEL_TABLES)
            if not report.is_compatible:
                raise IncompatibleDatabase(report)
            await conn.run_sync(lambda sync: command.stamp(alembic_config(sync), BASELINE_REVISION))
            adopted = True
        stamped = BASELINE_REVISION if adopted else before
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
        after = await current_revision(conn)
        # Built from empty: the seed admin exists only since this transaction, so nobody's account is touched.
        password = await _replace_seed_admin_password(conn) if stamped is None else None
    if after is None:
        raise MigrationError("Migration finished without a recorded revision.")
    applied = _revisions_between(stamped, after)
    return MigrationOutcome(before, after, adopted, applied, seed_admin_password=password)


async def _replace_seed_admin_password(conn: AsyncConnection) -> str | None:
    """Give the admin the baseline just seeded a random password instead of the published one.

    The baseline stays faithful to the panel (its seed verifies `admin123`); this runs in the same
    transaction, so a database the bot builds never commits a staff account with that password.
    """
    password = generate_password()
    password_hash = await asyncio.to_thread(panel_hash, password)
    result = await conn.execute(_REPLACE_SEED_PASSWORD, {"hash": password_hash, "email": SEED_ADMIN_EMAIL})
    return password if result.rowcount else None


async def is_at_head(conn: AsyncConnection) -> bool:
    return await current_revision(conn) == head_revision()
