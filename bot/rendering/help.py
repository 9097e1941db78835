"""Block Kit for help and unknown-command answers (pure: data in, message dict out)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.commands import CommandSpec
from bot.rendering.escape import code, escape_mrkdwn, mrkdwn
from bot.rendering.fit import clip_user_text

UNKNOWN_COMMAND = "I don't know `{command} {typed}`."
#: How much of an unknown command is echoed back (escaped), however much was typed.
TYPED_ECHO = 300
HELP_POINTER = "Type `{command} help` to see everything I can do."
HELP_TITLE = "ContainerStacks in Slack"
STAFF_GROUP = "Staff"


def render_help(
    command: str, groups: Mapping[str, Sequence[CommandSpec]], *, topic: str | None = None
) -> dict[str, Any]:
    """Grouped command list with usage hints; `topic` narrows it to one group if it names one."""
    chosen = {g: specs for g, specs in groups.items() if topic is None or g.lower().startswith(topic.lower())}
    if not chosen:
        chosen = dict(groups)
    chosen = dict(sorted(chosen.items(), key=lambda item: item[0] == STAFF_GROUP))  # staff commands last
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": HELP_TITLE}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Manage your organisation, wallet, servers and support tickets from Slack. "
                    "Arguments in <angle brackets> are required, [square brackets] optional.",
                }
            ],
        },
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
