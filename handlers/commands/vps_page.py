"""`/cs vps <label>` (the server's page) and its subcommands: `stats`, `backups [on|off|schedule <day>
<window>|snapshot <name>|restore <backup id>]`, `firewall [attach|detach <firewall>]`, `hostname <name>`
and `rdns [<ip>] <name>|reset`. Parse → service → render; Linode is only ever asked after the ack.

Members see the page, statistics, backups and firewalls; admins and owners change them. Destructive
ones confirm first: turning backups off and detaching a firewall behind a confirm dialog, a restore
behind a form where the server's label is typed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.linode.errors import LinodeError
from bot.panel_links import panel_links
from bot.rendering import server_page as render
from bot.rendering import vps as vps_render
from bot.rendering.arrears import render_owed
from bot.rendering.escape import escape_mrkdwn
from bot.services import arrears, server_backups, server_network, server_page, server_stats, vps
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from bot.slack import uploads
from bot.slack.modals import update_modal
from handlers.commands.base import CommandCall
from handlers.errors import run_after_ack

log = logging.getLogger(__name__)
VERBS = ("stats", "backups", "firewall", "firewalls", "hostname", "rdns")
USAGE = {
    "backups": "backups [on|off|schedule <day> <window>|snapshot <name>|restore <backup id>]",
    "firewall": "firewall [attach|detach <firewall>]",
    "hostname": "hostname <name>",
    "rdns": "rdns [<ip>] <name>|reset",
}


async def answer_after_ack(
    services: Services, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond,
    work: Callable[[], Awaitable[dict[str, Any]]],
) -> None:  # fmt: skip
    """Run ``work`` after the ack and replace the message with what it renders (or the refusal)."""

    async def run() -> None:
        try:
            message = await work()
        except arrears.OrganisationOwes as owes:
            message = render_owed(owes, replace=True)
        except (UserError, LinodeError) as failure:
            message = vps_render.render_problem(failure.message)
        await respond(**message)

    run_after_ack(services, body, client, run(), view_id=None)


def first_answer(message: dict[str, Any]) -> dict[str, Any]:
    """A message as the command's own answer (nothing to replace yet)."""
    return {k: v for k, v in message.items() if k != "replace_original"}


def _loading(text: str) -> dict[str, Any]:
    line = f":hourglass_flowing_sand: {text}"
    return {"response_type": "ephemeral", "text": line, "blocks": [{"type": "section",
            "text": {"type": "mrkdwn", "text": line}}]}  # fmt: skip


async def show_page(call: CommandCall, server: vps.ServerView) -> None:
    """The page from the database at once, then with Linode's live details in its place."""
    services, actor = call.services, call.linked
    now = services.clock()
    panel = panel_links(services.settings.panel_url)
    quick = await server_page.load(services.engine, None, actor, server.label, now, live=False)
    await call.ack(**render.page(quick, call.command, now, loading=services.linode is not None, panel=panel))

    async def live() -> dict[str, Any]:
        full = await server_page.load(services.engine, services.linode, actor, server.label, now)
        return {**render.page(full, call.command, now, panel=panel), "replace_original": True}

    await answer_after_ack(services, call.body, call.client, call.respond, live)


async def subcommand(call: CommandCall, server: vps.ServerView) -> None:
    verb = call.args[1].lower()
    rest = list(call.args[2:])
    gateway = server_page.require_linode(call.services.linode)
    if verb == "stats":
        await _stats(call, gateway, server)
    elif verb == "backups":
        await _backups(call, gateway, server, rest)
    elif verb in ("firewall", "firewalls"):
        await _firewalls(call, gateway, server, rest)
    elif verb == "hostname":
        await _hostname(call, gateway, server, rest)
    else:
        await _rdns(call, gateway, server, rest)


def _usage(call: CommandCall, verb: str, server: vps.ServerView) -> UserError:
    return UserError(f"Usage: `{call.command} vps {server.label} {USAGE[verb]}`")


async def _stats(call: CommandCall, gateway: Any, server: vps.ServerView) -> None:
    services, actor = call.services, call.linked
    if len(call.args) > 2:
        raise UserError(f"Usage: `{call.command} vps {server.label} stats`")
    await call.ack(**_loading(f"Asking Linode for the last 24 hours of {server.label}…"))

    async def work() -> dict[str, Any]:
        return await stats_answer(services, call.client, actor, server.label, call.channel_id)

    await answer_after_ack(services, call.body, call.client, call.respond, work)


async def stats_answer(
    services: Services, client: AsyncWebClient, actor: Actor, label: str, channel_id: str | None
) -> dict[str, Any]:
    """Linode's last 24 hours in words, with the chart shared (in the bound channel, else the DM)."""
    gateway = server_page.require_linode(services.linode)
    stats = await server_stats.last_day(services.engine, gateway, services.settings, actor, label,
                                        channel_id=channel_id)  # fmt: skip
    shared = None
    if stats.file is not None and stats.destination is not None:
        try:
            await uploads.share_with(client, stats.destination.target, stats.file)
            shared = stats.destination.in_channel
        except (SlackApiError, SlackRequestError, aiohttp.ClientError) as failure:
            log.warning("vps.stats_chart_not_shared", extra={"error": type(failure).__name__})
    return render.stats_card(stats, server_stats.describe(stats), shared_in_channel=shared)


async def _backups(call: CommandCall, gateway: Any, server: vps.ServerView, rest: list[str]) -> None:
    services, actor = call.services, call.linked
    engine, settings = services.engine, services.settings
    action = rest[0].lower() if rest else None
    if action is None:
        await call.ack(**_loading(f"Reading the backups of {server.label}…"))

        async def listing() -> dict[str, Any]:
            found = await server_backups.listing(engine, gateway, settings, actor, server.label)
            return render.backups_card(found, call.command)

        await answer_after_ack(services, call.body, call.client, call.respond, listing)
        return
    actor.require(Action.MANAGE_SERVERS)
    if action == "on" and len(rest) == 1:
        try:
            offer = await server_backups.offer(engine, settings, actor, server.id)
        except arrears.OrganisationOwes as owes:
            await call.reply(render_owed(owes))
            return
        await call.ack(**first_answer(render.enable_offer(offer)))
    elif action == "off" and len(rest) == 1:
        await call.ack(**_confirm_off(server))
    elif action == "schedule" and len(rest) == 3:
        server_backups.parse_schedule(rest[1], rest[2])  # bad values are refused before anything runs
        await call.ack(**_loading(f"Saving the backup schedule of {server.label}…"))

        async def save() -> dict[str, Any]:
            label, day, window = await server_backups.schedule(
                engine, gateway, settings, actor, server.id, day=rest[1], window=rest[2], channel_id=call.channel_id
            )
            when = escape_mrkdwn(day or "on a day Linode chooses")
            return render.done(f"Backups of *{escape_mrkdwn(label)}* now run {when}, "
                               f"{render.window_text(window)}.")  # fmt: skip

        await answer_after_ack(services, call.body, call.client, call.respond, save)
    elif action == "snapshot" and len(rest) >= 2:
        name = server_backups.check_snapshot_label(" ".join(rest[1:]))
        await call.ack(**_loading(f"Taking snapshot “{name}” of {server.label}…"))

        async def take() -> dict[str, Any]:
            progress = SnapshotProgress(call.respond, server.label, name)
            status = await server_backups.snapshot(engine, gateway, settings, actor, server.id, name=name,
                                                   report=progress, channel_id=call.channel_id)  # fmt: skip
            return snapshot_result(server.label, name, status)

        await answer_after_ack(services, call.body, call.client, call.respond, take)
    elif action == "restore" and len(rest) == 2 and (backup_id := server_backups.parse_backup_id(rest[1])):
        await open_restore(services, call.client, actor, call.body["trigger_id"], server.id,
                           backup_id=backup_id, ack=call.ack)  # fmt: skip
    else:
        raise _usage(call, "backups", server)


def _confirm_off(server: vps.ServerView) -> dict[str, Any]:
    text = f"Turn off backups of *{escape_mrkdwn(server.label)}*? Linode deletes every backup it holds for it."
    button = {"type": "button", "text": {"type": "plain_text", "text": "Turn off"}, "style": "danger",
              "action_id": render.BACKUPS_OFF_ACTION_ID, "value": str(server.id),
              "confirm": {"title": {"type": "plain_text", "text": "Turn backups off?"},
                          "text": {"type": "mrkdwn", "text": "Every backup is deleted."},
                          "confirm": {"type": "plain_text", "text": "Turn off"},
                          "deny": {"type": "plain_text", "text": "Keep them"}, "style": "danger"}}  # fmt: skip
    cancel = {"type": "button", "text": {"type": "plain_text", "text": "Cancel"},
              "action_id": vps_render.CANCEL_ACTION_ID, "value": "x"}  # fmt: skip
    return {"response_type": "ephemeral", "text": text, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "elements": [button, cancel]}]}  # fmt: skip


class SnapshotProgress:
    """Shows the snapshot's status as Linode reports it (a few posts at most: Slack allows five)."""

    def __init__(self, respond: AsyncRespond, label: str, name: str) -> None:
        self._respond, self._label, self._name, self.posts = respond, label, name, 0

    async def __call__(self, status: str) -> None:
        if self.posts < 3 and status not in ("successful", "failed"):
            self.posts += 1
            await self._respond(**_loading(f"Snapshot “{self._name}” of {self._label}: {status}…"),
                                replace_original=True)  # fmt: skip


def snapshot_result(label: str, name: str, status: str) -> dict[str, Any]:
    if status == "successful":
        return render.done(f"Snapshot “{escape_mrkdwn(name)}” of *{escape_mrkdwn(label)}* is ready.")
    return vps_render.render_problem(f"Snapshot “{name}” of {label} ended {status}.")


async def open_restore(
    services: Services, client: AsyncWebClient, actor: Actor, trigger_id: str, server_id: Any, *, backup_id: int,
    ack: Callable[..., Awaitable[Any]],
) -> None:  # fmt: skip
    """Open the form at once (its trigger lasts 3 s), then fill it once Linode has said the backup and the
    server's state allow a restore."""
    opened = await client.views_open(trigger_id=trigger_id, view=render.note_modal("Restore backup", "Checking…"))
    await ack()
    view_id = str(opened["view"]["id"])

    async def fill() -> None:
        try:
            gateway = server_page.require_linode(services.linode)
            row, entry = await server_backups.check_restore(services.engine, gateway, services.settings, actor,
                                                            server_id, backup_id=backup_id)  # fmt: skip
        except (UserError, LinodeError) as refusal:
            await update_modal(client, view_id, render.note_modal("Restore backup", refusal.message))
            return
        await update_modal(client, view_id, render.restore_modal(row.id, row.label, entry.id, entry.created))

    run_after_ack(services, {}, client, fill(), view_id=view_id)


async def _firewalls(call: CommandCall, gateway: Any, server: vps.ServerView, rest: list[str]) -> None:
    services, actor = call.services, call.linked
    engine, settings = services.engine, services.settings
    action = rest[0].lower() if rest else None
    if action is None:
        await call.ack(**_loading(f"Reading the Cloud Firewalls for {server.label}…"))

        async def listing() -> dict[str, Any]:
            view, choices = await server_network.firewall_choices(engine, gateway, settings, actor, server.label)
            return render.firewalls_card(view.label, view.id, choices, can_manage=may_change(actor),
                                         command=call.command)  # fmt: skip

        await answer_after_ack(services, call.body, call.client, call.respond, listing)
        return
    if action not in ("attach", "detach") or len(rest) < 2:
        raise _usage(call, "firewall", server)
    actor.require(Action.MANAGE_SERVERS)
    wanted = " ".join(rest[1:])
    await call.ack(**_loading(f"Looking up Cloud Firewall {wanted}…"))

    async def change() -> dict[str, Any]:
        if action == "attach":
            label, name = await server_network.attach(engine, gateway, settings, actor, server.id, firewall=wanted,
                                                      channel_id=call.channel_id)  # fmt: skip
            return render.done(f"Cloud Firewall *{escape_mrkdwn(name)}* now protects *{escape_mrkdwn(label)}*.")
        view, choices = await server_network.firewall_choices(engine, gateway, settings, actor, server.label)
        attached = [c for c in choices if c.attached and wanted.lower() in (c.label.lower(), str(c.id))]
        if len(attached) != 1:
            raise UserError(f"No Cloud Firewall called {wanted} protects {view.label}.")
        return render.firewalls_card(view.label, view.id, attached, can_manage=True, command=call.command)

    await answer_after_ack(services, call.body, call.client, call.respond, change)


def may_change(actor: Actor) -> bool:
    """Whether the actor may change servers here (admin, owner, staff)."""
    try:
        actor.require(Action.MANAGE_SERVERS)
    except UserError:
        return False
    return True


async def _hostname(call: CommandCall, gateway: Any, server: vps.ServerView, rest: list[str]) -> None:
    services, actor = call.services, call.linked
    actor.require(Action.MANAGE_SERVERS)
    if len(rest) != 1:
        raise _usage(call, "hostname", server)
    name = server_network.check_hostname(rest[0])
    await call.ack(**_loading(f"Renaming {server.label} to {name}…"))

    async def rename() -> dict[str, Any]:
        old, new = await server_network.set_hostname(services.engine, gateway, services.settings, actor, server.id,
                                                     hostname=name, channel_id=call.channel_id)  # fmt: skip
        return render.done(
            f"*{escape_mrkdwn(old)}* is now called *{escape_mrkdwn(new)}* (at Linode, here and in the panel)."
        )

    await answer_after_ack(services, call.body, call.client, call.respond, rename)


async def _rdns(call: CommandCall, gateway: Any, server: vps.ServerView, rest: list[str]) -> None:
    services, actor = call.services, call.linked
    actor.require(Action.MANAGE_SERVERS)
    if len(rest) not in (1, 2):
        raise _usage(call, "rdns", server)
    address = rest[0] if len(rest) == 2 else None
    value = None if rest[-1].lower() == "reset" else rest[-1]
    await call.ack(**_loading(f"Setting reverse DNS of {server.label}…"))

    async def change() -> dict[str, Any]:
        label, ip, rdns = await server_network.set_rdns(
            services.engine, gateway, services.settings, actor, server.id, address=address, rdns=value,
            channel_id=call.channel_id,
        )  # fmt: skip
        said = f"`{escape_mrkdwn(rdns)}`" if rdns else "Linode's default name"
        return render.done(f"Reverse DNS of `{escape_mrkdwn(ip)}` ({escape_mrkdwn(label)}) is now {said}.")

    await answer_after_ack(services, call.body, call.client, call.respond, change)
