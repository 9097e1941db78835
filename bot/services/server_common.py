"""What the server page's actions share: the Linode id of a row, Linode calls that alert staff on a
rejected token, and the panel's activity row for a change to a server (`entity_type` `vps`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.servers import ServerRow
from bot.errors import UserError
from bot.linode.errors import LinodeError
from bot.services import vps
from bot.services.audit import record_for_actor
from bot.services.identity import Actor
from bot.settings import Settings

STILL_CREATING = "That server is still being created; try again once it is running."


def linode_id_of(row: ServerRow) -> int:
    if row.linode_id is None:
        raise UserError(STILL_CREATING)
    return row.linode_id


async def linode_call(engine: AsyncEngine, settings: Settings, call: Any) -> Any:
    """Await a gateway call; a 401/403 also alerts staff before the friendly error goes up."""
    try:
        return await call
    except LinodeError as error:
        await vps.alert_auth_failure(engine, settings, error)
        raise


async def record_vps(
    engine: AsyncEngine, actor: Actor, row: ServerRow, event: str, message: str, *, channel_id: str | None,
    metadata: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    async with engine.begin() as conn:
        await record_for_actor(
            conn, actor, event_type=event, entity_type="vps", entity_id=str(row.id), message=message,
            organization_id=row.organization_id, channel_id=channel_id, metadata=metadata,
        )  # fmt: skip
