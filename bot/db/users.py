"""SQL for the panel's `users` and `user_api_keys`, read only: the bot checks credentials, never sets them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class UserRow:
    id: uuid.UUID
    email: str
    name: str
    role: str | None
    password_hash: str


@dataclass(frozen=True)
class ApiKeyRow:
    """An active, unexpired key and its owner (`key_hash` is base64 of the key, as the panel stores it)."""

    key_hash: str
    user: UserRow


#: Emails are unique as stored; a case-insensitive match prefers the exactly spelled row.
_BY_EMAIL = text(
    """
    SELECT id, email, name, role, password_hash FROM users
    WHERE lower(email) = lower(:email)
    ORDER BY (email = :email) DESC, created_at
    LIMIT 1
    """
)

_ACTIVE_KEY = text(
    """
    SELECT k.key_hash, u.id, u.email, u.name, u.role, u.password_hash
    FROM user_api_keys k JOIN users u ON u.id = k.user_id
    WHERE k.key_hash = :key_hash AND k.active IS TRUE AND (k.expires_at IS NULL OR k.expires_at > now())
    LIMIT 1
    """
)


_STAFF = text("SELECT email, password_hash FROM users WHERE role = 'admin' ORDER BY email")


async def staff_password_hashes(conn: AsyncConnection) -> list[tuple[str, str]]:
    """(email, password hash) of every staff account (`users.role = 'admin'`)."""
    return [(row.email, row.password_hash) for row in (await conn.execute(_STAFF)).all()]


async def find_by_email(conn: AsyncConnection, email: str) -> UserRow | None:
    row = (await conn.execute(_BY_EMAIL, {"email": email})).first()
    return None if row is None else UserRow(**row._mapping)


async def find_active_api_key(conn: AsyncConnection, key_hash: str) -> ApiKeyRow | None:
    """The active, unexpired key stored with exactly this hash, with its owner."""
    row = (await conn.execute(_ACTIVE_KEY, {"key_hash": key_hash})).first()
    if row is None:
        return None
    values = dict(row._mapping)
    stored = values.pop("key_hash")
    return ApiKeyRow(key_hash=stored, user=UserRow(**values))
