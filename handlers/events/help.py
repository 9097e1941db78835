"""An @mention of the bot, or a direct message to it, is answered with where the help is.

The bot works through `/cs`; people still write to it. A mention is answered in its thread (unless
that thread is a ticket's, where every word is the ticket's business), a DM in the DM. Bots, edits,
deletions and thread replies (a requester thread lives in the DM too) are left to other listeners.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.rendering.help import render_short_help
from bot.services import tickets
from bot.services.container import Services
from handlers.errors import guarded


def _from_a_person(event: dict[str, Any]) -> bool:
    return bool(event.get("user")) and not event.get("bot_id") and event.get("subtype") is None


def is_direct_message(event: dict[str, Any]) -> bool:
    """A person's new top-level message in a DM with the bot (not an edit, not a thread reply)."""
    return event.get("channel_type") == "im" and _from_a_person(event) and not event.get("thread_ts")


def register(app: AsyncApp, services: Services) -> None:
    command = services.settings.slack_command

    @app.event("app_mention")
    @guarded(services)
    async def answer_mention(
        ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if not _from_a_person(event):
            return
        channel, thread = str(event["channel"]), event.get("thread_ts")
        if thread and await tickets.in_ticket_thread(services.engine, channel, str(thread)):
            return
        await client.chat_postMessage(
            channel=channel, thread_ts=str(thread or event["ts"]), **render_short_help(command)
        )

    async def direct_message(event: dict[str, Any]) -> bool:
        return is_direct_message(event)

    @app.event("message", matchers=[direct_message])
    @guarded(services)
    async def answer_direct_message(
        ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await client.chat_postMessage(channel=str(event["channel"]), **render_short_help(command))
