"""Messages in ticket threads: staff answers in the triage channel, customer answers in their thread.

Handled subtypes: none (a plain reply), `thread_broadcast` (a reply also sent to the channel, treated
as a reply) and `file_share` (its text). `message_changed` never creates a second reply: the stored
reply keeps its first text and the author gets an ephemeral note; `message_deleted` leaves the stored
reply alone (the panel has no deletion of replies). Anything from a bot (`bot_id`, `bot_message`),
including this app, is ignored, on top of Bolt's own self-event filter. Redeliveries are dropped by
event id in `handlers.middleware`, and a second copy of one message by its unique (thread, ts) key.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.rendering import tickets as render
from bot.services import tickets
from bot.services.container import Services
from bot.services.identity import SlackRef
from bot.services.tickets import ThreadMessage, ThreadOutcome
from bot.slack.markup import plain_text
from handlers.errors import guarded

log = logging.getLogger("csbot.tickets")
REPLY_SUBTYPES = (None, "thread_broadcast", "file_share")


def _from_bot(message: dict[str, Any]) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


def register(app: AsyncApp, services: Services) -> None:
    support = services.settings.support_channel

    @app.event("message")
    @guarded(services)
    async def ticket_thread_message(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, event: dict[str, Any]
    ) -> None:
        subtype = event.get("subtype")
        if subtype == "message_changed":
            await _edited(services, client, event)
            return
        if subtype == "message_deleted":
            log.info(
                "tickets.slack_message_deleted", extra={"channel": event.get("channel"), "ts": event.get("deleted_ts")}
            )
            return
        if subtype not in REPLY_SUBTYPES or _from_bot(event) or not event.get("user"):
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return
        slack = author(body, event)
        message = ThreadMessage(
            slack, str(event["channel"]), str(event["ts"]), str(thread_ts), plain_text(str(event.get("text") or ""))
        )
        prefix = await tickets.note_prefix(services.engine)
        outcome = await tickets.thread_message(services.engine, message, default_channel=support, prefix=prefix)
        hint = {
            ThreadOutcome.UNLINKED: render.NOTE_HINT_UNLINKED,
            ThreadOutcome.NOT_STAFF: render.NOTE_HINT_STAFF_ONLY.format(prefix=prefix),
            ThreadOutcome.NOT_MEMBER: render.NOTE_HINT_NOT_MEMBER,
            ThreadOutcome.TOO_LONG: render.REPLY_TOO_LONG.format(
                length=len(message.text), limit=tickets.REPLY_MAX_BYTES // 100 * 100
            ),
        }.get(outcome)
        if hint:
            await client.chat_postEphemeral(
                channel=message.channel_id, user=slack.user_id, text=hint, thread_ts=message.thread_ts
            )


async def _edited(services: Services, client: AsyncWebClient, event: dict[str, Any]) -> None:
    edited = event.get("message") or {}
    if _from_bot(edited) or not edited.get("thread_ts") or not edited.get("user"):
        return
    channel = str(event.get("channel") or "")
    outcome = await tickets.edited_message(services.engine, channel, str(edited["thread_ts"]), str(edited.get("ts")))
    if outcome is ThreadOutcome.EDIT_IGNORED:
        await client.chat_postEphemeral(
            channel=channel, user=str(edited["user"]), text=render.EDIT_NOT_SYNCED, thread_ts=str(edited["thread_ts"])
        )


def author(body: dict[str, Any], event: dict[str, Any]) -> SlackRef:
    """Who wrote a message, in their own workspace: in a Slack Connect channel the envelope names the
    channel's host workspace, and `user_team` the author's (whose identity links them)."""
    host = str(body.get("team_id") or "")
    team = str(event.get("user_team") or host)
    enterprise = str(body.get("enterprise_id") or "") if team == host else ""
    return SlackRef(enterprise, team, str(event["user"]))
