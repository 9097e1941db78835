"""Mirroring tickets into Slack: one idempotent `sync_ticket` used by every path.

Slack actions call it in their own transaction, the LISTEN loop calls it for each `csbot_tickets`
notification, and the reconciler calls it for every ticket the database says is behind. Each step is
guarded by a unique key (thread per ticket and kind, mirror per reply and thread) and an outbox
dedupe key, and the ticket is advisory-locked for the transaction, so however many paths or
replicas run it, each card, reply and status note is posted once.

Thread roots are posted through the outbox, so their `ts` is only known after delivery: until then
a thread collects nothing, and the next pass (after `resolve_threads`) catches up in order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import tickets as tickets_db
from bot.db.outbox import enqueue
from bot.db.tickets import ThreadRow, TicketRow
from bot.rendering import tickets as render
from bot.services import audit
from bot.services.identity import SlackRef

SUPPORT_CHANNEL_KEY = "support_channel"
ENTITY = "support_ticket"  # activity_logs.entity_type of tickets, as the panel writes it
ACTIVE_STATUSES = ("open", "in_progress")
RECONCILE_BATCH = 200


@dataclass(frozen=True)
class SyncHint:
    """What the caller knows that the database does not: who made a status change."""

    changed_by: str | None = None


#: A customer's reply to a ticket in this status sets it back to `open` (the panel's values).
REOPENED_FROM = "resolved"
REOPENED_BY = "a reply from {name}"


async def reopen(
    conn: AsyncConnection, ticket: TicketRow, author: uuid.UUID, reply_id: uuid.UUID, *, slack: SlackRef | None
) -> SyncHint | None:
    """`resolved` → `open` because the customer wrote again (in Slack: `slack` is who; else in the panel),
    logged for that customer; returns what the ticket's threads say about it (the card is redrawn too)."""
    if not await tickets_db.set_status(conn, ticket.id, "open"):
        return None
    metadata = {
        "ticket_id": str(ticket.id), "old_status": ticket.status, "new_status": "open",
        "reason": "customer_reply", "reply_id": str(reply_id),
    }  # fmt: skip
    message = f"Ticket reopened by a customer reply: {ticket.subject}"
    if slack is not None:
        await audit.record(
            conn, user_id=author, slack=slack, event_type="ticket.status", entity_type=ENTITY,
            entity_id=str(ticket.id), message=message, organization_id=ticket.organization_id, status="info",
            metadata=metadata,
        )  # fmt: skip
    else:  # a reply written in the panel, noticed by the sync
        await audit.record_unattended(
            conn, user_id=author, event_type="ticket.status", entity_type=ENTITY, entity_id=str(ticket.id),
            message=message, organization_id=ticket.organization_id, status="info", metadata=metadata,
        )  # fmt: skip
    return SyncHint(changed_by=REOPENED_BY.format(name=await tickets_db.user_name(conn, author)))


async def triage_channel(conn: AsyncConnection, default: str | None) -> str | None:
    """The channel set with `/cs admin support-channel`, else SUPPORT_CHANNEL."""
    return (await tickets_db.get_setting(conn, SUPPORT_CHANNEL_KEY)) or default


async def assignee_slack(conn: AsyncConnection, ticket: TicketRow) -> str | None:
    if ticket.assignee_id is None:
        return None
    ids = await tickets_db.slack_ids_of(conn, ticket.assignee_id)
    return ids[0] if ids else None


async def open_thread(
    conn: AsyncConnection,
    ticket: TicketRow,
    *,
    kind: tickets_db.ThreadKind,
    target: str,
    link_url: str | None = None,
) -> ThreadRow | None:
    """Create the thread row and queue its root post (once per ticket and kind)."""
    thread = await tickets_db.insert_thread(
        conn,
        ticket_id=ticket.id,
        kind=kind,
        target=target,
        root_hash=ticket.root_hash,
        status=ticket.status,
        link_url=link_url,
    )
    if thread is None:
        return None
    payload = render.render_root(kind, ticket, link_url=link_url, assignee_slack_id=await assignee_slack(conn, ticket))
    outbox_id = await enqueue(conn, target, payload, dedupe_key=f"ticket-root:{thread.id}")
    await tickets_db.set_thread_outbox(conn, thread.id, outbox_id)
    return thread


async def sync_ticket(
    conn: AsyncConnection, ticket_id: uuid.UUID, *, default_channel: str | None, hint: SyncHint | None = None
) -> None:
    """Bring every Slack mirror of one ticket up to date, in the caller's transaction."""
    await tickets_db.lock_ticket(conn, ticket_id)
    ticket = await tickets_db.get_ticket(conn, ticket_id)
    if ticket is None:
        return
    await tickets_db.resolve_threads(conn, ticket_id)
    if ticket.status == REOPENED_FROM and (late := await tickets_db.customer_reply_after_resolved(conn, ticket_id)):
        hint = await reopen(conn, ticket, late.user_id, late.id, slack=None) or hint  # a reply in the panel
        ticket = await tickets_db.get_ticket(conn, ticket_id) or ticket
    threads = await tickets_db.threads_of(conn, ticket_id)
    channel = await triage_channel(conn, default_channel)
    if channel and ticket.status in ACTIVE_STATUSES and not any(t.kind == "triage" for t in threads):
        await open_thread(conn, ticket, kind="triage", target=channel)
    assignee = await assignee_slack(conn, ticket)
    for thread in threads:
        if thread.ts is None:
            continue
        await _sync_thread(conn, ticket, thread, assignee, hint or SyncHint())


async def _sync_thread(
    conn: AsyncConnection, ticket: TicketRow, thread: ThreadRow, assignee_slack: str | None, hint: SyncHint
) -> None:
    target = thread.channel_id or thread.target
    ts = str(thread.ts)
    if thread.root_hash != ticket.root_hash:
        seq = await tickets_db.bump_root(conn, thread.id, ticket.root_hash)
        root = render.render_root(thread.kind, ticket, link_url=thread.link_url, assignee_slack_id=assignee_slack)
        await enqueue(conn, target, {**root, "ts": ts}, kind="update", dedupe_key=f"ticket-root:{thread.id}:{seq}")
    if thread.status_seen != ticket.status:
        seq = await tickets_db.bump_note(conn, thread.id, ticket.status)
        note = render.render_status_post(ticket.id, thread.status_seen, ticket.status, ts, hint.changed_by)
        await enqueue(conn, target, note, dedupe_key=f"ticket-status:{thread.id}:{seq}")
    for reply in await tickets_db.unmirrored_replies(conn, ticket.id, thread.id):
        if not await tickets_db.claim_mirror(conn, reply.id, thread.id):
            continue
        # A reply too long for one message goes as several posts, queued together so they arrive in order.
        posts = render.render_reply_posts(thread.kind, reply, ts)
        key = f"ticket-reply:{reply.id}:{thread.id}"
        outbox_id = await enqueue(conn, target, posts[0], dedupe_key=key)
        for number, post in enumerate(posts[1:], start=2):
            await enqueue(conn, target, post, dedupe_key=f"{key}:{number}")
        await tickets_db.set_mirror_outbox(conn, reply.id, thread.id, outbox_id)


async def sync_one(engine: AsyncEngine, ticket_id: uuid.UUID, *, default_channel: str | None) -> None:
    async with engine.begin() as conn:
        await sync_ticket(conn, ticket_id, default_channel=default_channel)


async def reconcile(engine: AsyncEngine, *, default_channel: str | None, limit: int = RECONCILE_BATCH) -> int:
    """Find tickets whose mirrors are behind (missed notifications, bot downtime, roots just delivered)
    and sync each in its own transaction; returns how many were synced."""
    async with engine.begin() as conn:
        await tickets_db.resolve_threads(conn)
        channel = await triage_channel(conn, default_channel)
        pending = await tickets_db.tickets_needing_sync(conn, channel, limit)
    for ticket_id in pending:
        await sync_one(engine, ticket_id, default_channel=default_channel)
    return len(pending)
