"""Buttons of the server page: Stats, Backups, Firewalls and Refresh (members: they show), and the
changes (admins and owners: backups on/off, snapshot, schedule, restore, firewall attach/detach,
hostname). The gate checks the clicker against the server's own organisation first."""

from __future__ import annotations

import json
import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.panel_links import panel_links
from bot.rendering import server_page as render
from bot.rendering import vps as vps_render
from bot.rendering.escape import escape_mrkdwn
from bot.services import server_backups, server_network, server_page, vps
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from handlers.acting import Interactions, Need
from handlers.actions.vps import server_scope
from handlers.commands.vps_page import answer_after_ack, may_change, open_restore, stats_answer
from handlers.context import channel_id

STALE = "That button is no longer valid. Run the command again."
ON_VIEW = Need(action=Action.VIEW, scope=server_scope)
ON_CHANGE = Need(action=Action.MANAGE_SERVERS, scope=server_scope)


def _value(body: dict[str, Any]) -> str:
    action = body["actions"][0]
    option = action.get("selected_option")
    return str(option.get("value") if option else action.get("value") or "")


def _ids(body: dict[str, Any]) -> tuple[uuid.UUID, str | None]:
    """`<server id>` or `<server id>|<choice>`; a broken value is a stale control."""
    server, _, choice = _value(body).partition("|")
    try:
        return uuid.UUID(server), (choice or None)
    except ValueError:
        raise UserError(STALE) from None


def register(app: AsyncApp, services: Services) -> None:
    on = Interactions(app, services)
    engine, settings = services.engine, services.settings

    def later(body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, work: Any) -> Any:
        return answer_after_ack(services, body, client, respond, work)

    @on.action(render.VIEW_ACTION_IDS, ON_VIEW)
    async def page_view(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        action_id = body["actions"][0]["action_id"]

        async def show() -> dict[str, Any]:
            """Refresh replaces the page; the others answer beside it, so the page stays."""
            shown = await look()
            return shown if action_id == render.REFRESH_ACTION_ID else {**shown, "replace_original": False}

        async def look() -> dict[str, Any]:
            server_id, _ = _ids(body)
            label = await server_page.label_for_viewer(engine, actor, server_id)
            gateway = server_page.require_linode(services.linode)
            if action_id == render.STATS_ACTION_ID:
                return await stats_answer(services, client, actor, label, channel_id(body))
            if action_id == render.BACKUPS_ACTION_ID:
                return render.backups_card(await server_backups.listing(engine, gateway, settings, actor, label),
                                           settings.slack_command)  # fmt: skip
            if action_id == render.FIREWALLS_ACTION_ID:
                view, choices = await server_network.firewall_choices(engine, gateway, settings, actor, label)
                can = may_change(actor)
                return render.firewalls_card(view.label, view.id, choices, can_manage=can,
                                             command=settings.slack_command)  # fmt: skip
            page = await server_page.load(engine, gateway, actor, label, services.clock())
            return {
                **render.page(page, settings.slack_command, services.clock(), panel=panel_links(settings.panel_url)),
                "replace_original": True,
            }

        await later(body, client, respond, show)

    @on.action(render.BACKUPS_ON_ACTION_ID, ON_CHANGE)
    async def backups_on(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()

        async def offer() -> dict[str, Any]:
            return render.enable_offer(await server_backups.offer(engine, settings, actor, _ids(body)[0]))

        await later(body, client, respond, offer)

    @on.action((render.BACKUPS_ON_CONFIRM_ACTION_ID, render.BACKUPS_OFF_ACTION_ID), ON_CHANGE)
    async def backups_switch(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        """Turn on (after the price was shown) or off (after the confirm dialog)."""
        await ack()
        on = body["actions"][0]["action_id"] == render.BACKUPS_ON_CONFIRM_ACTION_ID

        async def switch() -> dict[str, Any]:
            gateway = server_page.require_linode(services.linode)
            label = await server_backups.switch(engine, gateway, settings, actor, _ids(body)[0], on=on,
                                                channel_id=channel_id(body))  # fmt: skip
            said = "are on. Linode takes the first one tonight." if on else "are off; Linode deleted them."
            return render.done(f"Backups of *{escape_mrkdwn(label)}* {said}")

        await later(body, client, respond, switch)

    @on.action((render.SNAPSHOT_OPEN_ACTION_ID, render.SCHEDULE_OPEN_ACTION_ID, render.HOSTNAME_OPEN_ACTION_ID),
               ON_CHANGE)  # fmt: skip
    async def open_form(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        try:
            row = await vps.server_for_actor(engine, actor, _ids(body)[0])
        except UserError as refusal:
            await ack()
            await respond(**vps_render.render_problem(refusal.message))
            return
        forms = {render.SNAPSHOT_OPEN_ACTION_ID: render.snapshot_modal,
                 render.SCHEDULE_OPEN_ACTION_ID: render.schedule_modal,
                 render.HOSTNAME_OPEN_ACTION_ID: render.hostname_modal}  # fmt: skip
        view = forms[body["actions"][0]["action_id"]](row.id, row.label)
        view["private_metadata"] = _with_channel(view["private_metadata"], channel_id(body))
        await client.views_open(trigger_id=body["trigger_id"], view=view)
        await ack()

    @on.action(render.RESTORE_OPEN_ACTION_ID, ON_CHANGE)
    async def restore_open(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        server_id, choice = _ids(body)
        backup_id = server_backups.parse_backup_id(choice or "")
        if backup_id is None:
            await ack()
            await respond(**vps_render.render_problem(STALE))
            return
        await open_restore(services, client, actor, body["trigger_id"], server_id, backup_id=backup_id, ack=ack)

    @on.action((render.FIREWALL_ATTACH_ACTION_ID, render.FIREWALL_DETACH_ACTION_ID), ON_CHANGE)
    async def firewall_change(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        attach = body["actions"][0]["action_id"] == render.FIREWALL_ATTACH_ACTION_ID

        async def change() -> dict[str, Any]:
            server_id, firewall = _ids(body)
            gateway = server_page.require_linode(services.linode)
            act = server_network.attach if attach else server_network.detach
            label, name = await act(engine, gateway, settings, actor, server_id, firewall=firewall or "",
                                    channel_id=channel_id(body))  # fmt: skip
            verb = "now protects" if attach else "no longer protects"
            return render.done(f"Cloud Firewall *{escape_mrkdwn(name)}* {verb} *{escape_mrkdwn(label)}*.")

        await later(body, client, respond, change)


def _with_channel(metadata: str, channel: str | None) -> str:
    """The form's metadata (its server) plus the channel it was opened from (where notices go)."""
    return json.dumps({**vps_render.read_metadata(metadata), "channel_id": channel})
