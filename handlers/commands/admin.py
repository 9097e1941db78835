"""`/cs admin payments [replay <event id>]`: staff-only view of the PayPal inbox."""

from __future__ import annotations

from typing import Any

from bot.commands import CommandSpec, CommandTable
from bot.rendering.admin_payments import render_payments_overview, render_replayed
from bot.rendering.escape import code
from bot.services import admin_payments
from bot.services.container import Services
from bot.services.identity import Actor
from handlers.commands.base import CommandCall, CommandHandler

PAYMENTS = CommandSpec(
    slug=("admin", "payments"),
    usage="admin payments",
    description="Staff: recent PayPal events with their outcome, failures, and replay.",
    group="Staff",
)
REPLAY = CommandSpec(
    slug=("admin", "payments", "replay"),
    usage="admin payments replay <event id>",
    description="Staff: apply a failed PayPal event again.",
    group="Staff",
)


async def show_payments(call: CommandCall) -> None:
    await call.reply(await payments_page(call.services, call.linked))


async def payments_page(services: Services, actor: Actor, *, offset: int = 0) -> dict[str, Any]:
    """A page of `/cs admin payments` (the command shows the first; page buttons the others)."""
    overview = await admin_payments.overview(services.engine, actor, offset=offset)
    return render_payments_overview(overview, services.settings.slack_command)


async def replay_payment(call: CommandCall) -> None:
    if len(call.args) != 1:
        await call.reply({"response_type": "ephemeral", "text": f"Usage: {code(f'{call.command} {REPLAY.usage}')}"})
        return
    await admin_payments.replay(call.services.engine, call.linked, call.args[0], channel_id=call.channel_id)
    await call.reply(render_replayed(call.args[0]))


def register_commands(table: CommandTable[CommandHandler]) -> None:
    table.add(PAYMENTS, show_payments)
    table.add(REPLAY, replay_payment)
