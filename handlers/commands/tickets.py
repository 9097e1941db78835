"""`/cs ticket …` for customers and `/cs admin support-channel` for staff (parse → service → render)."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from bot.commands import CommandSpec, CommandTable
from bot.errors import UserError
from bot.panel_links import panel_links
from bot.rendering import tickets as render
from bot.services import tickets
from bot.services.container import Services
from bot.services.identity import Actor
from bot.slack.errors import classify
from handlers.commands.base import CommandCall, CommandHandler

GROUP = "Support"
TRIGGER_ERRORS = {"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"}
OPEN_FAILED = "Slack didn't let me open the form in time. Please run the command again."


def _spec(slug: tuple[str, ...], usage: str, description: str, *aliases: tuple[str, ...]) -> CommandSpec:
    return CommandSpec(slug=slug, usage=usage, description=description, group=GROUP, aliases=aliases)


SHOW = _spec(("ticket",), "ticket [id]", "A ticket's conversation so far; alone, your organisation's tickets.")
NEW = _spec(("ticket", "new"), "ticket new", "Open a support ticket (a form).", ("ticket", "create"))
LIST = _spec(("ticket", "list"), "ticket list", "Your organisation's tickets with status and activity.", ("tickets",))
REPLY = _spec(("ticket", "reply"), "ticket reply <id>", "Answer a ticket (a form).")
SUPPORT_CHANNEL = CommandSpec(
    slug=("admin", "support-channel"),
    usage="admin support-channel",
    description="Staff: post ticket cards in this channel (run it there).",
    group="Staff",
)

TICKET_SETTINGS = CommandSpec(
    slug=("admin", "ticket-settings"),
    usage="admin ticket-settings [note-prefix <text> | sla <priority> <hours> | digest-hour <0-23>]",
    description="Staff: show or change the note prefix, first-response SLAs and digest hour.",
    group="Staff",
)


def register_commands(table: CommandTable[CommandHandler]) -> None:
    for spec, handler in (
        (SHOW, show_ticket),
        (NEW, new_ticket),
        (LIST, list_tickets),
        (REPLY, reply_ticket),
        (SUPPORT_CHANNEL, set_support_channel),
        (TICKET_SETTINGS, ticket_settings),
    ):
        table.add(spec, handler)


async def _open(call: CommandCall, view: dict[str, object]) -> None:
    try:
        await call.client.views_open(trigger_id=call.body["trigger_id"], view=view)
    except SlackApiError as exc:
        if classify(exc).code not in TRIGGER_ERRORS:
            raise
        raise UserError(OPEN_FAILED) from exc
    await call.ack()


async def new_ticket(call: CommandCall) -> None:
    """Open the form at once (the trigger id lives 3 s), bound to the organisation it is shown for;
    the submission files the ticket there."""
    organization_id = tickets.filing_organization(call.linked)
    await _open(call, render.render_new_modal(organization_id=organization_id, channel_id=call.channel_id))


async def list_tickets(call: CommandCall) -> None:
    await call.reply(await ticket_page(call.services, call.linked))


async def ticket_page(services: Services, actor: Actor, *, offset: int = 0) -> dict[str, Any]:
    """A page of `/cs ticket list` (the command shows the first; page buttons the others)."""
    listing = await tickets.list_tickets(services.engine, actor, offset=offset)
    return render.render_list(listing, services.settings.slack_command)


async def show_ticket(call: CommandCall) -> None:
    if not call.args:  # `/cs ticket` alone: the list, where each ticket's id is shown
        await list_tickets(call)
        return
    actor = call.linked
    ticket, replies = await tickets.conversation(call.services.engine, actor, call.args[0])
    panel = panel_links(call.services.settings.panel_url)
    page = (panel.staff_tickets() if actor.is_staff else panel.tickets()) if panel else None
    await call.reply(render.render_conversation(ticket, replies, call.command, panel_url=page))


async def reply_ticket(call: CommandCall) -> None:
    if not call.args:
        raise UserError(f"Say which ticket, for example `{call.command} {REPLY.usage}`.")
    ticket = await tickets.find_ticket(call.services.engine, call.linked, call.args[0])
    await _open(call, render.render_reply_modal(ticket))


async def set_support_channel(call: CommandCall) -> None:
    if not call.channel_id or call.channel_id[:1] not in ("C", "G"):
        raise UserError("Run this in the channel where ticket cards should go.")
    await tickets.set_support_channel(call.services.engine, call.linked, call.channel_id)
    await call.reply(render.render_notice(render.SUPPORT_CHANNEL_SET.format(channel=call.channel_id)))


async def ticket_settings(call: CommandCall) -> None:
    actor = call.linked
    engine = call.services.engine
    if call.args:
        await tickets.change_setting(engine, actor, call.args[0].lower(), list(call.args[1:]))
    elif not actor.is_staff:
        raise tickets.StaffOnly
    current = await tickets.ticket_settings(engine, call.services.settings.support_channel)
    await call.reply(
        render.render_settings(
            current.support_channel, current.note_prefix, current.sla_hours, current.digest_hour, call.command
        )
    )
