"""`/cs wallet …`: the wallet card, ledger history and the top-up preview (parse → service → render)."""

from __future__ import annotations

from bot.commands import CommandSpec, CommandTable
from bot.errors import UserError
from bot.panel_links import panel_links
from bot.rendering import wallet as render
from bot.rendering.help import render_unknown_command
from bot.rendering.orgs import NO_ORGANISATION_HINT
from bot.services import wallet
from bot.services.identity import Actor
from handlers.acting import link_prompt
from handlers.commands.base import CommandCall, CommandHandler

GROUP = "Wallet"

CARD = CommandSpec(
    slug=("wallet",),
    usage="wallet",
    description="Balance, runway at the current burn and the last transactions.",
    group=GROUP,
    resolves_actor=True,  # with the card, in one statement: the most used command
)
HISTORY = CommandSpec(
    slug=("wallet", "history"),
    usage="wallet history [n]",
    description=f"The last n transactions (default {wallet.HISTORY_DEFAULT}, at most {wallet.HISTORY_MAX}), paged.",
    group=GROUP,
)
TOPUP = CommandSpec(
    slug=("wallet", "topup"),
    usage="wallet topup <amount>",
    description="Add funds with PayPal, after a preview and a confirmation (admin).",
    group=GROUP,
    aliases=(("wallet", "top-up"),),
)


def register_commands(table: CommandTable[CommandHandler]) -> None:
    table.add(CARD, show_wallet)
    table.add(HISTORY, show_history)
    table.add(TOPUP, preview_topup)


def _in_org(call: CommandCall, actor: Actor | None = None) -> Actor:
    actor = actor or call.linked
    if actor.org is None:
        raise UserError(NO_ORGANISATION_HINT.format(command=call.command))
    return actor


async def show_wallet(call: CommandCall) -> None:
    if call.args:
        typed = ["wallet", *call.args]
        await call.ack(render_unknown_command(call.command, " ".join(typed), call.table.suggest(typed)))
        return
    found = await wallet.actor_with_card(call.services.pool, call.slack, call.channel_id)
    if found is None:
        await call.ack(**await link_prompt(call.services, call.slack))
        return
    actor, prefetched = found
    card = await wallet.wallet_card(call.services.pool, _in_org(call, actor), prefetched=prefetched)
    await call.ack(render.render_wallet_card(card, call.command, panel=panel_links(call.services.settings.panel_url)))


async def show_history(call: CommandCall) -> None:
    actor = _in_org(call)
    count = wallet.parse_history_count(call.args)
    page = await wallet.history_page(call.services.engine, actor, limit=count)
    requested = int(call.args[0]) if call.args else None
    await call.ack(render.render_history(page, requested=requested))


async def preview_topup(call: CommandCall) -> None:
    """Only a preview: the Confirm button (handlers.actions.wallet) creates the PayPal order."""
    actor = _in_org(call)
    services = call.services
    wallet.check_can_top_up(actor, services.settings, paypal_configured=services.paypal is not None)
    if not call.args:
        await call.ack(render.render_ask_amount(call.command, services.settings.topup_max_amount))
        return
    preview = await wallet.prepare_topup(
        services.engine, actor, services.settings, paypal_configured=services.paypal is not None,
        amount_text=" ".join(call.args),
    )  # fmt: skip
    await call.ack(render.render_topup_preview(preview))
