"""One status vocabulary and one emoji set for servers and tickets: the list, the card, the triage
card, the App Home and progress messages all say a status the same way (pure)."""

from __future__ import annotations

from bot.rendering.escape import Mrkdwn, escape_mrkdwn

SERVER_EMOJI = {
    "running": ":large_green_circle:",
    "stopped": ":red_circle:",
    "offline": ":red_circle:",
    "provisioning": ":hourglass_flowing_sand:",
    "booting": ":hourglass_flowing_sand:",
    "rebooting": ":arrows_counterclockwise:",
    "shutting_down": ":hourglass_flowing_sand:",
    "rebuilding": ":hammer_and_wrench:",
    "resizing": ":straight_ruler:",
    "migrating": ":straight_ruler:",
    "error": ":warning:",
}
SERVER_OTHER_EMOJI = ":white_circle:"

TICKET_LABELS = {"open": "Open", "in_progress": "In progress", "resolved": "Resolved", "closed": "Closed"}
TICKET_EMOJI = {
    "open": ":incoming_envelope:",
    "in_progress": ":hammer_and_wrench:",
    "resolved": ":white_check_mark:",
    "closed": ":lock:",
}
PRIORITY_EMOJI = {
    "low": ":white_circle:",
    "medium": ":large_blue_circle:",
    "high": ":large_orange_circle:",
    "urgent": ":red_circle:",
}


def _words(status: str) -> str:
    return status.replace("_", " ")


def server_label(status: str | None) -> str:
    """`running`, `shutting down`: the panel's value in words (plain text; escape it for mrkdwn)."""
    return _words(status or "unknown")


def server_status(status: str | None) -> Mrkdwn:
    """`:large_green_circle: running` for mrkdwn."""
    emoji = SERVER_EMOJI.get(status or "", SERVER_OTHER_EMOJI)
    return Mrkdwn(f"{emoji} {escape_mrkdwn(server_label(status))}")


def ticket_label(status: str) -> str:
    """`In progress`: plain text (select options, notification text)."""
    return TICKET_LABELS.get(status, _words(status))


def ticket_status(status: str) -> Mrkdwn:
    """`:hammer_and_wrench: In progress` for mrkdwn."""
    emoji = TICKET_EMOJI.get(status, SERVER_OTHER_EMOJI)
    return Mrkdwn(f"{emoji} {escape_mrkdwn(ticket_label(status))}")
