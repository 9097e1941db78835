"""`csbot db check`: the live schema against the expected one, plus the migration state."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.drift import DriftReport, inspect_drift
from bot.db.engine import create_engine
from bot.db.migrate import current_revision, head_revision
from bot.db.schema import PANEL_TABLES


@dataclass(frozen=True)
class DatabaseCheck:
    revision: str | None
    head: str
    drift: DriftReport

    @property
    def at_head(self) -> bool:
        return self.revision == self.head

    @property
    def has_problems(self) -> bool:
        return self.drift.has_drift or not self.at_head

    def render(self) -> str:
        if self.at_head:
            state = f"Migrations: at head ({self.head})."
        else:
            found = self.revision or "nothing (not migrated by the bot)"
            state = f"Migrations: database at {found}, code at {self.head}; run `csbot migrate`."
        return state + "\n" + self.drift.render()


async def check_database(url: str) -> DatabaseCheck:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            revision = await current_revision(conn)
            head = head_revision()
            # Until migrations are at head the bot's own tables are `csbot migrate`'s job, not drift.
            drift = await inspect_drift(conn, tables=None if revision == head else PANEL_TABLES)
    finally:
        await engine.dispose()
    return DatabaseCheck(revision=revision, head=head, drift=drift)
