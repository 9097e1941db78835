"""The one escape helper for text that came from users or the panel before it enters mrkdwn."""

from __future__ import annotations


def escape_mrkdwn(value: object) -> str:
    """Escape Slack's control characters so user text cannot inject links, mentions or markup."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(value: object) -> str:
    """Inline code that survives backticks inside the value."""
    return "`" + escape_mrkdwn(value).replace("`", "ˋ") + "`"
