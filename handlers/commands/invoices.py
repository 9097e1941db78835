"""`/cs billing invoice [<month> | <from> <to> | this-month | last-month | pick]` and
`/cs billing invoices`: invoices as the panel makes them, handed over in Slack as HTML files."""

from __future__ import annotations

from bot.commands import CommandSpec, CommandTable
from bot.errors import UserError
from bot.rendering import invoices as render
from bot.rendering.orgs import NO_ORGANISATION_HINT
from bot.services import invoices
from handlers.commands.base import CommandCall, CommandHandler

INVOICE = CommandSpec(
    slug=("billing", "invoice"),
    usage="billing invoice [2025-10 | 2025-10-01 2025-10-15 | this-month | last-month | pick]",
    description="An invoice of the latest 50 transactions (as the panel), of a period, or of transactions you pick.",
    group="Wallet",
)
INVOICES = CommandSpec(
    slug=("billing", "invoices"),
    usage="billing invoices",
    description="The organisation's invoices (the panel's list); any one's file again.",
    group="Wallet",
)


def register_commands(table: CommandTable[CommandHandler]) -> None:
    table.add(INVOICE, make_invoice)
    table.add(INVOICES, list_invoices)


def _org_required(call: CommandCall) -> None:
    if call.linked.org is None:
        raise UserError(NO_ORGANISATION_HINT.format(command=call.command))


async def make_invoice(call: CommandCall) -> None:
    _org_required(call)
    actor, services = call.linked, call.services
    now = services.clock()
    if [a.lower() for a in call.args] == ["pick"]:
        rows = await invoices.pickable(services.engine, actor)
        view = render.pick_modal(actor.org.id if actor.org else None, call.channel_id, rows)
        await call.client.views_open(trigger_id=call.body["trigger_id"], view=view)
        await call.ack()
        return
    period = invoices.parse_period(list(call.args), now.date()) if call.args else None
    made = await invoices.create(services.engine, actor, now, period=period, channel_id=call.channel_id)
    await call.reply(render.made(made))


async def list_invoices(call: CommandCall) -> None:
    _org_required(call)
    if call.args:
        raise UserError(f"Usage: `{call.command} {INVOICES.usage}`")
    found = await invoices.recent(call.services.engine, call.linked)
    await call.reply(render.listing(found, call.linked.org.id if call.linked.org else None, call.command))
