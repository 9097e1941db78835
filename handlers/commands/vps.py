"""`/cs vps …`: list, show, plans, create (modal) and per-server actions (parse → service → render).

Slow Linode work always runs after the ack; its progress is one message edited in place
(`handlers.server_progress`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import CommandSpec, CommandTable
from bot.errors import UserError
from bot.linode.errors import LinodeError
from bot.panel_links import panel_links
from bot.rendering import vps as render
from bot.rendering.arrears import render_owed
from bot.rendering.help import render_unknown_command
from bot.services import arrears, vps, vps_actions, vps_create
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from bot.services.server_states import require_allowed
from bot.slack.modals import update_modal
from handlers.commands import vps_page
from handlers.commands.base import CommandCall, CommandHandler
from handlers.errors import run_after_ack
from handlers.server_progress import Surface, run_reported, typed_surface

log = logging.getLogger(__name__)
GROUP = "Servers"
NO_LINODE = "Servers are not available on this bot: the Linode integration is not configured."

LIST = CommandSpec(
    slug=("vps",),
    usage="vps [label] [start|stop|reboot|rebuild|resize|delete|stats|backups|firewall|hostname|rdns]",
    description="Your organisation's servers; with a label, one server or an action on it.",
    group=GROUP,
    aliases=(("servers",),),
)
PLANS = CommandSpec(
    slug=("vps", "plans"), usage="vps plans", description="Server plans with hourly and monthly prices.", group=GROUP
)
CREATE = CommandSpec(
    slug=("vps", "create"), usage="vps create", description="Create a server (organisation admin).", group=GROUP
)
WORDS = ("start", "stop", "reboot", "rebuild", "resize", "delete")
#: Refused up front while the organisation owes anything (the services refuse them again when they run).
REFUSED_WHILE_OWING = ("start", "reboot", "rebuild", "resize")


def register_commands(table: CommandTable[CommandHandler]) -> None:
    table.add(LIST, vps_command)
    table.add(PLANS, show_plans)
    table.add(CREATE, open_create)


async def show_plans(call: CommandCall) -> None:
    await call.ack(render.render_plans(await vps.list_plans(call.services.engine)))


async def vps_command(call: CommandCall) -> None:
    actor, services = call.linked, call.services
    if not call.args:
        await call.ack(await server_page(services, actor))
        return
    label, verb = call.args[0], (call.args[1].lower() if len(call.args) > 1 else None)
    if verb in vps_page.VERBS:  # the server page's own subcommands (issue 20)
        await vps_page.subcommand(call, await vps.find_server(services.engine, actor, label))
        return
    if len(call.args) > 2 or (verb is not None and verb not in WORDS):
        typed = ["vps", *call.args]
        await call.ack(render_unknown_command(call.command, " ".join(typed), call.table.suggest(typed)))
        return
    try:
        server = await vps.find_server(services.engine, actor, label)
    except vps.ServerNotFound:
        # `/cs vps creat`: no server is called that, but a vps subcommand nearly is.
        typed = ["vps", *call.args]
        close = [spec for spec in call.table.suggest(typed) if spec.slug[:1] == ("vps",) and len(spec.slug) > 1]
        if verb is not None or not close:
            raise
        await call.ack(render_unknown_command(call.command, " ".join(typed), close))
        return
    if verb is None:
        await vps_page.show_page(call, server)
        return
    actor.require(Action.MANAGE_SERVERS)
    require_linode(services)
    if verb in REFUSED_WHILE_OWING and not await paid_up(call, actor):
        return
    require_allowed(server.label, server.status, verb)
    if verb in vps_actions.POWER_ACTIONS:
        await call.ack()  # nothing to show yet: the one progress message follows
        words = power_words(verb)
        surface = typed_surface(
            services, actor, call.client, call.respond, where=call.channel_id, server_id=server.id,
            label=server.label, words=words,
        )  # fmt: skip
        await surface.report(server.status)
        await run_power(services, actor, surface, server.id, verb=verb, channel_id=call.channel_id)
    elif verb == "rebuild":
        await call.ack()  # the picker is the one answer (Linode's images are cached)
        await show_rebuild_picker(services, call.respond, str(server.id), server.label)
    elif verb == "resize":
        plans = await vps.list_plans(services.engine)
        await call.ack(render.render_resize_picker(str(server.id), server.label, plans))
    else:
        await open_delete_modal(
            services, call.client, actor, call.body["trigger_id"], server_id=server.id, ack=call.ack
        )


async def server_page(services: Services, actor: Actor, *, offset: int = 0) -> dict[str, Any]:
    """A page of `/cs vps` (the command shows the first; page buttons the others)."""
    listing = await vps.list_servers(services.engine, actor, offset=offset)
    panel = panel_links(services.settings.panel_url)
    return render.render_server_list(listing, services.settings.slack_command, panel=panel)


async def paid_up(call: CommandCall, actor: Actor) -> bool:
    """False (after answering with the amount owed and a top-up button) while the organisation owes."""
    try:
        await arrears.require_paid_up(
            call.services.engine, vps.in_org(actor), organization=actor.org.name if actor.org else "",
            command=call.command,
        )  # fmt: skip
    except arrears.OrganisationOwes as owes:
        await call.reply(render_owed(owes))
        return False
    return True


def require_linode(services: Services) -> Any:
    if services.linode is None:
        raise UserError(NO_LINODE)
    return services.linode


async def open_create(call: CommandCall) -> None:
    """Ack at once, then open the modal (loading) within the trigger's 3 s, then fill it: neither
    Slack's API nor Linode ever sits between the user and the ack. The fill takes its turn with
    other post-ack work, in a task of its own; the open does not wait (its trigger expires)."""
    actor = call.linked
    vps.in_org(actor)
    actor.require(Action.MANAGE_SERVERS)
    require_linode(call.services)
    if not await paid_up(call, actor):
        return
    await call.ack()
    opened = await call.client.views_open(trigger_id=call.body["trigger_id"], view=render.loading_modal())
    view_id = str(opened["view"]["id"])
    metadata = render.create_metadata(call.channel_id, call.body.get("response_url"))
    fill = fill_create_modal(call.services, call.client, actor, view_id, metadata)
    run_after_ack(call.services, call.body, call.client, fill, view_id=view_id)


async def fill_create_modal(
    services: Services, client: AsyncWebClient, actor: Actor, view_id: str, metadata: str, *,
    errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    try:
        form = await vps_create.load_create_form(services.engine, services.linode, actor,
                                                 command=services.settings.slack_command)  # fmt: skip
    except (UserError, LinodeError) as failure:
        if isinstance(failure, LinodeError):
            await vps.alert_auth_failure(services.engine, services.settings, failure)
        await update_modal(client, view_id, render.message_modal("Create a server", failure.message))
        return
    meta = render.read_metadata(metadata)
    bound = actor.org.id if actor.org else None  # the form creates in this organisation or nowhere
    full = render.create_metadata(meta.get("channel_id"), meta.get("response_url"), organization_id=bound)
    view = render.create_modal(form, metadata=full, errors=errors, values=values)
    await update_modal(client, view_id, view)


async def open_delete_modal(
    services: Services, client: AsyncWebClient, actor: Actor, trigger_id: str, *, server_id: uuid.UUID,
    ack: Callable[..., Awaitable[Any]],
) -> None:  # fmt: skip
    opened = await client.views_open(trigger_id=trigger_id, view=render.loading_modal("Delete server"))
    await ack()
    view_id = str(opened["view"]["id"])
    try:
        row = await vps.server_for_actor(services.engine, actor, server_id)
    except UserError as refusal:
        await update_modal(client, view_id, render.message_modal("Delete server", refusal.message))
        return
    await update_modal(client, view_id, render.delete_modal(str(row.id), row.label, {}))


def power_words(verb: str) -> tuple[str, str]:
    """What a power action's progress says while it runs and once done ("Rebooting", "Server rebooted")."""
    action = vps_actions.POWER_ACTIONS[verb]
    return action.doing, f"Server {action.done}"


async def run_power(
    services: Services, actor: Actor, surface: Surface, server_id: uuid.UUID, *, verb: str, channel_id: str | None
) -> None:
    async def work(report: vps.Report) -> str:
        return await vps_actions.power(
            services.engine, require_linode(services), services.settings, actor, server_id,
            verb=verb, report=report, channel_id=channel_id,
        )  # fmt: skip

    await run_reported(surface, work)


async def rebuild_picker(
    services: Services, server_id: str, label: str, *, chosen: str | None = None, error: str | None = None
) -> dict[str, Any]:
    """The image picker for a rebuild (Linode's image list; raises `LinodeError` when it can't be read)."""
    images = await require_linode(services).images()
    choices = [(i["id"], i["label"]) for i in images]
    return render.render_rebuild_picker(server_id, label, choices, chosen=chosen, error=error)


async def show_rebuild_picker(services: Services, respond: AsyncRespond, server_id: str, label: str) -> None:
    try:
        picker = await rebuild_picker(services, server_id, label)
    except LinodeError as failure:
        await vps.alert_auth_failure(services.engine, services.settings, failure)
        await respond(**render.render_problem(failure.message))
        return
    await respond(**picker)
