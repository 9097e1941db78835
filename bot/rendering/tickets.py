"""Block Kit for support tickets: the triage card, requester thread roots, thread posts, modals, lists.

Pure: domain rows in, Slack payloads out. Every panel- or user-supplied string goes through
`escape_mrkdwn` (modal initial values are plain text and need no escaping).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.db.tickets import SUBJECT_MAX, ReplyRow, TicketRow
from bot.rendering.dates import ago as _ago
from bot.rendering.escape import Mrkdwn, code, escape_mrkdwn, mrkdwn
from bot.rendering.fit import (
    INPUT_HINT,
    MESSAGE_BLOCKS,
    MESSAGE_BLOCKS_TEXT,
    SECTION_FIELD,
    SECTION_TEXT,
    cap_blocks,
    capped_sections,
    clip,
    clip_user_text,
    fallback,
    line_sections,
    pack_posts,
    sections,
    split_text,
)
from bot.rendering.paging import Pager, page_buttons, page_context
from bot.rendering.panel import panel_button
from bot.rendering.status import PRIORITY_EMOJI, ticket_status
from bot.rendering.status import ticket_label as _label

if TYPE_CHECKING:
    from bot.services.tickets import TicketList

STATUSES = ("open", "in_progress", "resolved", "closed")
PRIORITIES = ("low", "medium", "high", "urgent")
CATEGORIES = ("general", "technical", "billing", "feature_request")  # the panel's own form offers these
CATEGORY_LABELS = {"general": "General", "technical": "Technical", "billing": "Billing",
                   "feature_request": "Feature request"}  # fmt: skip

NEW_CALLBACK_ID = "ticket_new"
#: A New ticket button (the Home's): value is the organisation the form files the ticket in.
NEW_OPEN_ACTION_ID = "ticket_new_open"
REPLY_CALLBACK_ID = "ticket_reply"
ACTION_ASSIGN_ME = "ticket_assign_me"
ACTION_ASSIGN_USER = "ticket_assign_user"
ACTION_PRIORITY = "ticket_priority"
ACTION_STATUS = "ticket_status"
ACTION_REPLY = "ticket_reply_open"
ACTION_CLOSE = "ticket_close"
CARD_BLOCK_PREFIX = "ticket_card:"
TICKET_PAGER = Pager(previous_id="ticket_list_previous", next_id="ticket_list_next", noun="Tickets")
LIST_SUBJECT_CHARS = 120

NOTE_HINT_STAFF_ONLY = (
    "Only linked ContainerStacks staff can answer tickets here, so your message was not sent to the customer. "
    "Start a message with `{prefix}` to keep an internal note."
)
NOTE_HINT_UNLINKED = "Your Slack account is not linked to ContainerStacks, so this message was not added to the ticket."
NOTE_HINT_NOT_MEMBER = "You are not in this ticket's organisation, so your message was not added to the ticket."
EDIT_NOT_SYNCED = "Edits are not synced: the ticket keeps the text you first sent. Reply again to add a correction."
REPLY_HINT = "Up to 3,000 characters; for more, send several replies."
REPLY_TOO_LONG_FIELD = "Too long for one ticket reply (fewer characters fit with emoji). Send it as several replies."
REPLY_TOO_LONG = (
    "This message is {length:,} characters, too long for one ticket reply (at most about {limit:,} characters, "
    "fewer with emoji or accented letters), so it was not added to the ticket. "
    "Send it again as several shorter messages in this thread."
)
NO_TICKETS = "Your organisation has no support tickets yet. Open one with `{command} ticket new`."
SUPPORT_CHANNEL_SET = "Ticket cards will be posted in <#{channel}> from now on."


def short_id(ticket_id: object) -> str:
    return str(ticket_id)[:8]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": value}


def _metadata(ticket_id: object, kind: str) -> dict[str, Any]:
    return {"event_type": "csbot_ticket", "event_payload": {"ticket_id": str(ticket_id), "kind": kind}}


#: Longest text typed in a ticket form: Slack's own limit for a text input (the panel takes longer ones).
INPUT_MAX = 3000
#: How much of a ticket's own text its card quotes, and a conversation shows of one message (escaped).
CARD_EXCERPT = 1500
CONVERSATION_MESSAGE = 2 * SECTION_TEXT
#: Names and subjects within one line of a list, escaped.
NAME_IN_LINE = 200
SUBJECT_IN_LINE = 300


# --- triage card ---------------------------------------------------------------------------------------------


def render_card(ticket: TicketRow, *, assignee_slack_id: str | None = None) -> dict[str, Any]:
    """The one card per ticket in the triage channel, updated in place after every change."""
    assignee = (
        f"<@{assignee_slack_id}>"
        if assignee_slack_id
        else (clip_user_text(ticket.assignee_name, NAME_IN_LINE) if ticket.assignee_name else "_unassigned_")
    )
    tid = str(ticket.id)
    requester = f"{clip_user_text(ticket.requester_name, NAME_IN_LINE)} ({clip_user_text(ticket.requester_email, 320)})"
    organisation = clip_user_text(ticket.organization_name, NAME_IN_LINE)
    if ticket.requester_workspace:  # distributed mode: staff see which customer workspace it came from
        organisation += f" · Slack: {clip_user_text(ticket.requester_workspace, NAME_IN_LINE)}"
    fields = [
        f"*Organisation*\n{organisation}",
        f"*Requester*\n{requester}",
        f"*Category*\n{clip_user_text(ticket.category, NAME_IN_LINE)}",
        f"*Priority*\n{PRIORITY_EMOJI.get(ticket.priority, '')} {ticket.priority}",
        f"*Status*\n{ticket_status(ticket.status)}",
        f"*Assignee*\n{assignee}",
    ]
    blocks: list[dict[str, Any]] = [
        _section(f":ticket: *{escape_mrkdwn(ticket.subject)}* {code(short_id(tid))}"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": clip(f, SECTION_FIELD)} for f in fields]},
        _section(clip(">" + clip_user_text(ticket.message, CARD_EXCERPT).replace("\n", "\n>"), SECTION_TEXT)),
        _context(
            f"Opened {_ago(ticket.created_at)} · "
            + ("staff have replied" if ticket.has_staff_reply else "no staff reply yet")
            + " · reply in this thread to answer the customer; start with the note prefix (default `note:`) "
            "to keep a message internal"
        ),
    ]
    if ticket.status != "closed":
        blocks.append(
            {
                "type": "actions",
                "block_id": CARD_BLOCK_PREFIX + tid,
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACTION_ASSIGN_ME,
                        "value": tid,
                        "text": {"type": "plain_text", "text": "Assign to me"},
                    },
                    {
                        "type": "users_select",
                        "action_id": ACTION_ASSIGN_USER,
                        "placeholder": {"type": "plain_text", "text": "Assign to…"},
                    },
                    {
                        "type": "static_select",
                        "action_id": ACTION_PRIORITY,
                        "placeholder": {"type": "plain_text", "text": "Priority"},
                        "initial_option": _option(f"{tid}:{ticket.priority}", ticket.priority),
                        "options": [_option(f"{tid}:{p}", p) for p in PRIORITIES],
                    },
                    {
                        "type": "static_select",
                        "action_id": ACTION_STATUS,
                        "placeholder": {"type": "plain_text", "text": "Status"},
                        "initial_option": _option(f"{tid}:{ticket.status}", _label(ticket.status)),
                        "options": [_option(f"{tid}:{s}", _label(s)) for s in STATUSES],
                    },
                    {
                        "type": "button",
                        "action_id": ACTION_REPLY,
                        "value": tid,
                        "text": {"type": "plain_text", "text": "Reply"},
                    },
                    {
                        "type": "button",
                        "action_id": ACTION_CLOSE,
                        "value": tid,
                        "style": "danger",
                        "text": {"type": "plain_text", "text": "Close"},
                        "confirm": {
                            "title": {"type": "plain_text", "text": "Close this ticket?"},
                            "text": {"type": "plain_text", "text": "The customer sees it as closed."},
                            "confirm": {"type": "plain_text", "text": "Close"},
                            "deny": {"type": "plain_text", "text": "Cancel"},
                        },
                    },
                ],
            }
        )
    text = mrkdwn(
        "Ticket {id}: {subject} ({status}, {priority})",
        id=short_id(tid), subject=ticket.subject, status=_label(ticket.status), priority=ticket.priority,
    )  # fmt: skip
    return {"text": text, "blocks": blocks, "metadata": _metadata(tid, "triage")}


def render_requester_root(ticket: TicketRow, *, link_url: str | None) -> dict[str, Any]:
    """The message in the customer's channel or DM whose thread carries the conversation."""
    origin = f" from <{link_url}|this message>" if link_url else ""
    lines = [
        f":ticket: Support ticket {code(short_id(ticket.id))}{origin}: *{escape_mrkdwn(ticket.subject)}*",
        f"Status: *{ticket_status(ticket.status)}* · priority {ticket.priority} · {escape_mrkdwn(ticket.category)}",
    ]
    blocks = [
        _section("\n".join(lines)),
        _context("Replies from ContainerStacks support appear in this thread. Reply in the thread to answer."),
    ]
    text = mrkdwn(
        "Support ticket {id}: {subject} ({status})",
        id=short_id(ticket.id), subject=ticket.subject, status=_label(ticket.status),
    )  # fmt: skip
    return {"text": text, "blocks": blocks, "metadata": _metadata(ticket.id, "requester")}


def render_root(kind: str, ticket: TicketRow, *, link_url: str | None, assignee_slack_id: str | None) -> dict[str, Any]:
    if kind == "triage":
        return render_card(ticket, assignee_slack_id=assignee_slack_id)
    return render_requester_root(ticket, link_url=link_url)


# --- thread posts --------------------------------------------------------------------------------------------


def render_reply_posts(kind: str, reply: ReplyRow, thread_ts: str) -> list[dict[str, Any]]:
    """A reply mirrored into a thread, whole: one post, or several in order when it is longer than one
    message can hold (each then says which part it is)."""
    author = clip_user_text(reply.author_name, NAME_IN_LINE)
    if reply.is_staff_reply:
        who = f"*{author}* (ContainerStacks support)"
    else:
        who = f"*{author}*" + (" (customer)" if kind == "triage" else "")
    body = escape_mrkdwn(reply.message)
    pieces = split_text(f"{who}\n{body}", SECTION_TEXT)
    posts = pack_posts([_section(p) for p in pieces], limit=MESSAGE_BLOCKS - 1, budget=MESSAGE_BLOCKS_TEXT - 100)
    payloads = []
    for number, post in enumerate(posts, start=1):
        words = "\n".join(b["text"]["text"] for b in post)
        if number == 1:
            words = words.removeprefix(who).lstrip("\n")
        part = f" (part {number} of {len(posts)})" if len(posts) > 1 else ""
        note = [_context(f"Part {number} of {len(posts)} of one reply.")] if part else []
        text = mrkdwn("{who}{part}: {body}", who=author, part=part, body=Mrkdwn(words))
        payloads.append(
            {
                "text": fallback(text),
                "blocks": [*post, *note],
                "thread_ts": thread_ts,
                "metadata": _metadata(reply.ticket_id, "reply"),
            }
        )
    return payloads


def render_status_post(ticket_id: object, old: str | None, new: str, thread_ts: str, by: str | None) -> dict[str, Any]:
    change = f"{ticket_status(old)} → *{ticket_status(new)}*" if old else f"*{ticket_status(new)}*"
    who = f" by {escape_mrkdwn(by)}" if by else ""
    text = f":arrows_counterclockwise: Status changed: {change}{who}"
    return {"text": text, "thread_ts": thread_ts, "metadata": _metadata(ticket_id, "status")}


def _sla_line(ticket: TicketRow, hours: int, assignee_slack_id: str | None) -> str:
    who = f"<@{assignee_slack_id}>" if assignee_slack_id else "_unassigned_"
    return (
        f"({hours} h SLA, {ticket.priority}): *{clip_user_text(ticket.subject, SUBJECT_IN_LINE)}* "
        f"{code(short_id(ticket.id))} from {clip_user_text(ticket.organization_name, NAME_IN_LINE)}, "
        f"opened {_ago(ticket.created_at)}. Assignee: {who}"
    )


def render_sla_reminder(ticket: TicketRow, hours: int, assignee_slack_id: str | None, thread_ts: str) -> dict[str, Any]:
    """The reminder in the ticket card's own thread (the card is where staff act on it)."""
    text = f":alarm_clock: First response overdue {_sla_line(ticket, hours, assignee_slack_id)}"
    return {"text": text, "blocks": [_section(text)], "thread_ts": thread_ts, "metadata": _metadata(ticket.id, "sla")}


SLA_BATCH = ":alarm_clock: *First response overdue on {count} ticket(s)*"
SLA_ASSIGNED = ":alarm_clock: *First response overdue on {count} ticket(s) assigned to you*"


def render_sla_batch(overdue: Sequence[tuple[TicketRow, int, str | None]], *, assigned: bool = False) -> dict[str, Any]:
    """All the breaches of one run in one message (the triage channel's, or one assignee's DM), never one
    top-level post per ticket. `overdue` holds (ticket, SLA hours, assignee's Slack id)."""
    head = (SLA_ASSIGNED if assigned else SLA_BATCH).format(count=len(overdue))
    lines = [f"• {code(short_id(t.id))} overdue {_sla_line(t, hours, who)}" for t, hours, who in overdue]
    blocks = cap_blocks([_section(head), *line_sections(lines)], how="the ticket cards show each one")
    listed = ", ".join(short_id(t.id) for t, _, _ in overdue)
    return {"text": fallback(mrkdwn("First response overdue: {ids}", ids=listed)), "blocks": blocks}


def render_digest(counts: dict[str, int], oldest: list[TicketRow]) -> dict[str, Any]:
    total = sum(counts.values())
    summary = (
        f":bar_chart: *Open tickets: {total}* — under 1 day: {counts['under_1d']}, 1–3 days: {counts['d1_3']}, "
        f"3–7 days: {counts['d3_7']}, over 7 days: {counts['over_7d']}"
    )
    lines = [
        f"• {code(short_id(t.id))} *{clip_user_text(t.subject, LIST_SUBJECT_CHARS)}* — "
        f"{clip_user_text(t.organization_name, NAME_IN_LINE)}, {t.priority}, {ticket_status(t.status)}, "
        f"opened {_ago(t.created_at)}"
        for t in oldest
    ]
    if total > len(oldest) and lines:
        lines.append(f"…and {total - len(oldest):,} more — each open ticket has its card in this channel.")
    blocks = [_section(summary)]
    if lines:
        budget = MESSAGE_BLOCKS_TEXT - len(summary)
        blocks += capped_sections(["*Oldest open tickets*", *lines], max_blocks=MESSAGE_BLOCKS - 1, budget=budget)
    return {"text": f"Open tickets: {total}", "blocks": blocks}


# --- modals --------------------------------------------------------------------------------------------------


def _input(block_id: str, label: str, element: dict[str, Any], hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def render_new_modal(
    *,
    organization_id: object,
    subject: str = "",
    message: str = "",
    channel_id: str | None = None,
    message_ts: str | None = None,
) -> dict[str, Any]:
    """The new-ticket form, bound to `organization_id`: the ticket is filed there or nowhere."""
    subject_el: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "max_length": SUBJECT_MAX}
    if subject:
        subject_el["initial_value"] = subject[:SUBJECT_MAX]
    message_el: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
        "max_length": INPUT_MAX,
    }
    if message:
        message_el["initial_value"] = message[:INPUT_MAX]
    priority_el = {
        "type": "static_select",
        "action_id": "value",
        "initial_option": _option("medium", "medium"),
        "options": [_option(p, p) for p in PRIORITIES],
    }
    category_el = {
        "type": "static_select",
        "action_id": "value",
        "initial_option": _option("general", CATEGORY_LABELS["general"]),
        "options": [_option(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
    }
    meta = json.dumps({"organization_id": str(organization_id), "channel_id": channel_id, "message_ts": message_ts})
    return {
        "type": "modal",
        "callback_id": NEW_CALLBACK_ID,
        "private_metadata": meta,
        "title": {"type": "plain_text", "text": "New support ticket"},
        "submit": {"type": "plain_text", "text": "Open ticket"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input("subject", "Subject", subject_el),
            _input("category", "Category", category_el),
            _input("priority", "Priority", priority_el),
            _input("message", "Message", message_el, "At least 10 characters."),
        ],
    }


def render_reply_modal(ticket: TicketRow) -> dict[str, Any]:
    """The reply form, its input bounded by Slack's limit (the submission checks what the panel can store)."""
    element = {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": INPUT_MAX}
    return {
        "type": "modal",
        "callback_id": REPLY_CALLBACK_ID,
        "private_metadata": str(ticket.id),
        "title": {"type": "plain_text", "text": f"Reply to {short_id(ticket.id)}"},
        "submit": {"type": "plain_text", "text": "Send reply"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _context(f"*{escape_mrkdwn(ticket.subject)}* — {ticket_status(ticket.status)}"),
            _input("message", "Reply", element, clip(REPLY_HINT, INPUT_HINT)),
        ],
    }


def new_modal_metadata(raw: str) -> tuple[str | None, str | None]:
    data = read_new_modal_metadata(raw)
    return data.get("channel_id"), data.get("message_ts")


def read_new_modal_metadata(raw: str) -> dict[str, Any]:
    """The new-ticket form's private_metadata (ours, but read defensively): organisation, channel, message."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def submitted(values: dict[str, Any], block_id: str) -> str:
    state = (values.get(block_id) or {}).get("value") or {}
    if state.get("selected_option"):
        return str(state["selected_option"]["value"])
    return str(state.get("value") or "").strip()


# --- listings ------------------------------------------------------------------------------------------------


def _ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text, "blocks": blocks or [_section(text)]}


def render_notice(text: str) -> dict[str, Any]:
    return _ephemeral(text)


def render_list(listing: TicketList, command: str) -> dict[str, Any]:
    """One page of the organisation's tickets with Previous/Next (subjects clipped: a page stays small)."""
    tickets = listing.tickets
    if not tickets:
        return _ephemeral(NO_TICKETS.format(command=command))
    lines = [
        f"{code(short_id(t.id))} *{clip_user_text(t.subject, LIST_SUBJECT_CHARS)}* — {ticket_status(t.status)}, "
        f"{t.priority}, last activity {_ago(t.last_activity)}"
        for t in tickets
    ]
    header = f"*Support tickets of {clip_user_text(listing.organization_name, NAME_IN_LINE)}*"
    listed = "; ".join(f"{short_id(t.id)} {_label(t.status)}" for t in tickets)
    text = fallback(mrkdwn("Support tickets of {org}: {listed}", org=listing.organization_name, listed=listed))
    blocks = [_section(header), page_context(TICKET_PAGER, listing.span), *line_sections(lines)]
    blocks += page_buttons(TICKET_PAGER, listing.span, listing.organization_id)
    blocks.append(_context(f"Open one with `{command} ticket &lt;id&gt;`."))
    return _ephemeral(text, blocks)


def render_conversation(
    ticket: TicketRow, replies: list[ReplyRow], command: str, *, panel_url: str | None = None
) -> dict[str, Any]:
    """`/cs ticket <id>`; `panel_url` (the panel's tickets page for this reader) adds "Open in panel"."""
    head = (
        f":ticket: *{escape_mrkdwn(ticket.subject)}* {code(short_id(ticket.id))} — {ticket_status(ticket.status)}, "
        f"{ticket.priority}, {escape_mrkdwn(ticket.category)}"
    )
    requester = clip_user_text(ticket.requester_name, NAME_IN_LINE)
    opening = clip_user_text(ticket.message, 2 * CONVERSATION_MESSAGE)
    head_section = _section(clip(head, SECTION_TEXT))
    if panel_url:
        head_section["accessory"] = panel_button(panel_url, "ticket")
    blocks = [head_section, *sections(f"*{requester}* {_ago(ticket.created_at)}\n{opening}")]
    said = []
    for reply in replies[-20:]:
        who = clip_user_text(reply.author_name, NAME_IN_LINE) + (" (support)" if reply.is_staff_reply else "")
        words = clip_user_text(reply.message, CONVERSATION_MESSAGE)
        said.append(sections(f"*{who}* {_ago(reply.created_at)}\n{words}"))
    room = MESSAGE_BLOCKS - len(blocks) - 2  # the note on earlier replies and the closing hint
    while said and sum(len(s) for s in said) > room:
        said.pop(0)  # the newest replies matter most
    if len(replies) > len(said):
        blocks.append(_context(f"{len(replies) - len(said)} earlier replies not shown."))
    blocks += [block for reply_blocks in said for block in reply_blocks]
    blocks.append(_context(f"Answer with `{command} ticket reply {short_id(ticket.id)}`."))
    text = mrkdwn(
        "Ticket {id}: {subject} ({status}), {count} replies",
        id=short_id(ticket.id), subject=ticket.subject, status=_label(ticket.status), count=len(replies),
    )  # fmt: skip
    return _ephemeral(text, blocks)


def render_settings(
    support_channel: str | None, note_prefix: str, sla_hours: dict[str, int], digest_hour: int, command: str
) -> dict[str, Any]:
    channel = f"<#{support_channel}>" if support_channel else "_not set_ (run `{command} admin support-channel` there)"
    sla = ", ".join(f"{p} {sla_hours[p]} h" for p in reversed(PRIORITIES))
    lines = [
        "*Ticket settings*",
        f"Triage channel: {channel.format(command=command)}",
        f"Internal-note prefix: {code(note_prefix)}",
        f"First-response SLA: {sla}",
        f"Daily digest: after {digest_hour:02d}:00 (TIMEZONE)",
    ]
    usage = f"Change with `{command} admin ticket-settings note-prefix|sla|digest-hour …`."
    return _ephemeral("\n".join(lines), [_section("\n".join(lines)), _context(usage)])
