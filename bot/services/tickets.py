"""Support tickets from Slack: create, read, reply, and the staff changes (status, priority, assignment).

The rules are the panel's (Q6): statuses, priorities, minimum lengths, only staff change status,
replies touch the ticket, staff replies log `ticket_reply` for the ticket's creator. Every change
writes activity and re-syncs the ticket's Slack mirrors in the same transaction.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import identities as identities_db
from bot.db import notify_targets
from bot.db import tickets as tickets_db
from bot.db.outbox import enqueue
from bot.db.tickets import SUBJECT_MAX, DuplicateSlackMessage, ReplyRow, ThreadRow, TicketRow
from bot.errors import UserError
from bot.services import audit, tickets_sla
from bot.services.identity import Actor, SlackRef
from bot.services.paging import Span, read_page
from bot.services.permissions import Action
from bot.services.tickets_sync import (
    ENTITY,
    REOPENED_FROM,
    SUPPORT_CHANNEL_KEY,
    SyncHint,
    open_thread,
    reopen,
    sync_ticket,
)

STATUSES = ("open", "in_progress", "resolved", "closed")
PRIORITIES = ("low", "medium", "high", "urgent")
#: The categories the panel's own ticket form offers (src/pages/Support.tsx), in its order.
CATEGORIES = ("general", "technical", "billing", "feature_request")
NOTE_PREFIX_KEY = "ticket_note_prefix"
DEFAULT_NOTE_PREFIX = "note:"
LIST_LIMIT = 15
MIN_PREFIX = 4
#: The reaction on a thread message once it is stored as a reply (a ✓).
STORED_REACTION = "white_check_mark"
#: How long a thread message waits for a ticket root that Slack has accepted but whose ts the outbox
#: has not recorded yet: the reply can arrive in that gap, and must not be taken for an ordinary thread.
ROOT_IN_FLIGHT_WAIT_SECONDS = 3.0
#: The panel's trigger on support_ticket_replies sends each new reply whole through pg_notify, which
#: refuses a payload of 8,000 bytes or more (migrations/sql/0001_panel_baseline.sql): the INSERT of a
#: longer reply fails, so neither the panel nor the bot can store one.
NOTIFY_PAYLOAD_MAX = 7999
#: The rest of that payload: three ids, the flag, the timestamp and the JSON around them (~230 bytes).
NOTIFY_ENVELOPE = 300
REPLY_MAX_BYTES = NOTIFY_PAYLOAD_MAX - NOTIFY_ENVELOPE
#: JSON escapes as PostgreSQL writes them; other control characters take six bytes (\u00XX).
_JSON_ESCAPES = {'"': 2, "\\": 2, "\b": 2, "\f": 2, "\n": 2, "\r": 2, "\t": 2}


class TicketNotFound(UserError):
    """I can't find that ticket in your organisation."""


class ReplyTooLong(UserError):
    """Too long for one ticket reply: send it as several shorter replies."""


def reply_bytes(text: str) -> int:
    """Bytes `text` takes inside the panel's notification (JSON-escaped, UTF-8)."""
    return sum(_JSON_ESCAPES.get(c) or (6 if c < " " else len(c.encode())) for c in text)


def reply_fits(text: str) -> bool:
    """Whether the panel can store `text` as one reply (see `NOTIFY_PAYLOAD_MAX`)."""
    return reply_bytes(text.strip()) <= REPLY_MAX_BYTES


class StaffOnly(UserError):
    """Only ContainerStacks staff can do that."""


@dataclass(frozen=True)
class TicketDraft:
    subject: str
    category: str
    priority: str
    message: str


def validate_draft(draft: TicketDraft) -> dict[str, str]:
    """Field errors keyed by modal block id (empty when the draft is acceptable)."""
    errors: dict[str, str] = {}
    if len(draft.subject.strip()) < 3:
        errors["subject"] = "The subject needs at least 3 characters."
    elif len(draft.subject.strip()) > SUBJECT_MAX:
        errors["subject"] = f"The subject can have at most {SUBJECT_MAX} characters."
    if draft.category.strip() not in CATEGORIES:
        errors["category"] = "Choose one of the categories: general, technical, billing or feature request."
    if draft.priority not in PRIORITIES:
        errors["priority"] = "Choose low, medium, high or urgent."
    if len(draft.message.strip()) < 10:
        errors["message"] = "The message needs at least 10 characters."
    return errors


def requester_target(channel_id: str | None, slack_user_id: str, bound: Collection[str]) -> str:
    """Where the requester thread goes: the channel it was opened from when that channel is bound to the
    organisation for tickets (`bound`), else privately to the person's DM with the bot, so a ticket
    opened anywhere else is never shown to that channel."""
    if channel_id and channel_id[:1] in ("C", "G") and channel_id in bound:
        return channel_id
    return slack_user_id


def _preview(message: str) -> str:
    return message[:100]


async def _log(
    conn: AsyncConnection, actor: Actor, ticket: TicketRow, event: str, message: str, **meta: object
) -> None:
    await audit.record(
        conn,
        user_id=actor.user_id,
        slack=actor.slack,
        event_type=event,
        entity_type=ENTITY,
        entity_id=str(ticket.id),
        message=message,
        organization_id=ticket.organization_id,
        metadata={"ticket_id": str(ticket.id), **meta},
    )


async def _visible_ticket(conn: AsyncConnection, actor: Actor, ticket_id: uuid.UUID) -> TicketRow:
    """The ticket, locked for this transaction (before any row lock, so syncs never deadlock with us)."""
    await tickets_db.lock_ticket(conn, ticket_id)
    ticket = await tickets_db.get_ticket(conn, ticket_id)
    if ticket is None:
        raise TicketNotFound
    if not actor.is_staff and not await tickets_db.is_member(conn, ticket.organization_id, actor.user_id):
        raise TicketNotFound
    return ticket


async def find_ticket(engine: AsyncEngine, actor: Actor, reference: str) -> TicketRow:
    """A ticket by id prefix: the active organisation's for customers, any for staff."""
    prefix = reference.strip().lower().lstrip("#")
    if len(prefix) < MIN_PREFIX or any(c not in "0123456789abcdef-" for c in prefix):
        raise UserError(f"“{reference}” is not a ticket id. Use the first {MIN_PREFIX}+ characters shown in the list.")
    org_id = None if actor.is_staff else (actor.org.id if actor.org else None)
    if org_id is None and not actor.is_staff:
        raise TicketNotFound
    async with engine.connect() as conn:
        found = await tickets_db.tickets_by_prefix(conn, prefix, org_id)
    if not found:
        raise TicketNotFound
    if len(found) > 1:
        raise UserError(f"“{reference}” matches several tickets; type more of the id.")
    return found[0]


async def ticket_for_modal(engine: AsyncEngine, ticket_id: uuid.UUID) -> TicketRow:
    """The ticket a reply modal is about (who may reply is checked when the modal is submitted)."""
    async with engine.connect() as conn:
        ticket = await tickets_db.get_ticket(conn, ticket_id)
    if ticket is None:
        raise TicketNotFound
    return ticket


@dataclass(frozen=True)
class TicketList:
    """One page of an organisation's tickets, most recently active first."""

    organization_id: uuid.UUID
    organization_name: str
    tickets: list[TicketRow]
    span: Span


async def list_tickets(engine: AsyncEngine, actor: Actor, *, offset: int = 0) -> TicketList:
    if actor.org is None:
        raise UserError("You are not in an organisation yet.")
    actor.require(Action.VIEW)
    org = actor.org
    async with engine.connect() as conn:
        rows, span = await read_page(
            lambda: tickets_db.count_organization_tickets(conn, org.id),
            lambda n, at: tickets_db.organization_tickets(conn, org.id, limit=n, offset=at),
            offset=max(0, offset),
            limit=LIST_LIMIT,
        )
    return TicketList(org.id, org.name, rows, span)


async def conversation(engine: AsyncEngine, actor: Actor, reference: str) -> tuple[TicketRow, list[ReplyRow]]:
    ticket = await find_ticket(engine, actor, reference)
    async with engine.connect() as conn:
        return ticket, await tickets_db.replies(conn, ticket.id)


def filing_organization(actor: Actor) -> uuid.UUID:
    """Where a new ticket form files its ticket: the actor's organisation, which they can see."""
    if actor.org is None:
        raise UserError("You are not in an organisation yet, so there is nowhere to file the ticket.")
    actor.require(Action.VIEW)
    return actor.org.id


async def create_ticket(
    engine: AsyncEngine,
    actor: Actor,
    draft: TicketDraft,
    *,
    origin_channel: str | None,
    link_url: str | None,
    default_channel: str | None,
) -> TicketRow:
    """Insert the ticket in the actor's organisation (the one the form was bound to), open its requester
    thread (in `origin_channel` if bound for tickets, else the requester's DM) and triage card."""
    organization_id = filing_organization(actor)
    message = draft.message.strip() + (f"\n\n(Created from Slack: {link_url})" if link_url else "")
    async with engine.begin() as conn:
        ticket_id = await tickets_db.insert_ticket(
            conn,
            organization_id=organization_id,
            user_id=actor.user_id,
            subject=draft.subject.strip(),
            message=message,
            priority=draft.priority,
            category=draft.category.strip(),
        )
        ticket = await tickets_db.get_ticket(conn, ticket_id)
        assert ticket is not None
        await _log(
            conn,
            actor,
            ticket,
            "ticket.create",
            f"Opened support ticket: {ticket.subject}",
            priority=ticket.priority,
            category=ticket.category,
        )
        bound = await notify_targets.bound_channels(conn, organization_id, "tickets")
        target = requester_target(origin_channel, actor.slack.user_id, bound)
        await open_thread(conn, ticket, kind="requester", target=target, link_url=link_url)
        await sync_ticket(conn, ticket.id, default_channel=default_channel)
    return ticket


async def _insert_reply(
    conn: AsyncConnection,
    actor_user: uuid.UUID,
    slack: SlackRef,
    ticket: TicketRow,
    text: str,
    *,
    is_staff: bool,
    origin: tuple[int, str] | None,
) -> SyncHint | None:
    """Store the reply and log it as the panel does; a customer's reply to a resolved ticket reopens it
    (returned: what the ticket's threads should say about the reopening)."""
    reply_id = await tickets_db.insert_reply(
        conn, ticket_id=ticket.id, user_id=actor_user, message=text, is_staff_reply=is_staff, origin=origin
    )
    # As the panel: a staff reply is logged for the ticket's creator (their notification); a customer
    # reply from Slack is logged for its author.
    await audit.record(
        conn,
        user_id=ticket.created_by if is_staff else actor_user,
        slack=slack,
        event_type="ticket_reply",
        entity_type=ENTITY,
        entity_id=str(ticket.id),
        message=f"New reply on ticket: {ticket.subject}",
        organization_id=ticket.organization_id,
        status="info",
        metadata={
            "ticket_id": str(ticket.id),
            "reply_preview": _preview(text),
            "is_staff_reply": is_staff,
            "replied_by": str(actor_user),
        },
    )
    if is_staff or ticket.status != REOPENED_FROM:
        return None
    return await reopen(conn, ticket, actor_user, reply_id, slack=slack)


async def reply(
    engine: AsyncEngine, actor: Actor, ticket_id: uuid.UUID, text: str, *, default_channel: str | None
) -> TicketRow:
    """A reply from a modal: a staff reply when the author is staff, else a customer reply."""
    if not text.strip():
        raise UserError("The reply is empty.")
    if not reply_fits(text):
        raise ReplyTooLong
    async with engine.begin() as conn:
        ticket = await _visible_ticket(conn, actor, ticket_id)
        hint = await _insert_reply(
            conn, actor.user_id, actor.slack, ticket, text.strip(), is_staff=actor.is_staff, origin=None
        )
        await sync_ticket(conn, ticket.id, default_channel=default_channel, hint=hint)
    return ticket


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise StaffOnly


async def change_status(
    engine: AsyncEngine, actor: Actor, ticket_id: uuid.UUID, status: str, *, default_channel: str | None
) -> bool:
    _require_staff(actor)
    if status not in STATUSES:
        raise UserError("Unknown status.")
    async with engine.begin() as conn:
        ticket = await _visible_ticket(conn, actor, ticket_id)
        changed = await tickets_db.set_status(conn, ticket.id, status)
        if changed:
            await _log(
                conn,
                actor,
                ticket,
                "ticket.status",
                f"Ticket status changed to {status}",
                old_status=ticket.status,
                new_status=status,
            )
        await sync_ticket(conn, ticket.id, default_channel=default_channel, hint=SyncHint(changed_by=actor.name))
    return changed


async def change_priority(
    engine: AsyncEngine, actor: Actor, ticket_id: uuid.UUID, priority: str, *, default_channel: str | None
) -> bool:
    _require_staff(actor)
    if priority not in PRIORITIES:
        raise UserError("Unknown priority.")
    async with engine.begin() as conn:
        ticket = await _visible_ticket(conn, actor, ticket_id)
        changed = await tickets_db.set_priority(conn, ticket.id, priority)
        if changed:
            await _log(
                conn,
                actor,
                ticket,
                "ticket.priority",
                f"Ticket priority changed to {priority}",
                old_priority=ticket.priority,
                new_priority=priority,
            )
        await sync_ticket(conn, ticket.id, default_channel=default_channel)
    return changed


async def assign(
    engine: AsyncEngine, actor: Actor, ticket_id: uuid.UUID, assignee: SlackRef, *, default_channel: str | None
) -> str:
    """Assign to a linked staff member (by Slack identity); returns their name."""
    _require_staff(actor)
    async with engine.begin() as conn:
        identity = await identities_db.get_identity(conn, assignee.enterprise_id, assignee.team_id, assignee.user_id)
        if identity is None or identity.user_role != "admin":
            raise UserError("Tickets can only be assigned to ContainerStacks staff with a linked Slack account.")
        ticket = await _visible_ticket(conn, actor, ticket_id)
        if await tickets_db.assign(conn, ticket.id, identity.user_id, actor.user_id):
            await _log(
                conn,
                actor,
                ticket,
                "ticket.assign",
                f"Ticket assigned to {identity.name}",
                assignee_id=str(identity.user_id),
            )
        await sync_ticket(conn, ticket.id, default_channel=default_channel)
    return identity.name


async def set_support_channel(engine: AsyncEngine, actor: Actor, channel_id: str) -> None:
    _require_staff(actor)
    async with engine.begin() as conn:
        await tickets_db.set_setting(conn, SUPPORT_CHANNEL_KEY, channel_id, actor.user_id)
        await audit.record_for_actor(
            conn,
            actor,
            event_type="ticket.support_channel",
            entity_type="system",
            entity_id=SUPPORT_CHANNEL_KEY,
            message=f"Support triage channel set to {channel_id}",
            channel_id=channel_id,
        )


# --- messages typed in a ticket thread -------------------------------------------------------------------------


class ThreadOutcome(Enum):
    NOT_A_TICKET_THREAD = "not_a_ticket_thread"
    STORED = "stored"
    INTERNAL_NOTE = "internal_note"
    DUPLICATE = "duplicate"
    UNLINKED = "unlinked"
    NOT_STAFF = "not_staff"
    NOT_MEMBER = "not_member"
    TOO_LONG = "too_long"  # the panel cannot store it as one reply: its author is told to split it
    EDIT_IGNORED = "edit_ignored"


@dataclass(frozen=True)
class ThreadMessage:
    slack: SlackRef
    channel_id: str
    ts: str
    thread_ts: str
    text: str


async def note_prefix(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        return (await tickets_db.get_setting(conn, NOTE_PREFIX_KEY)) or DEFAULT_NOTE_PREFIX


async def _thread_once_known(engine: AsyncEngine, channel_id: str, thread_ts: str) -> ThreadRow | None:
    """The ticket thread rooted at (channel, ts), waiting a little while a root post is in flight."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ROOT_IN_FLIGHT_WAIT_SECONDS
    while True:
        async with engine.connect() as conn:
            thread = await tickets_db.thread_at(conn, channel_id, thread_ts)
            if thread is not None or not await tickets_db.roots_in_flight(conn):
                return thread
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(0.1)


async def thread_message(
    engine: AsyncEngine, message: ThreadMessage, *, default_channel: str | None, prefix: str
) -> ThreadOutcome:
    """A human's message in some thread: store it as a ticket reply when the thread and author allow."""
    if not message.text.strip():
        return ThreadOutcome.NOT_A_TICKET_THREAD
    thread = await _thread_once_known(engine, message.channel_id, message.thread_ts)
    if thread is None:
        return ThreadOutcome.NOT_A_TICKET_THREAD
    async with engine.begin() as conn:
        # The ticket's lock comes before any row lock this transaction takes (as in sync_ticket).
        await tickets_db.lock_ticket(conn, thread.ticket_id)
        await tickets_db.resolve_threads(conn, thread.ticket_id)
        if thread.kind == "triage" and message.text.strip().lower().startswith(prefix.lower()):
            return ThreadOutcome.INTERNAL_NOTE
        if await tickets_db.reply_from_slack(conn, thread.id, message.ts) is not None:
            return ThreadOutcome.DUPLICATE
        slack = message.slack
        identity = await identities_db.get_identity(conn, slack.enterprise_id, slack.team_id, slack.user_id)
        if identity is None:
            return ThreadOutcome.UNLINKED
        is_staff = identity.user_role == "admin"
        ticket = await tickets_db.get_ticket(conn, thread.ticket_id)
        if ticket is None:
            return ThreadOutcome.NOT_A_TICKET_THREAD
        if thread.kind == "triage" and not is_staff:
            return ThreadOutcome.NOT_STAFF
        if not is_staff and not await tickets_db.is_member(conn, ticket.organization_id, identity.user_id):
            return ThreadOutcome.NOT_MEMBER
        if not reply_fits(message.text):
            return ThreadOutcome.TOO_LONG
        try:
            async with conn.begin_nested():  # a concurrent copy of the same message rolls back to here
                hint = await _insert_reply(
                    conn,
                    identity.user_id,
                    slack,
                    ticket,
                    message.text.strip(),
                    is_staff=is_staff,
                    origin=(thread.id, message.ts),
                )
        except DuplicateSlackMessage:
            return ThreadOutcome.DUPLICATE
        # A ✓ on the message once it is stored (through the outbox: never in the request's way).
        key = f"ticket-stored:{thread.id}:{message.ts}"
        stored = {"timestamp": message.ts, "name": STORED_REACTION}  # reactions.add's arguments
        await enqueue(conn, message.channel_id, stored, kind="reaction", dedupe_key=key)
        await sync_ticket(conn, ticket.id, default_channel=default_channel, hint=hint)
    return ThreadOutcome.STORED


async def in_ticket_thread(engine: AsyncEngine, channel_id: str, thread_ts: str) -> bool:
    """The thread is a ticket's (its card or its requester thread)."""
    async with engine.connect() as conn:
        return await tickets_db.thread_at(conn, channel_id, thread_ts) is not None


async def edited_message(engine: AsyncEngine, channel_id: str, thread_ts: str, ts: str) -> ThreadOutcome:
    """An edit of a message in a ticket thread: the stored reply keeps its first text."""
    async with engine.connect() as conn:
        thread = await tickets_db.thread_at(conn, channel_id, thread_ts)
        if thread is None or await tickets_db.reply_from_slack(conn, thread.id, ts) is None:
            return ThreadOutcome.NOT_A_TICKET_THREAD
    return ThreadOutcome.EDIT_IGNORED


# --- staff settings ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketSettings:
    support_channel: str | None
    note_prefix: str
    sla_hours: dict[str, int]
    digest_hour: int


async def ticket_settings(engine: AsyncEngine, default_channel: str | None) -> TicketSettings:
    async with engine.connect() as conn:
        hour = await tickets_db.get_setting(conn, tickets_sla.DIGEST_HOUR_KEY)
        return TicketSettings(
            support_channel=(await tickets_db.get_setting(conn, SUPPORT_CHANNEL_KEY)) or default_channel,
            note_prefix=(await tickets_db.get_setting(conn, NOTE_PREFIX_KEY)) or DEFAULT_NOTE_PREFIX,
            sla_hours=await tickets_sla.sla_hours(conn),
            digest_hour=int(hour) if hour and hour.isdigit() else tickets_sla.DEFAULT_DIGEST_HOUR,
        )


async def change_setting(engine: AsyncEngine, actor: Actor, name: str, values: list[str]) -> None:
    """`note-prefix <text>`, `sla <priority> <hours>` or `digest-hour <0-23>`; staff only, audited."""
    _require_staff(actor)
    async with engine.begin() as conn:
        if name == "note-prefix" and len(values) == 1 and 1 <= len(values[0]) <= 20:
            key, value = NOTE_PREFIX_KEY, values[0]
        elif (
            name == "sla"
            and len(values) == 2
            and values[0] in PRIORITIES
            and values[1].isdigit()
            and int(values[1]) > 0
        ):
            hours = await tickets_sla.sla_hours(conn)
            hours[values[0]] = int(values[1])
            key, value = tickets_sla.SLA_HOURS_KEY, json.dumps(hours)
        elif name == "digest-hour" and len(values) == 1 and values[0].isdigit() and int(values[0]) < 24:
            key, value = tickets_sla.DIGEST_HOUR_KEY, values[0]
        else:
            raise UserError(SETTINGS_USAGE)
        await tickets_db.set_setting(conn, key, value, actor.user_id)
        await audit.record_for_actor(
            conn,
            actor,
            event_type="ticket.settings",
            entity_type="system",
            entity_id=key,
            message=f"Ticket setting {key} changed",
            metadata={"key": key, "value": value},
        )


SETTINGS_USAGE = (
    "Change one setting at a time: `note-prefix <text>` (1–20 characters), `sla <low|medium|high|urgent> <hours>` "
    "or `digest-hour <0-23>`."
)
