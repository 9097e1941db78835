"""What a user sees when something fails on our side: friendly, with a reference to quote."""

from __future__ import annotations

from typing import Any

INTERNAL_ERROR = (
    ":warning: Sorry, something went wrong on our side and nothing was changed that we know of. "
    "Please try again in a moment. If it keeps happening, contact support and quote reference `{ref}`."
)


def render_internal_error(ref: str) -> dict[str, Any]:
    text = INTERNAL_ERROR.format(ref=ref)
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def render_internal_error_view(ref: str) -> dict[str, Any]:
    """A modal replacing the one whose submission failed, so the user is not left guessing."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Something went wrong"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": INTERNAL_ERROR.format(ref=ref)}}],
    }
