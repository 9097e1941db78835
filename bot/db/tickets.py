"""SQL for support tickets (the panel's tables) and the bot's ticket mirrors, assignments and SLA state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

ThreadKind = Literal["triage", "requester"]
SUBJECT_MAX = 500  # support_tickets.subject varchar(500)
CATEGORY_MAX = 100  # support_tickets.category varchar(100)


class DuplicateSlackMessage(Exception):
    """This Slack message is already stored as a ticket reply."""


@dataclass(frozen=True)
class TicketRow:
    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    created_by: uuid.UUID
    requester_name: str
    requester_email: str
    subject: str
    message: str
    status: str
    priority: str
    category: str
    has_staff_reply: bool
    created_at: datetime
    updated_at: datetime
    last_activity: datetime
    assignee_id: uuid.UUID | None
    assignee_name: str | None
    root_hash: str
    #: Distributed mode: the Slack workspace (or Grid org) the requester linked from; None otherwise.
    requester_workspace: str | None = None


@dataclass(frozen=True)
class ReplyRow:
    id: uuid.UUID
    ticket_id: uuid.UUID
    user_id: uuid.UUID
    author_name: str
    message: str
    is_staff_reply: bool
    created_at: datetime


@dataclass(frozen=True)
class ThreadRow:
    id: int
    ticket_id: uuid.UUID
    kind: ThreadKind
    target: str
    outbox_id: int | None
    channel_id: str | None
    ts: str | None
    root_hash: str | None
    root_seq: int
    status_seen: str | None
    note_seq: int
    link_url: str | None


#: What the root message of a thread shows; a change of it means the root needs a chat.update.
ROOT_HASH = (
    "md5(concat_ws('|', t.subject, t.status, t.priority, t.category, t.has_staff_reply::text, a.assignee_id::text))"
)

_TICKET_SELECT = f"""
    SELECT t.id, t.organization_id, o.name AS organization_name, t.created_by,
           u.name AS requester_name, u.email AS requester_email, t.subject, t.message,
           COALESCE(t.status, 'open') AS status, COALESCE(t.priority, 'medium') AS priority, t.category,
           COALESCE(t.has_staff_reply, false) AS has_staff_reply, t.created_at, t.updated_at,
           GREATEST(t.updated_at, (SELECT max(r.created_at) FROM support_ticket_replies r WHERE r.ticket_id = t.id))
               AS last_activity,
           a.assignee_id, au.name AS assignee_name, {ROOT_HASH} AS root_hash,
           (SELECT COALESCE(i.team_name, i.enterprise_name)
              FROM bot_slack_identities s JOIN bot_slack_installations i
                ON i.team_id = s.team_id OR (i.is_enterprise_install AND s.enterprise_id <> ''
                                             AND i.enterprise_id = s.enterprise_id)
             WHERE s.user_id = t.created_by AND i.uninstalled_at IS NULL
             ORDER BY s.linked_at DESC, i.is_enterprise_install LIMIT 1) AS requester_workspace
    FROM support_tickets t
    JOIN organizations o ON o.id = t.organization_id
    JOIN users u ON u.id = t.created_by
    LEFT JOIN bot_ticket_assignments a ON a.ticket_id = t.id
    LEFT JOIN users au ON au.id = a.assignee_id
"""

_GET = text(_TICKET_SELECT + " WHERE t.id = :id")
_BY_PREFIX = text(
    _TICKET_SELECT + " WHERE t.id::text LIKE :prefix AND (CAST(:org AS uuid) IS NULL OR t.organization_id = :org)"
    " ORDER BY t.created_at DESC LIMIT 5"
)
_LIST_ORG = text(
    _TICKET_SELECT + " WHERE t.organization_id = :org ORDER BY last_activity DESC, t.id LIMIT :limit OFFSET :offset"
)
_COUNT_ORG = text("SELECT count(*) FROM support_tickets WHERE organization_id = :org")
_OPEN_FOR_DIGEST = text(
    _TICKET_SELECT + " WHERE COALESCE(t.status, 'open') IN ('open', 'in_progress') ORDER BY t.created_at LIMIT :limit"
)
_COUNT_OPEN_BY_AGE = text(
    """
    WITH params AS (SELECT CAST(:now AS timestamptz) AS now_ts)
    SELECT count(*) FILTER (WHERE created_at > now_ts - interval '1 day') AS under_1d,
           count(*) FILTER (WHERE created_at <= now_ts - interval '1 day' AND created_at > now_ts - interval '3 days')
               AS d1_3,
           count(*) FILTER (WHERE created_at <= now_ts - interval '3 days' AND created_at > now_ts - interval '7 days')
               AS d3_7,
           count(*) FILTER (WHERE created_at <= now_ts - interval '7 days') AS over_7d
    FROM support_tickets, params WHERE COALESCE(status, 'open') IN ('open', 'in_progress')
    """
)

_INSERT_TICKET = text(
    """
    INSERT INTO support_tickets (organization_id, created_by, subject, message, priority, category)
    VALUES (:org, :user, :subject, :message, :priority, :category)
    RETURNING id
    """
)
_SET_STATUS = text(
    "UPDATE support_tickets SET status = :status WHERE id = :id AND status IS DISTINCT FROM :status RETURNING id"
)
_SET_PRIORITY = text(
    "UPDATE support_tickets SET priority = :priority WHERE id = :id AND priority IS DISTINCT FROM :priority "
    "RETURNING id"
)
_TOUCH = text("UPDATE support_tickets SET updated_at = now() WHERE id = :id")

_REPLY_SELECT = """
    SELECT r.id, r.ticket_id, r.user_id, u.name AS author_name, r.message,
           COALESCE(r.is_staff_reply, false) AS is_staff_reply, r.created_at
    FROM support_ticket_replies r JOIN users u ON u.id = r.user_id
"""
_REPLIES = text(_REPLY_SELECT + " WHERE r.ticket_id = :id ORDER BY r.created_at, r.id")
_INSERT_REPLY = text(
    """
    INSERT INTO support_ticket_replies (id, ticket_id, user_id, message, is_staff_reply)
    VALUES (:id, :ticket, :user, :message, :staff)
    """
)
_UNMIRRORED = text(
    _REPLY_SELECT
    + """
    WHERE r.ticket_id = :ticket
      AND NOT EXISTS (SELECT 1 FROM bot_ticket_reply_mirrors m WHERE m.reply_id = r.id AND m.thread_id = :thread)
    ORDER BY r.created_at, r.id
    """
)
_INSERT_MIRROR = text(
    """
    INSERT INTO bot_ticket_reply_mirrors (reply_id, thread_id, origin, slack_ts, outbox_id)
    VALUES (:reply, :thread, :origin, :slack_ts, :outbox)
    ON CONFLICT (reply_id, thread_id) DO NOTHING
    RETURNING reply_id
    """
)
_MIRROR_BY_SLACK = text(
    "SELECT reply_id FROM bot_ticket_reply_mirrors WHERE thread_id = :thread AND slack_ts = :ts AND origin"
)
_SET_MIRROR_OUTBOX = text(
    "UPDATE bot_ticket_reply_mirrors SET outbox_id = :outbox WHERE reply_id = :reply AND thread_id = :thread"
)

_THREAD_COLUMNS = (
    "id, ticket_id, kind, target, outbox_id, channel_id, ts, root_hash, root_seq, status_seen, note_seq, link_url"
)
_THREADS_OF = text(
    f"SELECT {_THREAD_COLUMNS} FROM bot_ticket_threads WHERE ticket_id = :ticket ORDER BY id FOR NO KEY UPDATE"
)
_INSERT_THREAD = text(
    f"""
    INSERT INTO bot_ticket_threads (ticket_id, kind, target, root_hash, status_seen, link_url)
    VALUES (:ticket, :kind, :target, :root_hash, :status, :link_url)
    ON CONFLICT (ticket_id, kind) DO NOTHING
    RETURNING {_THREAD_COLUMNS}
    """
)
_SET_THREAD_OUTBOX = text("UPDATE bot_ticket_threads SET outbox_id = :outbox WHERE id = :id")
#: Thread rows learn their root's channel and ts once the outbox delivered it. Per ticket, under the
#: ticket's advisory lock; the sweep over every ticket skips rows another transaction holds, so it
#: never waits while holding row locks (a wait there deadlocked with `sync_ticket`).
_RESOLVE_THREADS_OF = text(
    """
    UPDATE bot_ticket_threads th
    SET channel_id = o.result->>'channel', ts = o.result->>'ts'
    FROM bot_outbox o
    WHERE th.ticket_id = :ticket AND th.ts IS NULL AND o.id = th.outbox_id AND o.status = 'delivered'
      AND o.result->>'ts' IS NOT NULL
    """
)
_RESOLVE_ALL_THREADS = text(
    """
    UPDATE bot_ticket_threads th
    SET channel_id = o.result->>'channel', ts = o.result->>'ts'
    FROM bot_outbox o
    WHERE o.id = th.outbox_id AND th.id IN (
        SELECT t.id FROM bot_ticket_threads t JOIN bot_outbox d ON d.id = t.outbox_id
        WHERE t.ts IS NULL AND d.status = 'delivered' AND d.result->>'ts' IS NOT NULL
        FOR NO KEY UPDATE OF t SKIP LOCKED
    )
    """
)
#: Ticket roots handed to the outbox whose delivery is not recorded yet (a DM's channel is only known
#: after delivery, so this is not narrowed to one channel).
_ROOTS_IN_FLIGHT = text(
    """
    SELECT EXISTS (
        SELECT 1 FROM bot_ticket_threads th JOIN bot_outbox o ON o.id = th.outbox_id
        WHERE th.ts IS NULL AND o.status IN ('pending', 'sending')
    )
    """
)
#: The thread rooted at (channel, ts), resolved or only delivered, in ONE statement: two would read
#: two snapshots, and a resolve committed between them would hide the thread from both.
_THREAD_AT = text(
    f"""
    SELECT {", ".join("th." + c.strip() for c in _THREAD_COLUMNS.split(","))}
    FROM bot_ticket_threads th LEFT JOIN bot_outbox o ON o.id = th.outbox_id
    WHERE (th.channel_id = :channel AND th.ts = :ts)
       OR (th.ts IS NULL AND o.status = 'delivered' AND o.result->>'channel' = :channel AND o.result->>'ts' = :ts)
    """
)
_BUMP_ROOT = text(
    "UPDATE bot_ticket_threads SET root_hash = :hash, root_seq = root_seq + 1 WHERE id = :id RETURNING root_seq"
)
_BUMP_NOTE = text(
    "UPDATE bot_ticket_threads SET status_seen = :status, status_seen_at = now(), note_seq = note_seq + 1 "
    "WHERE id = :id RETURNING note_seq"
)

_NEEDING_SYNC = text(
    f"""
    SELECT t.id FROM support_tickets t
    WHERE CAST(:triage AS text) IS NOT NULL AND COALESCE(t.status, 'open') IN ('open', 'in_progress')
      AND NOT EXISTS (SELECT 1 FROM bot_ticket_threads th WHERE th.ticket_id = t.id AND th.kind = 'triage')
    UNION
    SELECT th.ticket_id FROM bot_ticket_threads th
    JOIN support_tickets t ON t.id = th.ticket_id
    LEFT JOIN bot_ticket_assignments a ON a.ticket_id = t.id
    WHERE th.ts IS NOT NULL AND (th.root_hash IS DISTINCT FROM {ROOT_HASH} OR th.status_seen IS DISTINCT FROM t.status)
    UNION
    SELECT th.ticket_id FROM bot_ticket_threads th JOIN bot_outbox o ON o.id = th.outbox_id
    WHERE th.ts IS NULL AND o.status = 'delivered'
    UNION
    SELECT r.ticket_id FROM support_ticket_replies r
    JOIN bot_ticket_threads th ON th.ticket_id = r.ticket_id AND th.ts IS NOT NULL
    WHERE NOT EXISTS (SELECT 1 FROM bot_ticket_reply_mirrors m WHERE m.reply_id = r.id AND m.thread_id = th.id)
    LIMIT :limit
    """
)
_LOCK_TICKET = text("SELECT pg_advisory_xact_lock(hashtext('csbot_ticket'), hashtext(CAST(:id AS text)))")

_ASSIGN = text(
    """
    INSERT INTO bot_ticket_assignments (ticket_id, assignee_id, assigned_by) VALUES (:ticket, :assignee, :by)
    ON CONFLICT (ticket_id) DO UPDATE SET assignee_id = EXCLUDED.assignee_id, assigned_by = EXCLUDED.assigned_by,
        assigned_at = now()
    WHERE bot_ticket_assignments.assignee_id IS DISTINCT FROM EXCLUDED.assignee_id
    RETURNING ticket_id
    """
)

_SETTING = text("SELECT value FROM bot_settings WHERE key = :key")
_SET_SETTING = text(
    """
    INSERT INTO bot_settings (key, value, updated_by) VALUES (:key, :value, :by)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()
    """
)

_SLA_BREACHES = text(
    _TICKET_SELECT
    + """
    WHERE COALESCE(t.status, 'open') IN ('open', 'in_progress') AND NOT COALESCE(t.has_staff_reply, false)
      AND t.created_at + make_interval(hours => CASE COALESCE(t.priority, 'medium')
            WHEN 'urgent' THEN CAST(:urgent AS int) WHEN 'high' THEN CAST(:high AS int)
            WHEN 'low' THEN CAST(:low AS int) ELSE CAST(:medium AS int) END) <= CAST(:now AS timestamptz)
      AND NOT EXISTS (SELECT 1 FROM bot_ticket_sla_reminders s WHERE s.ticket_id = t.id AND s.kind = :kind)
    ORDER BY t.created_at LIMIT :limit
    """
)
_CLAIM_SLA = text(
    """
    INSERT INTO bot_ticket_sla_reminders (ticket_id, kind, due_at, notified_at) VALUES (:ticket, :kind, :due, :now)
    ON CONFLICT (ticket_id, kind) DO NOTHING RETURNING ticket_id
    """
)
_CLAIM_DIGEST = text(
    "INSERT INTO bot_ticket_digests (digest_date, posted_at) VALUES (:day, :now) "
    "ON CONFLICT (digest_date) DO NOTHING RETURNING digest_date"
)
_STAFF_SLACK_IDS = text(
    """
    SELECT i.slack_user_id FROM bot_slack_identities i JOIN users u ON u.id = i.user_id
    WHERE i.user_id = :user ORDER BY i.linked_at DESC
    """
)
_IS_MEMBER = text("SELECT 1 FROM organization_members WHERE organization_id = :org AND user_id = :user")


def _ticket(row: Any) -> TicketRow:
    return TicketRow(**row._mapping)


def _thread(row: Any) -> ThreadRow:
    return ThreadRow(**row._mapping)


async def get_ticket(conn: AsyncConnection, ticket_id: uuid.UUID) -> TicketRow | None:
    row = (await conn.execute(_GET, {"id": ticket_id})).first()
    return None if row is None else _ticket(row)


async def tickets_by_prefix(conn: AsyncConnection, prefix: str, organization_id: uuid.UUID | None) -> list[TicketRow]:
    rows = (await conn.execute(_BY_PREFIX, {"prefix": prefix.lower() + "%", "org": organization_id})).all()
    return [_ticket(r) for r in rows]


async def organization_tickets(
    conn: AsyncConnection, organization_id: uuid.UUID, *, limit: int, offset: int = 0
) -> list[TicketRow]:
    rows = (await conn.execute(_LIST_ORG, {"org": organization_id, "limit": limit, "offset": offset})).all()
    return [_ticket(r) for r in rows]


async def count_organization_tickets(conn: AsyncConnection, organization_id: uuid.UUID) -> int:
    return int((await conn.execute(_COUNT_ORG, {"org": organization_id})).scalar_one())


async def open_tickets(conn: AsyncConnection, limit: int) -> list[TicketRow]:
    return [_ticket(r) for r in (await conn.execute(_OPEN_FOR_DIGEST, {"limit": limit})).all()]


async def open_counts_by_age(conn: AsyncConnection, now: datetime) -> dict[str, int]:
    return dict((await conn.execute(_COUNT_OPEN_BY_AGE, {"now": now})).one()._mapping)


async def insert_ticket(
    conn: AsyncConnection,
    *,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    subject: str,
    message: str,
    priority: str,
    category: str,
) -> uuid.UUID:
    params = {
        "org": organization_id,
        "user": user_id,
        "subject": subject,
        "message": message,
        "priority": priority,
        "category": category,
    }
    return (await conn.execute(_INSERT_TICKET, params)).scalar_one()


async def set_status(conn: AsyncConnection, ticket_id: uuid.UUID, status: str) -> bool:
    return (await conn.execute(_SET_STATUS, {"id": ticket_id, "status": status})).first() is not None


async def set_priority(conn: AsyncConnection, ticket_id: uuid.UUID, priority: str) -> bool:
    return (await conn.execute(_SET_PRIORITY, {"id": ticket_id, "priority": priority})).first() is not None


async def assign(conn: AsyncConnection, ticket_id: uuid.UUID, assignee_id: uuid.UUID, by: uuid.UUID) -> bool:
    params = {"ticket": ticket_id, "assignee": assignee_id, "by": by}
    return (await conn.execute(_ASSIGN, params)).first() is not None


async def replies(conn: AsyncConnection, ticket_id: uuid.UUID) -> list[ReplyRow]:
    return [ReplyRow(**r._mapping) for r in (await conn.execute(_REPLIES, {"id": ticket_id})).all()]


async def insert_reply(
    conn: AsyncConnection,
    *,
    ticket_id: uuid.UUID,
    user_id: uuid.UUID,
    message: str,
    is_staff_reply: bool,
    origin: tuple[int, str] | None = None,
) -> uuid.UUID:
    """Insert a reply (and touch the ticket, as the panel does); `origin` is the Slack (thread id, ts)
    it came from, whose unique key turns a second copy of the same message into `DuplicateSlackMessage`."""
    reply_id = uuid.uuid4()
    params = {"id": reply_id, "ticket": ticket_id, "user": user_id, "message": message, "staff": is_staff_reply}
    await conn.execute(_INSERT_REPLY, params)
    await conn.execute(_TOUCH, {"id": ticket_id})
    if origin is not None:
        try:
            await conn.execute(
                _INSERT_MIRROR,
                {"reply": reply_id, "thread": origin[0], "origin": True, "slack_ts": origin[1], "outbox": None},
            )
        except IntegrityError as exc:
            if "bot_ticket_reply_mirrors_thread_id_slack_ts_key" in str(exc.orig):
                raise DuplicateSlackMessage from exc
            raise
    return reply_id


async def reply_from_slack(conn: AsyncConnection, thread_id: int, slack_ts: str) -> uuid.UUID | None:
    row = (await conn.execute(_MIRROR_BY_SLACK, {"thread": thread_id, "ts": slack_ts})).first()
    return None if row is None else row.reply_id


async def unmirrored_replies(conn: AsyncConnection, ticket_id: uuid.UUID, thread_id: int) -> list[ReplyRow]:
    rows = (await conn.execute(_UNMIRRORED, {"ticket": ticket_id, "thread": thread_id})).all()
    return [ReplyRow(**r._mapping) for r in rows]


async def claim_mirror(conn: AsyncConnection, reply_id: uuid.UUID, thread_id: int) -> bool:
    params = {"reply": reply_id, "thread": thread_id, "origin": False, "slack_ts": None, "outbox": None}
    return (await conn.execute(_INSERT_MIRROR, params)).first() is not None


async def set_mirror_outbox(conn: AsyncConnection, reply_id: uuid.UUID, thread_id: int, outbox_id: int | None) -> None:
    await conn.execute(_SET_MIRROR_OUTBOX, {"reply": reply_id, "thread": thread_id, "outbox": outbox_id})


async def lock_ticket(conn: AsyncConnection, ticket_id: uuid.UUID) -> None:
    """Serialise mirroring of one ticket across workers and replicas (released at commit)."""
    await conn.execute(_LOCK_TICKET, {"id": str(ticket_id)})


async def resolve_threads(conn: AsyncConnection, ticket_id: uuid.UUID | None = None) -> None:
    """Copy the channel and ts of delivered root posts into their thread rows: one ticket's (hold its
    lock first), or every ticket's that no other transaction is holding."""
    if ticket_id is None:
        await conn.execute(_RESOLVE_ALL_THREADS)
    else:
        await conn.execute(_RESOLVE_THREADS_OF, {"ticket": ticket_id})


async def threads_of(conn: AsyncConnection, ticket_id: uuid.UUID) -> list[ThreadRow]:
    return [_thread(r) for r in (await conn.execute(_THREADS_OF, {"ticket": ticket_id})).all()]


async def roots_in_flight(conn: AsyncConnection) -> bool:
    return bool((await conn.execute(_ROOTS_IN_FLIGHT)).scalar_one())


async def thread_at(conn: AsyncConnection, channel_id: str, ts: str) -> ThreadRow | None:
    """The thread rooted at (channel, ts), also one whose delivered root is not copied in yet."""
    row = (await conn.execute(_THREAD_AT, {"channel": channel_id, "ts": ts})).first()
    return None if row is None else _thread(row)


async def insert_thread(
    conn: AsyncConnection,
    *,
    ticket_id: uuid.UUID,
    kind: ThreadKind,
    target: str,
    root_hash: str,
    status: str,
    link_url: str | None = None,
) -> ThreadRow | None:
    params = {
        "ticket": ticket_id,
        "kind": kind,
        "target": target,
        "root_hash": root_hash,
        "status": status,
        "link_url": link_url,
    }
    row = (await conn.execute(_INSERT_THREAD, params)).first()
    return None if row is None else _thread(row)


async def set_thread_outbox(conn: AsyncConnection, thread_id: int, outbox_id: int | None) -> None:
    await conn.execute(_SET_THREAD_OUTBOX, {"id": thread_id, "outbox": outbox_id})


async def bump_root(conn: AsyncConnection, thread_id: int, root_hash: str) -> int:
    return int((await conn.execute(_BUMP_ROOT, {"id": thread_id, "hash": root_hash})).scalar_one())


async def bump_note(conn: AsyncConnection, thread_id: int, status: str) -> int:
    return int((await conn.execute(_BUMP_NOTE, {"id": thread_id, "status": status})).scalar_one())


async def tickets_needing_sync(conn: AsyncConnection, triage_channel: str | None, limit: int) -> list[uuid.UUID]:
    rows = (await conn.execute(_NEEDING_SYNC, {"triage": triage_channel, "limit": limit})).all()
    return [r.id for r in rows]


async def get_setting(conn: AsyncConnection, key: str) -> str | None:
    return (await conn.execute(_SETTING, {"key": key})).scalar_one_or_none()


async def set_setting(conn: AsyncConnection, key: str, value: str, by: uuid.UUID | None) -> None:
    await conn.execute(_SET_SETTING, {"key": key, "value": value, "by": by})


async def sla_breaches(
    conn: AsyncConnection, *, now: datetime, hours: dict[str, int], kind: str, limit: int
) -> list[TicketRow]:
    params = {"now": now, "kind": kind, "limit": limit, **hours}
    return [_ticket(r) for r in (await conn.execute(_SLA_BREACHES, params)).all()]


async def claim_sla_reminder(
    conn: AsyncConnection, ticket_id: uuid.UUID, kind: str, due_at: datetime, now: datetime
) -> bool:
    params = {"ticket": ticket_id, "kind": kind, "due": due_at, "now": now}
    return (await conn.execute(_CLAIM_SLA, params)).first() is not None


async def claim_digest(conn: AsyncConnection, day: str, now: datetime) -> bool:
    return (await conn.execute(_CLAIM_DIGEST, {"day": day, "now": now})).first() is not None


async def slack_ids_of(conn: AsyncConnection, user_id: uuid.UUID) -> list[str]:
    return [r.slack_user_id for r in (await conn.execute(_STAFF_SLACK_IDS, {"user": user_id})).all()]


async def is_member(conn: AsyncConnection, organization_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    return (await conn.execute(_IS_MEMBER, {"org": organization_id, "user": user_id})).first() is not None


@dataclass(frozen=True)
class LateReply:
    id: uuid.UUID
    user_id: uuid.UUID


#: A customer's reply written after the bot saw the ticket `resolved` (in any of its threads).
_CUSTOMER_REPLY_AFTER_RESOLVED = text(
    """
    SELECT r.id, r.user_id FROM support_ticket_replies r
    WHERE r.ticket_id = :ticket AND NOT COALESCE(r.is_staff_reply, false)
      AND r.created_at > (SELECT min(th.status_seen_at) FROM bot_ticket_threads th
                          WHERE th.ticket_id = :ticket AND th.status_seen = 'resolved')
    ORDER BY r.created_at, r.id LIMIT 1
    """
)
_USER_NAME = text("SELECT name FROM users WHERE id = :user")


async def customer_reply_after_resolved(conn: AsyncConnection, ticket_id: uuid.UUID) -> LateReply | None:
    row = (await conn.execute(_CUSTOMER_REPLY_AFTER_RESOLVED, {"ticket": ticket_id})).first()
    return None if row is None else LateReply(row.id, row.user_id)


async def user_name(conn: AsyncConnection, user_id: uuid.UUID) -> str:
    return str((await conn.execute(_USER_NAME, {"user": user_id})).scalar_one_or_none() or "the customer")


@dataclass(frozen=True)
class Card:
    """Where a ticket's triage card is, once its root message was delivered."""

    channel: str
    ts: str


_TRIAGE_CARD = text(
    "SELECT channel_id, ts FROM bot_ticket_threads WHERE ticket_id = :ticket AND kind = 'triage' AND ts IS NOT NULL"
)


async def triage_card(conn: AsyncConnection, ticket_id: uuid.UUID) -> Card | None:
    row = (await conn.execute(_TRIAGE_CARD, {"ticket": ticket_id})).first()
    return None if row is None else Card(str(row.channel_id), str(row.ts))
