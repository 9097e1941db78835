"""Where a file the bot makes for someone goes, and the outbox row that shares it.

A chart or an invoice says things about an organisation's servers and money, and a file shared in
a channel is seen by everyone there. So it goes to the channel the command came from only when that
channel is bound to the organisation for that kind of notice; otherwise to the requester's DM with
the bot. Files that come with a change (an invoice) or a scheduled message (the daily summary)
travel through the outbox (kind ``upload``): in order with the channel's messages, paced, retried,
and never lost when Slack is down. A chart someone asked to see is shared right after the answer
(reading never writes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from bot.db import notify_targets
from bot.db.notify_targets import NoticeKind
from bot.db.outbox import enqueue
from bot.db.plain import SqlConnection

MAX_COMMENT = 3000


@dataclass(frozen=True)
class Destination:
    target: str  # a channel id, or a user id meaning "their DM with the bot"
    in_channel: bool


async def destination(
    conn: SqlConnection, organization_id: uuid.UUID, kind: NoticeKind, channel_id: str | None, user_id: str
) -> Destination:
    if channel_id and channel_id in await notify_targets.bound_channels(conn, organization_id, kind):
        return Destination(channel_id, in_channel=True)
    return Destination(user_id, in_channel=False)


def file_payload(
    *, filename: str, title: str, comment: str, content_text: str | None = None, chart: dict[str, Any] | None = None,
    alt_text: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One file to share: ``content_text`` as it is, or ``chart`` (a spec drawn when it is shared)."""
    if (content_text is None) == (chart is None):
        raise ValueError("share exactly one of content_text and chart")
    payload: dict[str, Any] = {"filename": filename, "title": title, "initial_comment": comment[:MAX_COMMENT]}
    if alt_text:
        payload["alt_txt"] = alt_text[:1000]
    if content_text is not None:
        payload["content_text"] = content_text
    else:
        payload["chart"] = chart
    return payload


async def share_file(conn: SqlConnection, target: str, *, dedupe_key: str | None = None, **file: Any) -> int | None:
    """Queue one file (see ``file_payload``) in the caller's transaction, in order with ``target``'s messages."""
    return await enqueue(conn, target, file_payload(**file), kind="upload", dedupe_key=dedupe_key)
