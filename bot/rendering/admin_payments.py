"""Block Kit for `/cs admin payments` (pure)."""

from __future__ import annotations

from typing import Any

from bot.db.paypal_events import InboxSummary
from bot.rendering.escape import code, escape_mrkdwn
from bot.rendering.fit import line_sections
from bot.rendering.paging import Pager, page_buttons, page_context
from bot.services.admin_payments import PaymentsOverview

REPLAY_ACTION_ID = "admin_payment_replay"
EVENT_PAGER = Pager(
    previous_id="admin_payments_newer", next_id="admin_payments_older", noun="Events", previous_label="Newer",
    next_label="Older", note="newest first",
)  # fmt: skip
STATUS_EMOJI = {"processed": ":white_check_mark:", "pending": ":hourglass:", "processing": ":hourglass:",
                "failed": ":warning:", "dead": ":x:"}  # fmt: skip


def _line(event: InboxSummary) -> str:
    emoji = STATUS_EMOJI.get(event.status, ":grey_question:")
    when = event.received_at.strftime("%Y-%m-%d %H:%M UTC")
    detail = event.outcome if event.status == "processed" else (event.last_error or event.status)
    extra = f" · delivered {event.deliveries}×" if event.deliveries > 1 else ""
    return (
        f"{emoji} {when} {code(event.event_type)} {code(event.event_id)}{extra}\n"
        f"      {escape_mrkdwn((detail or '')[:180])}"
    )


def render_payments_overview(overview: PaymentsOverview, command: str) -> dict[str, Any]:
    """A page of recent events (Older/Newer) and, on every page, the failures with Replay buttons."""
    recent, failures = overview.recent, overview.failures
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "PayPal events"}}]
    if not recent:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "No PayPal events received yet."}})
    else:
        blocks += [page_context(EVENT_PAGER, overview.span), *line_sections(["*Recent*", *(_line(e) for e in recent)])]
        blocks += page_buttons(EVENT_PAGER, overview.span, None)
    blocks.append({"type": "divider"})
    if not failures:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Failures*\nNone. :tada:"}})
    for event in failures:
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
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Replay by id: `{command} admin payments replay <event id>`"}],
        }
    )
    summary = f"PayPal events: {overview.span.total} received, {len(failures)} failed shown"
    return {"response_type": "ephemeral", "text": summary, "blocks": blocks}


def render_replayed(event_id: str) -> dict[str, Any]:
    text = f":repeat: PayPal event {code(event_id)} is queued again; the worker applies it within seconds."
    return {"response_type": "ephemeral", "text": text}
