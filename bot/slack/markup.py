"""Slack's message markup back to the words a person typed.

Slack sends a message's `text` with `&`, `<` and `>` escaped, and mentions, channels and links as
`<…>` tokens. The panel shows a ticket reply as plain text, so a reply stored as Slack sent it would
read `a &lt; b` there (and `&amp;lt;` once mirrored back into Slack, escaped again).
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"<([^<>]*)>")
_SPECIAL = {"channel": "@channel", "here": "@here", "everyone": "@everyone"}


def _readable(token: str) -> str:
    target, _, label = token.partition("|")
    if target.startswith(("@U", "@W", "@B")):
        return f"@{label or target[1:]}"
    if target.startswith("#C") or target.startswith("#G"):
        return f"#{label or target[1:]}"
    if target.startswith("!subteam^"):
        return label or "@group"
    if target.startswith("!"):
        word = target[1:].split("^", 1)[0]
        return label or _SPECIAL.get(word, f"@{word}")
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    return f"{label} ({target})" if label and label != target else target


def plain_text(slack_text: str) -> str:
    """`a &lt; b &amp; <https://x.example|docs> <@U1|sam>` → `a < b & docs (https://x.example) @sam`."""
    readable = _TOKEN.sub(lambda match: _readable(match.group(1)), slack_text)
    return readable.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
