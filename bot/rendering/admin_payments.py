"""Block Kit for `/cs admin payments` (pure)."""

from __future__ import annotations

from typing import Any

from bot.db.paypal_events import InboxSummary
from bot.rendering.dates import local_time
from bot.rendering.escape import code
from bot.rendering.fit import MESSAGE_BLOCKS, clip_user_text, line_sections, more_line
from bot.rendering.paging import Pager, page_buttons, page_context
from bot.services.admin_payments import PaymentsOverview

REPLAY_ACTION_ID = "admin_payment_replay"
DETAIL_CHARS = 300  # of an event's outcome or error, escaped
ID_CHARS = 100  # of an event id or type (PayPal's are ~30): a forged one cannot fill the message
EVENT_PAGER = Pager(
    previous_id="admin_payments_newer", next_id="admin_payments_older", noun="Events", previous_label="Newer",
    next_label="Older", note="newest first",
)  # fmt: skip
STATUS_EMOJI = {"processed": ":white_check_mark:", "pending": ":hourglass:", "processing": ":hourglass:",
                "failed": ":warning:", "dead": ":x:"}  # fmt: skip


def _line(event: InboxSummary) -> str:
    emoji = STATUS_EMOJI.get(event.status, ":grey_question:")
    when = local_time(event.received_at)
    detail = event.outcome if event.status == "processed" else (event.last_error or event.status)
    extra = f" · delivered {event.deliveries}×" if event.deliveries > 1 else ""
    return (
        f"{emoji} {when} {code(clip_user_text(event.event_type, ID_CHARS))} "
        f"{code(clip_user_text(event.event_id, ID_CHARS))}{extra}\n"
        f"      {clip_user_text(detail or '', DETAIL_CHARS)}"
    )


def render_payments_overview(
    overview: PaymentsOverview, command: str, *, replayed: str | None = None
) -> dict[str, Any]:
    """A page of recent events (Older/Newer) and, on every page, the failures with Replay buttons (with
    how many more failed than are listed: an outage can leave hundreds). After a Replay click
    (`replayed`), the same message again with the outcome in place of the used button."""
    recent, failures, failures_total = overview.recent, overview.failures, overview.failures_total
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "PayPal events"}}]
    if replayed:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": REPLAYED.format(id=code(replayed))}})
    if not recent:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "No PayPal events received yet."}})
    else:
        blocks += [page_context(EVENT_PAGER, overview.span), *line_sections(["*Recent*", *(_line(e) for e in recent)])]
        blocks += page_buttons(EVENT_PAGER, overview.span, None)
    blocks.append({"type": "divider"})
    if not failures:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Failures*\nNone. :tada:"}})
    listed = failures[: MESSAGE_BLOCKS - len(blocks) - 2]  # room for the "…and N more" and the closing hint
    for event in listed:
        if event.event_id == replayed:  # still listed (the worker has not picked it up yet): no second replay
            line = _line(event) + f"\n      attempts: {event.attempts} · :repeat: queued again"
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
            continue
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _line(event) + f"\n      attempts: {event.attempts}"},
                "accessory": {
                    "type": "button",
                    "action_id": REPLAY_ACTION_ID,
                    "text": {"type": "plain_text", "text": "Replay"},
                    "value": event.event_id,
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Replay this event?"},
                        "text": {
                            "type": "plain_text",
                            "text": "The worker applies it again; money moves at most once.",
                        },
                        "confirm": {"type": "plain_text", "text": "Replay"},
                        "deny": {"type": "plain_text", "text": "Cancel"},
                    },
                },
            }
        )
    hidden = max(failures_total or 0, len(failures)) - len(listed)
    if hidden > 0:
        more = more_line(hidden, "replay these and run the command again to see the next ones")
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"Replay by id: `{command} admin payments replay &lt;event id&gt;`"}
            ],
        }
    )
    summary = f"PayPal events: {overview.span.total} received, {max(failures_total, len(failures))} failed"
    return {"response_type": "ephemeral", "text": summary, "blocks": blocks}


REPLAYED = ":repeat: PayPal event {id} is queued again; the worker applies it within seconds."


def render_replayed(event_id: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": REPLAYED.format(id=code(event_id))}
