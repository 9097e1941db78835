"""`/cs help [topic]`: grouped help generated from the command table."""

from __future__ import annotations

from bot.commands import CommandSpec
from bot.rendering.help import render_help
from handlers.commands.base import CommandCall

SPEC = CommandSpec(
    slug=("help",),
    usage="help [topic]",
    description="Show this help, or only one group of commands.",
    group="General",
    aliases=(("?",), ("commands",)),
    needs_link=False,
)


async def show_help(call: CommandCall) -> None:
    topic = call.args[0] if call.args else None
    await call.ack(**render_help(call.command, call.table.groups(), topic=topic))
