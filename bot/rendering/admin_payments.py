"""Block Kit for `/cs admin payments` (pure)."""

from __future__ import annotations

from typing import Any

from bot.db.paypal_events import InboxSummary
from bot.rendering.dates import local_time
from bot.rendering.escape import code, escape_mrkdwn

REPLAY_ACTION_ID = "admin_payment_replay"
STATUS_EMOJI = {"processed": ":white_check_mark:", "pending": ":hourglass:", "processing": ":hourglass:",
                "failed": ":warning:", "dead": ":x:"}  # fmt: skip


def _line(event: InboxSummary) -> str:
    emoji = STATUS_EMOJI.get(event.status, ":grey_question:")
    when = local_time(event.received_at)
    detail = event.outcome if event.status == "processed" else (event.last_error or event.status)
    extra = f" · delivered {event.deliveries}×" if event.deliveries > 1 else ""
    return (
        f"{emoji} {when} {code(event.event_type)} {code(event.event_id)}{extra}\n"
        f"      {escape_mrkdwn((detail or '')[:180])}"
    )


def render_payments_overview(
    recent: list[InboxSummary], failures: list[InboxSummary], command: str, *, replayed: str | None = None
) -> dict[str, Any]:
    """The inbox; after a Replay click (`replayed`), the same message again with the outcome in place of
    the used button."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "PayPal events"}}]
    if replayed:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": REPLAYED.format(id=code(replayed))}})
    if not recent:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "No PayPal events received yet."}})
    else:
        text = "\n".join(_line(e) for e in recent)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Recent*\n" + text}})
    blocks.append({"type": "divider"})
    if not failures:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "*Failures*\nNone. :tada:"}})
    for event in failures:
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
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"Replay by id: `{command} admin payments replay &lt;event id&gt;`"}
            ],
        }
    )
    summary = f"PayPal events: {len(recent)} recent, {len(failures)} failed"
    return {"response_type": "ephemeral", "text": summary, "blocks": blocks}


REPLAYED = ":repeat: PayPal event {id} is queued again; the worker applies it within seconds."


def render_replayed(event_id: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": REPLAYED.format(id=code(event_id))}
