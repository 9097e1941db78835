"""The one escape helper for text that came from users or the panel before it enters mrkdwn.

Slack parses `&`, `<` and `>` in a message's fallback `text` exactly as in its blocks, and that
`text` is what mobile notifications show: an unescaped ticket subject there can ping `@channel`
or disguise a link as much as in a section. So both are built from the same escaped values.
"""

from __future__ import annotations


class Mrkdwn(str):
    """Text already in Slack's markup (escaped user text, code spans, mentions we built): it is
    never escaped a second time."""

    __slots__ = ()


def escape_mrkdwn(value: object) -> Mrkdwn:
    """Escape Slack's control characters so user text cannot inject links, mentions or markup."""
    if isinstance(value, Mrkdwn):
        return value
    return Mrkdwn(str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


def code(value: object) -> Mrkdwn:
    """Inline code that survives backticks inside the value."""
    return Mrkdwn("`" + escape_mrkdwn(value).replace("`", "ˋ") + "`")


def mrkdwn(template: str, /, **values: object) -> Mrkdwn:
    """`template` (our own words, trusted markup) filled with `values` escaped as user text.

    For messages' fallback `text`, which is easy to build from raw values by mistake: values that
    are already `Mrkdwn` (from `escape_mrkdwn`, `code`) pass unchanged."""
    return Mrkdwn(template.format(**{name: escape_mrkdwn(value) for name, value in values.items()}))
