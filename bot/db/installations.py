"""SQL for Slack installations (distributed mode): one row per workspace or org-wide install.

Tokens arrive and leave sealed (bytes); `bot.slack.installations` seals and opens them. Every change
bumps `version`, so a caller holding a copy can tell it is stale. An uninstall keeps the row (its
`uninstalled_at` set) so a reinstall is an update that brings the workspace's bindings back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True)
class InstalledBot:
    """Where an install is and who the bot is there ('' where Slack has no enterprise or team)."""

    enterprise_id: str
    team_id: str
    is_enterprise_install: bool
    enterprise_name: str | None
    team_name: str | None
    app_id: str | None
    bot_id: str
    bot_user_id: str
    bot_scopes: str
    installer_user_id: str | None


@dataclass(frozen=True)
class NewInstallation(InstalledBot):
    """What an OAuth exchange produced, tokens already sealed."""

    bot_token: bytes
    bot_refresh_token: bytes | None
    bot_token_expires_at: datetime | None


@dataclass(frozen=True)
class InstallationRow(NewInstallation):
    id: int
    installed_at: datetime
    uninstalled_at: datetime | None
    version: int


_COLUMNS = """
    id, enterprise_id, team_id, is_enterprise_install, enterprise_name, team_name, app_id, bot_id, bot_user_id,
    bot_token, bot_refresh_token, bot_token_expires_at, bot_scopes, installer_user_id, installed_at,
    uninstalled_at, version
"""

_SAVE = text(
    f"""
    INSERT INTO bot_slack_installations
        (enterprise_id, team_id, is_enterprise_install, enterprise_name, team_name, app_id, bot_id, bot_user_id,
         bot_token, bot_refresh_token, bot_token_expires_at, bot_scopes, installer_user_id)
    VALUES (:enterprise_id, :team_id, :is_enterprise_install, :enterprise_name, :team_name, :app_id, :bot_id,
            :bot_user_id, :bot_token, :bot_refresh_token, :bot_token_expires_at, :bot_scopes, :installer_user_id)
    ON CONFLICT (enterprise_id, team_id) DO UPDATE SET
        is_enterprise_install = EXCLUDED.is_enterprise_install,
        enterprise_name = EXCLUDED.enterprise_name, team_name = EXCLUDED.team_name, app_id = EXCLUDED.app_id,
        bot_id = EXCLUDED.bot_id, bot_user_id = EXCLUDED.bot_user_id, bot_token = EXCLUDED.bot_token,
        bot_refresh_token = EXCLUDED.bot_refresh_token, bot_token_expires_at = EXCLUDED.bot_token_expires_at,
        bot_scopes = EXCLUDED.bot_scopes, installer_user_id = EXCLUDED.installer_user_id,
        installed_at = CASE WHEN bot_slack_installations.uninstalled_at IS NULL
                            THEN bot_slack_installations.installed_at ELSE now() END,
        uninstalled_at = NULL, uninstall_reason = NULL, updated_at = now(),
        version = bot_slack_installations.version + 1
    RETURNING {_COLUMNS}
    """
)

#: The workspace's own install first, else its org's org-wide install.
_FIND = text(
    f"""
    SELECT {_COLUMNS} FROM bot_slack_installations
    WHERE uninstalled_at IS NULL AND enterprise_id = :enterprise_id
      AND (team_id = :team_id OR (is_enterprise_install AND CAST(:enterprise_id AS varchar) <> ''))
    ORDER BY is_enterprise_install
    LIMIT 1
    """
)

_LOCK = text(f"SELECT {_COLUMNS} FROM bot_slack_installations WHERE id = :id FOR UPDATE")

_ROTATED = text(
    f"""
    UPDATE bot_slack_installations
    SET bot_token = :bot_token, bot_refresh_token = :bot_refresh_token, bot_token_expires_at = :expires_at,
        updated_at = now(), version = version + 1
    WHERE id = :id
    RETURNING {_COLUMNS}
    """
)

_UNINSTALL = text(
    """
    UPDATE bot_slack_installations
    SET uninstalled_at = now(), uninstall_reason = :reason, updated_at = now(), version = version + 1
    WHERE enterprise_id = :enterprise_id AND team_id = :team_id AND uninstalled_at IS NULL
    RETURNING id
    """
)

#: The teams an installation speaks for: its own, or for an org-wide install every team seen in its org.
_TEAMS = """
    SELECT CAST(:team_id AS varchar) WHERE CAST(:team_id AS varchar) <> ''
    UNION SELECT team_id FROM bot_slack_conversations
    WHERE CAST(:team_id AS varchar) = '' AND enterprise_id = :enterprise_id
"""

_DISABLE_BINDINGS = text(
    f"UPDATE bot_channel_bindings SET disabled_at = now() WHERE disabled_at IS NULL AND team_id IN ({_TEAMS})"
)
_ENABLE_BINDINGS = text(
    f"UPDATE bot_channel_bindings SET disabled_at = NULL WHERE disabled_at IS NOT NULL AND team_id IN ({_TEAMS})"
)

UNDELIVERABLE = "undeliverable: uninstalled"

_FAIL_QUEUED = text(
    f"""
    UPDATE bot_outbox SET status = 'dead', last_error = '{UNDELIVERABLE}', locked_until = NULL
    WHERE status = 'pending' AND team_id IN ({_TEAMS})
    """
)

#: Without SLACK_HOME_TEAM, the home workspace is the first one installed by a staff account (the
#: installer's Slack user linked to a panel admin), else simply the first one installed.
_FIRST = text(
    f"""
    SELECT {_COLUMNS} FROM bot_slack_installations i
    WHERE uninstalled_at IS NULL AND NOT is_enterprise_install
    ORDER BY EXISTS (
        SELECT 1 FROM bot_slack_identities s JOIN users u ON u.id = s.user_id
        WHERE s.team_id = i.team_id AND s.slack_user_id = i.installer_user_id AND u.role = 'admin'
    ) DESC, installed_at, id
    LIMIT 1
    """
)

#: The Grid org a team belongs to ('' for none), from its own install or from the directory.
_ENTERPRISE_OF = text(
    """
    SELECT enterprise_id FROM bot_slack_installations WHERE team_id = :team_id AND uninstalled_at IS NULL
    UNION ALL SELECT enterprise_id FROM bot_slack_conversations WHERE team_id = :team_id
    LIMIT 1
    """
)

_COUNT_ACTIVE = text("SELECT count(*) FROM bot_slack_installations WHERE uninstalled_at IS NULL")


async def save(conn: AsyncConnection, new: NewInstallation) -> InstallationRow:
    """Insert or reinstall; a reinstall enables the workspace's channel bindings again."""
    row = (await conn.execute(_SAVE, new.__dict__)).one()
    await conn.execute(_ENABLE_BINDINGS, {"enterprise_id": new.enterprise_id, "team_id": new.team_id})
    return InstallationRow(**row._mapping)


async def find(conn: AsyncConnection, enterprise_id: str, team_id: str) -> InstallationRow | None:
    row = (await conn.execute(_FIND, {"enterprise_id": enterprise_id, "team_id": team_id})).first()
    return None if row is None else InstallationRow(**row._mapping)


async def lock(conn: AsyncConnection, installation_id: int) -> InstallationRow | None:
    """The row, locked until the transaction ends: one replica refreshes a token at a time."""
    row = (await conn.execute(_LOCK, {"id": installation_id})).first()
    return None if row is None else InstallationRow(**row._mapping)


async def store_rotated(
    conn: AsyncConnection, installation_id: int, *, bot_token: bytes, bot_refresh_token: bytes, expires_at: datetime
) -> InstallationRow:
    params = {
        "id": installation_id,
        "bot_token": bot_token,
        "bot_refresh_token": bot_refresh_token,
        "expires_at": expires_at,
    }
    return InstallationRow(**(await conn.execute(_ROTATED, params)).one()._mapping)


async def uninstall(conn: AsyncConnection, enterprise_id: str, team_id: str, reason: str) -> bool:
    """Mark the install gone, disable its bindings and end its queued messages; False if it was not active."""
    params = {"enterprise_id": enterprise_id, "team_id": team_id}
    if (await conn.execute(_UNINSTALL, {**params, "reason": reason})).first() is None:
        return False
    await conn.execute(_DISABLE_BINDINGS, params)
    await conn.execute(_FAIL_QUEUED, params)
    return True


async def first(conn: AsyncConnection) -> InstallationRow | None:
    row = (await conn.execute(_FIRST)).first()
    return None if row is None else InstallationRow(**row._mapping)


async def enterprise_of(conn: AsyncConnection, team_id: str) -> str:
    return str((await conn.execute(_ENTERPRISE_OF, {"team_id": team_id})).scalar_one_or_none() or "")


async def count_active(conn: AsyncConnection) -> int:
    return int((await conn.execute(_COUNT_ACTIVE)).scalar_one())
