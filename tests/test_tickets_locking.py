"""Lock order in the ticket sync: a transaction takes a ticket's advisory lock before any row lock,
and never waits for another ticket's rows. A thread message used to copy every delivered root into
its thread row (all tickets) before taking its ticket's lock: with a sync of another ticket holding
those rows and waiting for that lock, PostgreSQL found a deadlock and a customer's reply was lost."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import tickets as tickets_db
from bot.db.outbox import mark_delivered
from bot.services import tickets
from bot.services.identity import SlackRef
from bot.services.tickets_sync import open_thread
from tests.factories import make_org, make_user
from tests.ticket_fixtures import panel_ticket

CHANNEL = "C0LOCKS01"


async def _delivered_triage_thread(engine: AsyncEngine, ticket_id: uuid.UUID, ts: str) -> None:
    """A triage card whose root Slack accepted, not yet copied into its thread row."""
    async with engine.begin() as conn:
        ticket = await tickets_db.get_ticket(conn, ticket_id)
        assert ticket is not None
        thread = await open_thread(conn, ticket, kind="triage", target=CHANNEL)
        assert thread is not None
        outbox_id = (
            await conn.execute(text("SELECT outbox_id FROM bot_ticket_threads WHERE id = :i"), {"i": thread.id})
        ).scalar_one()
        # As the outbox worker does: it claims the message, then Slack accepts it.
        await conn.execute(text("UPDATE bot_outbox SET status = 'sending' WHERE id = :i"), {"i": outbox_id})
    await mark_delivered(engine, outbox_id, {"channel": CHANNEL, "ts": ts}, pace_seconds=0)


async def _hold_thread_rows(conn: AsyncConnection, ticket_id: uuid.UUID) -> None:
    """What `sync_ticket` holds mid-flight: the ticket's advisory lock and its thread rows."""
    await tickets_db.lock_ticket(conn, ticket_id)
    await tickets_db.threads_of(conn, ticket_id)


@pytest.fixture
async def two_tickets(engine: AsyncEngine) -> tuple[uuid.UUID, uuid.UUID]:
    owner = await make_user(engine)
    org = await make_org(engine, owner)
    busy = await panel_ticket(engine, org, owner, subject="Being synced right now")
    quiet = await panel_ticket(engine, org, owner, subject="Someone answers here")
    suffix = uuid.uuid4().int % 10**6
    await _delivered_triage_thread(engine, busy, f"1700000000.{suffix:06d}")
    await _delivered_triage_thread(engine, quiet, f"1700000001.{suffix:06d}")
    return busy, quiet


async def test_the_sweep_over_all_tickets_skips_thread_rows_another_sync_holds(
    engine: AsyncEngine, two_tickets: tuple[uuid.UUID, uuid.UUID]
) -> None:
    busy, quiet = two_tickets
    async with engine.connect() as holder:
        await holder.begin()
        await _hold_thread_rows(holder, busy)
        async with engine.begin() as sweeper:
            await sweeper.execute(text("SET LOCAL lock_timeout = '2s'"))
            await tickets_db.resolve_threads(sweeper)  # waited for `holder` before: lock timeout
        await holder.rollback()
    async with engine.connect() as conn:
        found = dict((await conn.execute(
            text("SELECT ticket_id, ts FROM bot_ticket_threads WHERE ticket_id IN (:a, :b)"), {"a": busy, "b": quiet}
        )).all())  # fmt: skip
    assert found[quiet] is not None and found[busy] is None  # the held one is left for a later pass


async def test_a_thread_message_touches_only_its_own_tickets_rows(
    engine: AsyncEngine, two_tickets: tuple[uuid.UUID, uuid.UUID]
) -> None:
    busy, quiet = two_tickets
    async with engine.connect() as conn:
        quiet_ts = (
            await conn.execute(
                text(
                    "SELECT o.result->>'ts' FROM bot_ticket_threads th JOIN bot_outbox o ON o.id = th.outbox_id "
                    "WHERE th.ticket_id = :t"
                ),
                {"t": quiet},
            )
        ).scalar_one()
    message = tickets.ThreadMessage(
        slack=SlackRef("", "T0LOCKS01", "U0NOBODY1"), channel_id=CHANNEL, ts="1700000100.000001",
        thread_ts=quiet_ts, text="Any news on this one?",
    )  # fmt: skip
    async with engine.connect() as holder:
        await holder.begin()
        await _hold_thread_rows(holder, busy)
        # An unlinked author: nothing is stored, but the thread is found, its ticket locked and its
        # root resolved — all without waiting for the other ticket's rows (it waited forever before).
        outcome = await asyncio.wait_for(
            tickets.thread_message(engine, message, default_channel=CHANNEL, prefix="note:"), timeout=30
        )
        await holder.rollback()
    assert outcome is tickets.ThreadOutcome.UNLINKED
    async with engine.connect() as conn:
        ts = (
            await conn.execute(text("SELECT ts FROM bot_ticket_threads WHERE ticket_id = :t"), {"t": quiet})
        ).scalar_one()
    assert ts == quiet_ts
