"""The project's SQL on a plain asyncpg connection, for the hottest paths.

Every slash command resolves its actor, `/cs wallet` reads the card and the PayPal inbox worker
credits wallets; through SQLAlchemy's engine each pool checkout costs a pre-ping round trip and
every statement its Python overhead, which made `/cs wallet` ten round trips where three suffice.
`PlainConnection` gives an asyncpg connection SQLAlchemy's `execute(text(...), params)` shape
(results with `first/one/all/scalar…`, rows with attribute and `_mapping` access), so the same
SQL and the same query functions in `bot.db` serve both: `read()` runs them in autocommit,
`transaction()` in one transaction. Both try once more on a fresh connection when the pool handed
out one that died (a PostgreSQL restart), which is why `transaction()` takes idempotent work only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause

from bot.db.engine import STATEMENT_TIMEOUT_MS, plain_url

T = TypeVar("T")
_DIALECT = asyncpg_dialect()
#: The first byte of jsonb in binary format (its format version).
JSONB_VERSION = b"\x01"

#: A connection from a dropped pool: the server restarted or the socket died while idle.
CONNECTION_LOST = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
)


async def create_pool(url: str, *, max_size: int = 10) -> asyncpg.Pool:
    """The plain pool: same statement timeout as the engine, json/jsonb decoded as the engine does.

    Like SQLAlchemy's asyncpg dialect, json parameters are passed already serialised (`json.dumps`),
    and json results come back as Python objects, so query functions behave alike on both.
    min_size=0: the app starts (and /readyz answers 503) even while the database is down.
    """
    for closed in [p for p in _GATES if p.is_closing()]:
        del _GATES[closed]
    pool = await asyncpg.create_pool(
        plain_url(url),
        min_size=0,
        max_size=max_size,
        command_timeout=STATEMENT_TIMEOUT_MS / 1000 + 5,
        server_settings={"application_name": "csbot", "statement_timeout": str(STATEMENT_TIMEOUT_MS)},
        init=_json_codecs,
        reset=_end_open_transaction,
    )
    _GATES[pool] = asyncio.Semaphore(max_size)
    return pool


async def _json_codecs(conn: asyncpg.Connection) -> None:
    """Binary codecs, because values nested in records (the wallet card's arrays) always arrive in
    binary: json's is its text, jsonb's is a version byte (1) then its text."""
    await conn.set_type_codec("json", encoder=_json_bytes, decoder=json.loads, schema="pg_catalog", format="binary")
    await conn.set_type_codec("jsonb", encoder=_jsonb_bytes, decoder=_jsonb_value, schema="pg_catalog", format="binary")


def _json_bytes(serialised: str) -> bytes:
    return str(serialised).encode()


def _jsonb_bytes(serialised: str) -> bytes:
    return JSONB_VERSION + str(serialised).encode()


def _jsonb_value(data: bytes) -> Any:
    if data[:1] != JSONB_VERSION:
        raise ValueError(f"unknown jsonb binary version {data[:1]!r}")
    return json.loads(data[1:])


async def _end_open_transaction(conn: asyncpg.Connection) -> None:
    """On release: only roll back a transaction left open (never, for these statements).

    asyncpg's default reset (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) costs a round trip per
    checkout; this pool runs single statements that take no locks, listen or set anything.
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


@functools.cache
def positional(clause: TextClause) -> tuple[str, tuple[str, ...]]:
    """The clause as asyncpg SQL (`$1`, `$2`, a repeated name reuses its number) and the names in order."""
    compiled = clause.compile(dialect=_DIALECT)
    return str(compiled), tuple(compiled.positiontup or ())


class PlainRow:
    """One record, read as `row.name`, `row[0]`, unpacked, or through `row._mapping`, like SQLAlchemy's Row."""

    __slots__ = ("_mapping",)

    def __init__(self, record: asyncpg.Record) -> None:
        self._mapping: Mapping[str, Any] = record

    def __getitem__(self, index: int) -> Any:
        return self._mapping[index]  # type: ignore[index] - asyncpg records index by position too

    def __iter__(self) -> Iterator[Any]:
        return iter(self._mapping.values())

    def __len__(self) -> int:
        return len(self._mapping)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None


class PlainResult:
    """The part of SQLAlchemy's Result that the query functions use."""

    __slots__ = ("_records",)

    def __init__(self, records: Sequence[asyncpg.Record]) -> None:
        self._records = records

    def one(self) -> PlainRow:
        if len(self._records) != 1:
            raise ValueError(f"expected one row, got {len(self._records)}")
        return PlainRow(self._records[0])

    def first(self) -> PlainRow | None:
        return PlainRow(self._records[0]) if self._records else None

    def all(self) -> list[PlainRow]:
        return [PlainRow(record) for record in self._records]

    def scalar(self) -> Any:
        return self._records[0][0] if self._records else None

    def scalar_one(self) -> Any:
        return self.one()._mapping[next(iter(self._records[0].keys()))]

    def scalar_one_or_none(self) -> Any:
        if len(self._records) > 1:
            raise ValueError("more than one row")
        return self.scalar()


class PlainConnection:
    """SQLAlchemy-shaped `execute` over one asyncpg connection."""

    __slots__ = ("_conn",)

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def execute(self, clause: TextClause, params: Mapping[str, Any] | None = None) -> PlainResult:
        sql, names = positional(clause)
        values = params or {}
        return PlainResult(await self._conn.fetch(sql, *(values[name] for name in names)))


#: What a query function accepts: the engine's connection or a plain one.
SqlConnection: TypeAlias = AsyncConnection | PlainConnection


async def read(pool: asyncpg.Pool, work: Callable[[PlainConnection], Awaitable[T]]) -> T:
    """Run read-only `work` on a pooled connection (autocommit)."""

    async def attempt() -> T:
        async with _acquire(pool) as conn:
            return await work(PlainConnection(conn))

    return await _twice(attempt)


async def transaction(pool: asyncpg.Pool, work: Callable[[PlainConnection], Awaitable[T]]) -> T:
    """Run `work` in one transaction on a pooled connection.

    Only for idempotent work: a connection lost during COMMIT may have committed, and the work is
    then run again (the inbox worker's is: ledger keys and conditional updates make a repeat a no-op).
    """

    async def attempt() -> T:
        async with _acquire(pool) as conn, conn.transaction():
            return await work(PlainConnection(conn))

    return await _twice(attempt)


#: A first-come-first-served gate as wide as the pool, for each open pool `create_pool` made.
_GATES: dict[asyncpg.Pool, asyncio.Semaphore] = {}


@contextlib.asynccontextmanager
async def _acquire(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, in the order callers asked. asyncpg's pool queue lets a newcomer take a
    connection released to a waiter before that waiter runs; the waiter then queues again at the
    back, so under load some requests waited hundreds of milliseconds while most took a few.
    asyncio's semaphore (since Python 3.11.1) hands slots over in arrival order, and with it in
    front nobody waits inside the pool. Pools not made by `create_pool` are used as they are."""
    async with _GATES.get(pool) or contextlib.nullcontext(), pool.acquire() as conn:
        yield conn


async def _twice(attempt: Callable[[], Awaitable[T]]) -> T:
    """After a PostgreSQL restart the pool may still hand out a connection whose loss it has not
    noticed; one more attempt gets a fresh one. A second failure is a real outage and propagates."""
    try:
        return await attempt()
    except CONNECTION_LOST:
        return await attempt()
