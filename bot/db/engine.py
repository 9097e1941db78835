"""Database engine construction: SQLAlchemy Core on the asyncpg driver."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: Statement timeout applied to every pooled connection, so a stuck query cannot hold a request forever.
STATEMENT_TIMEOUT_MS = 30_000


def async_url(url: str) -> str:
    """Turn an operator URL (`postgresql://…`) into SQLAlchemy's asyncpg form."""
    parts = urlsplit(url)
    scheme = "postgresql+asyncpg" if parts.scheme in {"postgres", "postgresql"} else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def plain_url(url: str) -> str:
    """The libpq/asyncpg form of a URL (no `+driver`), e.g. for `asyncpg.connect`."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, parts.fragment))


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An engine with pre-ping (so a restarted PostgreSQL heals the pool) and a statement timeout,
    whose errors never quote their parameters (user text) into messages and logs."""
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_timeout=5,
        hide_parameters=True,  # statement errors would quote what users typed into logs
        connect_args={
            "timeout": 5,
            "server_settings": {
                "application_name": "csbot",
                "statement_timeout": str(STATEMENT_TIMEOUT_MS),
            },
        },
    )
