"""`/cs help [topic]`: grouped help generated from the command table, for what this reader may use.

A topic is a command word (`vps`, `ticket`, `wallet`, `org`, `billing`, `admin`…) or a group name; an
unknown one is said to be unknown, with the list of topics. Staff-only commands (`/cs admin …`) are
listed only to ContainerStacks staff.
"""

from __future__ import annotations

from typing import Any

from bot.commands import CommandSpec, CommandTable
from bot.errors import UserError
from bot.rendering.help import render_help, render_unknown_topic
from bot.services.container import Services
from bot.services.identity import resolve_actor
from bot.services.link_tokens import check_slack_ids
from handlers.commands.base import CommandCall
from handlers.context import channel_id, slack_ref

SPEC = CommandSpec(
    slug=("help",),
    usage="help [topic]",
    description="Show this help, or one topic: vps, ticket, wallet, org, billing, link…",
    group="General",
    aliases=(("?",), ("commands",)),
    needs_link=False,
)


async def show_help(call: CommandCall) -> None:
    topic = call.args[0] if call.args else None
    await call.ack(**await help_answer(call.services, call.body, call.table, call.command, topic))


async def help_answer(
    services: Services, body: dict[str, Any], table: CommandTable[Any], command: str, topic: str | None
) -> dict[str, Any]:
    """Help as this Slack user may see it: the staff group only for linked staff."""
    staff = await is_staff(services, body)
    topics = table.topics(staff=staff)
    if topic is None:
        return render_help(command, table.groups(staff=staff), topics=topics)
    chosen = table.topic(topic, staff=staff)
    if not chosen:
        return render_unknown_topic(command, topic, topics)
    return render_help(command, chosen, topic=topic, topics=topics)


async def is_staff(services: Services, body: dict[str, Any]) -> bool:
    slack = slack_ref(body)
    try:
        check_slack_ids(slack)
    except UserError:
        return False
    actor = await resolve_actor(services.pool, slack, channel_id(body))
    return actor is not None and actor.is_staff
