"""The root slash command: tokenise, match against the command table, hand over to a subcommand."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import CommandTable, tokenize
from bot.errors import UserError
from bot.rendering.help import render_unknown_command
from bot.rendering.identity import render_refusal
from bot.services.container import Services
from bot.services.identity import resolve_actor
from bot.services.link_tokens import check_slack_ids
from handlers.acting import link_prompt  # also imported from here by older listeners
from handlers.commands import admin, link, org
from handlers.commands import billing as billing_commands
from handlers.commands import help as help_command
from handlers.commands import invoices as invoice_commands
from handlers.commands import tickets as tickets_commands
from handlers.commands import vps as vps_commands
from handlers.commands import wallet as wallet_commands
from handlers.commands.base import CommandCall, CommandHandler
from handlers.context import slack_ref
from handlers.errors import guarded


def build_table() -> CommandTable[CommandHandler]:
    """Every subcommand the bot offers; help and suggestions are generated from this table."""
    table: CommandTable[CommandHandler] = CommandTable()
    table.add(help_command.SPEC, help_command.show_help)
    link.register_commands(table)
    org.register_commands(table)
    wallet_commands.register_commands(table)
    tickets_commands.register_commands(table)
    vps_commands.register_commands(table)
    billing_commands.register_commands(table)
    invoice_commands.register_commands(table)
    admin.register_commands(table)
    return table


def register(app: AsyncApp, services: Services) -> None:
    table = build_table()
    command_name = services.settings.slack_command

    @app.command(command_name)
    @guarded(services)
    async def root_command(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        tokens = tokenize(str(body.get("text") or ""))
        if not tokens:
            await ack(**await help_command.help_answer(services, body, table, command_name, None))
            return
        match = table.match(tokens)
        if match is None:
            staff = await help_command.is_staff(services, body)  # staff-only commands are suggested to staff only
            suggestions = [spec for spec in table.suggest(tokens) if staff or not spec.staff_only]
            await ack(**render_unknown_command(command_name, " ".join(tokens), suggestions))
            return
        slack = slack_ref(body)
        try:
            check_slack_ids(slack)  # before any lookup or write: the bot stores Slack-shaped ids only
        except UserError as refusal:
            await ack(**render_refusal(refusal.message))
            return
        actor = None
        if match.spec.needs_link and not match.spec.resolves_actor:
            actor = await resolve_actor(services.pool, slack, body.get("channel_id"))
            if actor is None:
                await ack(**await link_prompt(services, slack))
                return
        call = CommandCall(match.spec, match.args, body, ack, respond, client, services, table, slack, actor)
        try:
            await match.handler(call)
        except UserError as refusal:
            await call.reply(render_refusal(refusal.message))
