"""`/cs billing` (this month's usage and projection) and `/cs admin billing` (staff overview)."""

from __future__ import annotations

from bot.commands import CommandSpec, CommandTable
from bot.errors import UserError
from bot.panel_links import panel_links
from bot.rendering import billing as render
from bot.rendering.invoices import with_chart_note
from bot.rendering.orgs import NO_ORGANISATION_HINT
from bot.services import spend_chart, summaries
from bot.slack import uploads
from handlers.commands.base import CommandCall, CommandHandler
from handlers.errors import run_after_ack

USAGE = CommandSpec(
    slug=("billing",),
    usage="billing",
    description="Server usage so far this month (UTC) and the projection for the month.",
    group="Wallet",
)
ADMIN = CommandSpec(
    slug=("admin", "billing"),
    usage="admin billing",
    description="Staff: the last billing run, organisations in arrears and this month's totals.",
    group="Staff",
)


async def show_usage(call: CommandCall) -> None:
    actor = call.linked
    if actor.org is None:
        raise UserError(NO_ORGANISATION_HINT.format(command=call.command))
    now = call.services.clock()
    panel = panel_links(call.services.settings.panel_url)
    usage = await summaries.month_usage(call.services.engine, actor, now)
    picture = await spend_chart.for_actor(call.services.engine, actor, now, call.channel_id)
    await call.reply(
        with_chart_note(
            render.month_usage_card(usage, call.command, panel=panel),
            in_channel=picture.destination.in_channel,
        )
    )
    # After the answer; a Slack failure sharing it is logged with a reference by run_after_ack.
    run_after_ack(call.services, call.body, call.client, _share(call, picture), view_id=None)


async def _share(call: CommandCall, picture: spend_chart.Picture) -> None:
    await uploads.share_with(call.client, picture.destination.target, picture.payload)


async def show_admin(call: CommandCall) -> None:
    overview = await summaries.admin_overview(call.services.engine, call.linked, call.services.clock())
    await call.reply(render.admin_billing_card(overview))


def register_commands(table: CommandTable[CommandHandler]) -> None:
    table.add(USAGE, show_usage)
    table.add(ADMIN, show_admin)
