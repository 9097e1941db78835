"""bot.db.plain: the same query functions on a plain asyncpg connection as on the engine."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import ledger, plain, wallet_view
from tests.factories import make_org, make_user, record_history, set_balance


@pytest.fixture(name="pool")
async def pool_fixture(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await plain.create_pool(database_url, max_size=2)
    yield pool
    await pool.close()


async def test_query_functions_answer_alike_on_both_connections(engine: AsyncEngine, pool: asyncpg.Pool) -> None:
    owner = await make_user(engine)
    org = await make_org(engine, owner)
    async with engine.begin() as conn:
        await set_balance(conn, org.id, Decimal("12.34"))
        await conn.execute(
            text(
                "INSERT INTO payment_transactions (organization_id, amount, payment_method, payment_provider, status,"
                " description, metadata) VALUES (:o, 5, 'paypal', 'paypal', 'completed', 'Top-up', CAST(:m AS jsonb))"
            ),
            {"o": org.id, "m": '{"capture_id": "CAP1"}'},
        )
        await record_history(conn, org.id, Decimal("5"))
    async with engine.connect() as conn:
        via_engine = (await ledger.read_wallet(conn, org.id), await ledger.recent_transactions(conn, org.id, limit=5))

    async def both(conn: plain.PlainConnection) -> tuple[object, object]:
        return await ledger.read_wallet(conn, org.id), await ledger.recent_transactions(conn, org.id, limit=5)

    via_plain = await plain.read(pool, both)
    assert via_plain == via_engine
    assert via_plain[1][0].metadata == {"capture_id": "CAP1"}  # jsonb decoded as the engine does


async def test_the_one_statement_wallet_card_reads_what_the_separate_queries_read(
    engine: AsyncEngine, pool: asyncpg.Pool
) -> None:
    owner = await make_user(engine)
    org = await make_org(engine, owner)
    async with engine.begin() as conn:
        await ledger.change_wallet(conn, org.id, Decimal("7.50"))
        await conn.execute(
            text(
                "INSERT INTO payment_transactions (organization_id, amount, payment_method, payment_provider, status,"
                " description, metadata) VALUES (:o, 7.5, 'paypal', 'paypal', 'completed', 'Top-up',"
                " CAST(:m AS jsonb))"
            ),
            {"o": org.id, "m": '{"capture_id": "CAP2", "nested": {"n": [1, 2.5, null]}}'},
        )
        await conn.execute(
            text(
                "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status)"
                " VALUES (:o, 'no-such-plan', '4242', 'web-1', 'running')"
            ),
            {"o": org.id},
        )
    async with engine.connect() as conn:
        wallet = await ledger.read_wallet(conn, org.id)
        rows = await ledger.recent_transactions(conn, org.id, limit=10)

    card = await plain.read(pool, lambda conn: wallet_view.card_snapshot(conn, org.id, rows=10))

    assert card is not None and wallet is not None
    assert (card.balance, card.currency, card.transactions) == (wallet.balance, wallet.currency, rows)
    assert card.transactions[0].metadata == {"capture_id": "CAP2", "nested": {"n": [1, 2.5, None]}}
    assert card.servers == [wallet_view.RunningServer(label="web-1", status="running", monthly_price=None)]
    empty = await make_org(engine, await make_user(engine))
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM wallets WHERE organization_id = :o"), {"o": empty.id})
    assert await plain.read(pool, lambda conn: wallet_view.card_snapshot(conn, empty.id, rows=10)) is None


async def test_a_failing_transaction_leaves_nothing_behind(engine: AsyncEngine, pool: asyncpg.Pool) -> None:
    owner = await make_user(engine)
    org = await make_org(engine, owner)

    async def credit_then_fail(conn: plain.PlainConnection) -> None:
        await ledger.change_wallet(conn, org.id, Decimal("50"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await plain.transaction(pool, credit_then_fail)
    wallet = await plain.read(pool, lambda conn: ledger.read_wallet(conn, org.id))
    assert wallet is not None and wallet.balance == Decimal("0")


class DiesFirst:
    """Work whose first `failures` runs find the connection gone (as after a PostgreSQL restart)."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures, self.calls = failures, 0
        self.error = error or asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    async def __call__(self, conn: plain.PlainConnection) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return str((await conn.execute(text("SELECT 'answered' AS a"))).scalar_one())


@pytest.mark.parametrize("run", [plain.read, plain.transaction])
async def test_a_dead_connection_is_retried_once_on_a_fresh_one(pool: asyncpg.Pool, run: object) -> None:
    work = DiesFirst(failures=1)
    assert await run(pool, work) == "answered" and work.calls == 2  # type: ignore[operator]
    twice = DiesFirst(failures=2)
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        await run(pool, twice)  # type: ignore[operator]
    assert twice.calls == 2


async def test_other_errors_are_not_retried(pool: asyncpg.Pool) -> None:
    work = DiesFirst(failures=1, error=asyncpg.UniqueViolationError("duplicate key"))
    with pytest.raises(asyncpg.UniqueViolationError):
        await plain.transaction(pool, work)
    assert work.calls == 1


def test_repeated_names_share_one_positional_parameter() -> None:
    sql, names = plain.positional(text("SELECT :a, :b, :a"))
    assert sql == "SELECT $1, $2, $1" and names == ("a", "b")


async def test_connections_go_to_callers_in_the_order_they_asked(database_url: str) -> None:
    """Under contention every read gets its connection in the order it asked: asyncpg's own queue
    lets a caller arriving as a connection is handed back take it from a waiter, which then queues
    again at the back (under load that was the wallet ack's p99)."""
    narrow = await plain.create_pool(database_url, max_size=2)
    asked, granted = itertools.count(), []

    async def one_read() -> None:
        ticket = next(asked)  # taken just before asking: nothing awaits in between

        async def work(conn: plain.PlainConnection) -> None:
            granted.append(ticket)
            await conn.execute(text("SELECT 1"))

        await plain.read(narrow, work)

    async def caller() -> None:
        for _ in range(25):
            await one_read()

    try:
        await asyncio.gather(*(plain.read(narrow, lambda conn: conn.execute(text("SELECT 1"))) for _ in range(2)))
        await asyncio.gather(*(caller() for _ in range(20)))
    finally:
        await narrow.close()
    assert len(granted) == 500
    assert granted == sorted(granted)
