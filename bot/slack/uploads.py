"""Sharing a file in Slack with files.uploadV2 (get an upload URL, send the bytes, complete): the one
way the bot shares charts and invoices, from the outbox worker or right after a request's ack."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.rendering.charts import draw_async


async def resolve_target(client: AsyncWebClient, target: str, known: dict[str, str] | None = None) -> str:
    """A user id (U…/W…) means "their DM with the bot": open (and remember) the IM channel."""
    if not target.startswith(("U", "W")):
        return target
    if known is not None and target in known:
        return known[target]
    channel = str((await client.conversations_open(users=target))["channel"]["id"])
    if known is not None:
        known[target] = channel
    return channel


async def share(client: AsyncWebClient, channel: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Share ``payload``'s file in ``channel``: its ``content_text``, or its ``chart`` drawn now (in a
    worker thread); ``filename``, ``title``, ``alt_txt`` and ``initial_comment`` as Slack takes them."""
    if "chart" in payload:
        content: bytes = await draw_async(payload["chart"])
    else:
        content = str(payload["content_text"]).encode()
    response = await client.files_upload_v2(
        channel=channel,
        content=content,
        filename=payload["filename"],
        title=payload.get("title"),
        alt_txt=payload.get("alt_txt"),
        initial_comment=payload.get("initial_comment"),
    )
    return {"channel": channel, "ts": None, "file_id": (response.get("file") or {}).get("id")}


async def share_with(client: AsyncWebClient, target: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Share now (right after a request's ack): in a channel, or a user's DM when ``target`` is a user id."""
    return await share(client, await resolve_target(client, target), payload)
