"""Slack's message markup back to the words a person typed (what the panel shows as a reply)."""

from __future__ import annotations

import pytest

from bot.slack.markup import plain_text


@pytest.mark.parametrize(
    ("slack", "typed"),
    [
        ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
        ("&amp;lt; is how you write &lt;", "&lt; is how you write <"),
        ("see <https://docs.example/x?a=1&amp;b=2|the docs>", "see the docs (https://docs.example/x?a=1&b=2)"),
        ("<https://docs.example>", "https://docs.example"),
        ("ask <@U0123ABCD|sam> or <@U0999>", "ask @sam or @U0999"),
        ("in <#C0123|general>", "in #general"),
        ("<!channel> <!here> <!subteam^S1|@ops>", "@channel @here @ops"),
        ("<mailto:a@b.example|a@b.example>", "a@b.example"),
        ("plain words", "plain words"),
    ],
)
def test_slack_markup_reads_as_typed(slack: str, typed: str) -> None:
    assert plain_text(slack) == typed
