"""Server buttons and selects: power actions, rebuild/resize pickers and confirmations, and the
create/delete modals. The gate checks the clicker against the server's (or the list's) own
organisation first; each listener then acks at once (modals open first)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.linode.errors import LinodeError
from bot.panel_links import panel_links
from bot.rendering import vps as render
from bot.rendering.paging import PageRef
from bot.services import vps, vps_actions
from bot.services.access import Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action, allowed
from bot.slack.modals import update_modal
from handlers.acting import LINKED, Interactions, Need
from handlers.actions.paging import org_page_scope, register_pager
from handlers.commands.vps import (
    fill_create_modal,
    open_delete_modal,
    power_words,
    rebuild_picker,
    require_linode,
    run_power,
    server_page,
    show_rebuild_picker,
)
from handlers.context import channel_id
from handlers.errors import run_after_ack
from handlers.server_progress import Message, Surface, card_surface, list_surface, run_reported

STALE_BUTTON = "That button is no longer valid. Run the command again."
POWER = re.compile("^vps_power_(start|stop|reboot)$")


def server_scope(body: dict[str, Any]) -> Target:
    """The server a button or select is about: its value is `<server id>` or `<server id>|<choice>`."""
    value = _value(body["actions"][0])
    pair = render.parse_pair(value)
    return Target.parse(TargetKind.SERVER, pair[0] if pair else value)


def list_scope(body: dict[str, Any]) -> Target:
    """The organisation whose server list the Create button was on."""
    return Target.parse(TargetKind.ORGANIZATION, _value(body["actions"][0]))


#: Changing a server needs an admin (or owner) of the server's own organisation, or staff.
ON_SERVER = Need(action=Action.MANAGE_SERVERS, scope=server_scope)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _value(action: dict[str, Any]) -> str:
    option = action.get("selected_option")
    return str(option.get("value") if option else action.get("value") or "")


async def _pair(value: str, respond: AsyncRespond) -> tuple[str, str] | None:
    """A `<server id>|<choice>` button value, or None after telling the user the button is stale."""
    pair = render.parse_pair(value)
    if pair is None:
        await respond(**render.render_problem(STALE_BUTTON))
    return pair


async def _server(services: Services, actor: Actor, raw_id: str, respond: AsyncRespond) -> Any | None:
    """The server row the actor may change, or None after telling them why not."""
    server_id = _uuid(raw_id)
    if server_id is None:
        await respond(**render.render_problem(STALE_BUTTON))
        return None
    try:
        require_linode(services)
        return await vps.server_for_actor(services.engine, actor, server_id)
    except UserError as refusal:
        await respond(**render.render_problem(refusal.message))
        return None


def _on_list_row(body: dict[str, Any]) -> bool:
    """The click was on a row of the server list (not on one server's card)."""
    return str(body["actions"][0].get("block_id") or "").startswith(render.LIST_ROW_BLOCK_PREFIX)


def _surface(
    services: Services, body: dict[str, Any], actor: Actor, respond: AsyncRespond, *, row: Any,
    words: tuple[str, str],
) -> Surface:  # fmt: skip
    """The clicked message: the list with this row updated in place, or the server's card."""
    if _on_list_row(body):
        return list_surface(services, actor, respond, server_id=row.id, words=words)
    return card_surface(services, actor, respond, server_id=row.id, label=row.label, words=words)


def register(app: AsyncApp, services: Services) -> None:
    on = Interactions(app, services)

    async def show_servers(actor: Actor, ref: PageRef) -> dict[str, Any]:
        return await server_page(services, actor, offset=ref.offset)

    register_pager(on, render.SERVER_PAGER, Need(action=Action.VIEW, scope=org_page_scope), show_servers)

    @on.action(tuple(render.POWER_ACTION_IDS.values()), ON_SERVER)
    async def power_button(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        action = body["actions"][0]
        verb = POWER.match(action["action_id"]).group(1)  # type: ignore[union-attr]
        row = await _server(services, actor, _value(action), respond)
        if row is None:
            return
        surface = _surface(services, body, actor, respond, row=row, words=power_words(verb))
        await surface.report(row.status)  # at once: the row (or card) says what is happening, its buttons gone
        await run_power(services, actor, surface, row.id, verb=verb, channel_id=channel_id(body))

    @on.action(render.REFRESH_ACTION_ID, Need(action=Action.VIEW, scope=server_scope))
    async def refresh_server(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        """Ask Linode once and show the server (its row, or its card) as it is now."""
        await ack()
        server_id = _uuid(_value(body["actions"][0]))
        panel = panel_links(services.settings.panel_url)
        try:
            if server_id is None:
                raise UserError(STALE_BUTTON)
            view = await vps.show_server(services.engine, actor, server_id, gateway=services.linode)
            if _on_list_row(body):
                listing = await vps.list_servers(services.engine, actor)
                command = services.settings.slack_command
                await respond(**render.render_server_list(listing, command, panel=panel, replace=True))
                return
        except UserError as refusal:
            await respond(**render.render_problem(refusal.message))
            return
        can_manage = allowed(actor.grant(), Action.MANAGE_SERVERS)
        await respond(**render.render_server(view, can_manage=can_manage, panel=panel, replace=True))

    @on.action(render.CREATE_OPEN_ACTION_ID, Need(action=Action.MANAGE_SERVERS, scope=list_scope))
    async def create_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, actor: Actor) -> None:
        """The gate has checked the role in the list's organisation; the form is bound to it."""
        opened = await client.views_open(trigger_id=body["trigger_id"], view=render.loading_modal())
        await ack()
        view_id = str(opened["view"]["id"])
        try:
            require_linode(services)
        except UserError as refusal:
            await update_modal(client, view_id, render.message_modal("Create a server", refusal.message))
            return
        metadata = render.create_metadata(channel_id(body), body.get("response_url"))
        run_after_ack(
            services, body, client, fill_create_modal(services, client, actor, view_id, metadata), view_id=view_id
        )

    @on.action(render.DELETE_OPEN_ACTION_ID, ON_SERVER)
    async def delete_button(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        server_id = _uuid(_value(body["actions"][0]))
        if server_id is None:
            await ack()
            await respond(**render.render_problem(STALE_BUTTON))
            return
        await open_delete_modal(services, client, actor, body["trigger_id"], server_id=server_id, ack=ack)

    @on.action(render.CANCEL_ACTION_ID, LINKED)
    async def cancel(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        await ack()
        await respond(text=render.CANCELLED, replace_original=True)

    @on.action(render.REBUILD_PICK_ACTION_ID, ON_SERVER)
    async def rebuild_pick(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        row = await _server(services, actor, _value(body["actions"][0]), respond)
        if row:
            await show_rebuild_picker(services, respond, str(row.id), row.label)

    @on.action(render.REBUILD_IMAGE_ACTION_ID, ON_SERVER)
    async def rebuild_image(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        pair = await _pair(_value(body["actions"][0]), respond)
        row = pair and await _server(services, actor, pair[0], respond)
        if pair and row:
            await respond(**render.render_rebuild_confirm(str(row.id), row.label, pair[1]))

    @on.action(render.REBUILD_CONFIRM_ACTION_ID, ON_SERVER)
    async def rebuild_confirm(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()

        async def rebuild(actor: Actor, server_id: uuid.UUID, image: str, report: vps.Report) -> str:
            return await vps_actions.rebuild(
                services.engine, require_linode(services), services.settings, actor, server_id,
                image=image, report=report, channel_id=channel_id(body),
            )  # fmt: skip

        async def picker_again(server_id: str, label: str, image: str, error: str) -> Message:
            return await rebuild_picker(services, server_id, label, chosen=image, error=error)

        await _run_confirmed(
            services, body, actor, respond, words=("Rebuilding", "Rebuilt"), change=rebuild, form=picker_again
        )

    @on.action(render.RESIZE_PICK_ACTION_ID, ON_SERVER)
    async def resize_pick(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        row = await _server(services, actor, _value(body["actions"][0]), respond)
        if row:
            plans = await vps.list_plans(services.engine)
            await respond(**render.render_resize_picker(str(row.id), row.label, plans))

    @on.action(render.RESIZE_PLAN_ACTION_ID, ON_SERVER)
    async def resize_plan(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        pair = await _pair(_value(body["actions"][0]), respond)
        if pair is None:
            return
        server_id = _uuid(pair[0])
        if server_id is None:
            await respond(**render.render_problem(STALE_BUTTON))
            return
        try:
            preview = await vps_actions.resize_preview(services.engine, actor, server_id, pair[1])
        except UserError as refusal:
            await respond(**render.render_problem(refusal.message))
            return
        await respond(**render.render_resize_confirm(preview))

    @on.action(render.RESIZE_CONFIRM_ACTION_ID, ON_SERVER)
    async def resize_confirm(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()

        async def resize(actor: Actor, server_id: uuid.UUID, plan_id: str, report: vps.Report) -> str:
            return await vps_actions.resize(
                services.engine, require_linode(services), services.settings, actor, server_id,
                plan_id=plan_id, report=report, channel_id=channel_id(body),
            )  # fmt: skip

        async def picker_again(server_id: str, label: str, plan_id: str, error: str) -> Message:
            plans = await vps.list_plans(services.engine)
            return render.render_resize_picker(server_id, label, plans, chosen=plan_id, error=error)

        await _run_confirmed(
            services, body, actor, respond, words=("Resizing", "Resized"), change=resize, form=picker_again
        )


Change = Callable[[Actor, uuid.UUID, str, vps.Report], Awaitable[str]]
Form = Callable[[str, str, str, str], Awaitable[Message]]  # server id, label, the choice, Linode's words


async def _run_confirmed(
    services: Services,
    body: dict[str, Any],
    actor: Actor,
    respond: AsyncRespond,
    *,
    words: tuple[str, str],
    change: Change,
    form: Form,
) -> None:
    """A confirmed rebuild/resize of the server the gate checked, with progress.

    The button value is `<server id>|<image or plan>`; `words` are the progress verb and the done label.
    When Linode refuses the choice, `form` shows the picker again with it still chosen and the reason.
    """
    pair = await _pair(_value(body["actions"][0]), respond)
    row = pair and await _server(services, actor, pair[0], respond)
    if not (pair and row):
        return

    async def work(report: vps.Report) -> str:
        return await change(actor, row.id, pair[1], report)

    async def refused(error: str) -> Message:
        try:
            return await form(str(row.id), row.label, pair[1], error)
        except LinodeError:  # the choices cannot be listed again: the reason alone
            return render.render_problem(error)

    surface = card_surface(
        services, actor, respond, server_id=row.id, label=row.label, words=words, refused=refused
    )  # fmt: skip
    await surface.report(row.status)
    await run_reported(surface, work)
