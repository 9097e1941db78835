"""Block Kit for help and unknown-command answers (pure: data in, message dict out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.commands import STAFF_GROUP, CommandSpec
from bot.rendering.escape import code, escape_mrkdwn, mrkdwn
from bot.rendering.fit import clip_user_text

UNKNOWN_COMMAND = "I don't know `{command} {typed}`."
#: How much of an unknown command is echoed back (escaped), however much was typed.
TYPED_ECHO = 300
HELP_POINTER = "Type `{command} help` to see everything I can do."
HELP_TITLE = "ContainerStacks in Slack"


INTRO = (
    "Manage your organisation, wallet, servers and support tickets from Slack. "
    "Arguments in &lt;angle brackets&gt; are required, [square brackets] optional."
)
TOPIC_HINT = "Only one topic: `{command} help {example}` — topics are {topics}."
UNKNOWN_TOPIC = "There is no help topic {topic}. Topics: {topics}. `{command} help` alone lists everything."
SHORT_HELP = (
    "Hi! I work through the `{command}` slash command: `{command} help` lists everything, and "
    "`{command} help vps`, `{command} help ticket` or `{command} help wallet` show one topic. "
    "Your servers, wallet and tickets are also on my Home tab."
)


def _topics(command: str, topics: Sequence[str]) -> str:
    return ", ".join(code(t) for t in topics) or code(f"{command} help")


def render_help(
    command: str,
    groups: Mapping[str, Sequence[CommandSpec]],
    *,
    topic: str | None = None,
    topics: Sequence[str] = (),
) -> dict[str, Any]:
    """Grouped command list with usage hints (`groups` already holds only what this reader may use);
    `topic` says which topic they are, `topics` which others there are."""
    chosen = dict(sorted(groups.items(), key=lambda item: item[0] == STAFF_GROUP))  # staff commands last
    title = f"{HELP_TITLE}: {topic}"[:150] if topic else HELP_TITLE
    intro = INTRO
    if topics and not topic:
        intro += " " + TOPIC_HINT.format(command=command, example=topics[-1], topics=_topics(command, topics))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": intro}]},
    ]
    lines_text: list[str] = []
    for group, specs in chosen.items():
        lines = [f"{code(f'{command} {spec.usage}'.strip())}  {escape_mrkdwn(spec.description)}" for spec in specs]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{group}*\n" + "\n".join(lines)}})
        lines_text.extend(f"{command} {spec.usage}" for spec in specs)
    text = mrkdwn(
        "{title}: {commands}", title=HELP_TITLE, commands="; ".join(lines_text)
    )  # usages hold <angle brackets>
    return {"response_type": "ephemeral", "text": text, "blocks": blocks}


def render_unknown_topic(command: str, topic: str, topics: Sequence[str]) -> dict[str, Any]:
    """`/cs help frobnicate`: says there is no such topic and which there are."""
    text = UNKNOWN_TOPIC.format(topic=code(topic), topics=_topics(command, topics), command=command)
    return {
        "response_type": "ephemeral",
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def render_short_help(command: str) -> dict[str, Any]:
    """The answer to an @mention of the bot or a direct message to it: where the help is."""
    text = SHORT_HELP.format(command=command)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def render_unknown_command(command: str, typed: str, suggestions: Sequence[CommandSpec]) -> dict[str, Any]:
    """'I don't know X' plus close matches and the help pointer."""
    lines = [UNKNOWN_COMMAND.format(command=command, typed=clip_user_text(typed, TYPED_ECHO).replace("`", "ˋ"))]
    if suggestions:
        options = ", ".join(code(f"{command} {spec.usage}") for spec in suggestions)
        lines.append(f"Did you mean {options}?")
    lines.append(HELP_POINTER.format(command=command))
    text = "\n".join(lines)
    return {
        "response_type": "ephemeral",
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
