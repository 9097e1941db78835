"""SQL for account-link token nonces: issued, then consumed exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class TokenState:
    used: bool


_REMEMBER = text(
    """
    INSERT INTO bot_link_tokens (nonce, enterprise_id, team_id, slack_user_id, expires_at)
    VALUES (:nonce, :enterprise_id, :team_id, :slack_user_id, :expires_at)
    """
)
_STATE = text("SELECT used_at FROM bot_link_tokens WHERE nonce = :nonce")
_CONSUME = text(
    "UPDATE bot_link_tokens SET used_at = now() WHERE nonce = :nonce AND used_at IS NULL AND expires_at > now() "
    "RETURNING nonce"
)
_PRUNE = text("DELETE FROM bot_link_tokens WHERE expires_at < now() - interval '1 day'")


async def remember(
    conn: AsyncConnection, *, nonce: str, enterprise_id: str, team_id: str, slack_user_id: str, expires_at: datetime
) -> None:
    await conn.execute(
        _REMEMBER,
        {
            "nonce": nonce,
            "enterprise_id": enterprise_id,
            "team_id": team_id,
            "slack_user_id": slack_user_id,
            "expires_at": expires_at,
        },
    )


async def prune(conn: AsyncConnection) -> None:
    await conn.execute(_PRUNE)


async def state(conn: AsyncConnection, nonce: str) -> TokenState | None:
    row = (await conn.execute(_STATE, {"nonce": nonce})).first()
    return None if row is None else TokenState(used=row.used_at is not None)


async def consume(conn: AsyncConnection, nonce: str) -> bool:
    """True if this call used the token (unused and unexpired until now)."""
    return (await conn.execute(_CONSUME, {"nonce": nonce})).first() is not None
