"""SQL for where notifications go: an organisation's bound channels for a kind of notice."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlalchemy import text

from bot.db.plain import SqlConnection

NoticeKind = Literal["billing", "vps", "tickets"]

_CHANNELS = {
    kind: text(
        f"SELECT channel_id FROM bot_channel_bindings WHERE organization_id = :org AND notify_{kind} "
        "AND disabled_at IS NULL ORDER BY created_at"  # disabled: its workspace uninstalled the app
    )
    for kind in ("billing", "vps", "tickets")
}


async def bound_channels(conn: SqlConnection, organization_id: uuid.UUID, kind: NoticeKind) -> list[str]:
    return [r.channel_id for r in (await conn.execute(_CHANNELS[kind], {"org": organization_id})).all()]
