"""Server buttons and selects: power actions, rebuild/resize pickers and confirmations, and the
create/delete modals. Each listener acks at once (modals open first) and re-checks the actor."""

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
from bot.rendering import vps as render
from bot.services import vps, vps_actions
from bot.services.container import Services
from bot.services.identity import Actor, resolve_actor
from bot.services.permissions import Action
from bot.slack.modals import update_modal
from handlers.acting import actor_or_prompt, link_prompt
from handlers.commands.vps import (
    fill_create_modal,
    open_delete_modal,
    require_linode,
    run_power,
    run_reported,
    show_rebuild_picker,
)
from handlers.context import channel_id, slack_ref
from handlers.errors import guarded, run_after_ack

STALE_BUTTON = "That button is no longer valid. Run the command again."
POWER = re.compile("^vps_power_(start|stop|reboot)$")


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


def register(app: AsyncApp, services: Services) -> None:
    @app.action(POWER)
    @guarded(services)
    async def power_button(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        await ack()
        verb = POWER.match(action["action_id"]).group(1)  # type: ignore[union-attr]
        actor = await actor_or_prompt(services, body, respond)
        row = actor and await _server(services, actor, _value(action), respond)
        if actor is None or row is None:
            return
        await respond(**render.render_progress(row.label, vps_actions.POWER_ACTIONS[verb].doing, row.status))
        await run_power(services, actor, respond, row.id, label=row.label, verb=verb, channel_id=channel_id(body))

    @app.action(render.CREATE_OPEN_ACTION_ID)
    @guarded(services)
    async def create_button(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        opened = await client.views_open(trigger_id=body["trigger_id"], view=render.loading_modal())
        await ack()
        view_id = str(opened["view"]["id"])
        actor = await resolve_actor(services.pool, slack_ref(body), channel_id(body))
        try:
            if actor is None:
                raise UserError("Link your Slack account first: type /cs link.")
            vps.in_org(actor)
            actor.require(Action.MANAGE_SERVERS)
            require_linode(services)
        except UserError as refusal:
            await update_modal(client, view_id, render.message_modal("Create a server", refusal.message))
            return
        metadata = render.create_metadata(channel_id(body), body.get("response_url"))
        run_after_ack(
            services, body, client, fill_create_modal(services, client, actor, view_id, metadata), view_id=view_id
        )

    @app.action(render.DELETE_OPEN_ACTION_ID)
    @guarded(services)
    async def delete_button(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        server_id = _uuid(_value(action))
        if server_id is None:
            await ack()
            await respond(**render.render_problem(STALE_BUTTON))
            return
        actor = await resolve_actor(services.pool, slack_ref(body), channel_id(body))
        if actor is None:
            await ack()
            await respond(**await link_prompt(services, slack_ref(body)), replace_original=False)
            return
        await open_delete_modal(services, client, actor, body["trigger_id"], server_id=server_id, ack=ack)

    @app.action(render.CANCEL_ACTION_ID)
    @guarded(services)
    async def cancel(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        await ack()
        await respond(text=render.CANCELLED, replace_original=True)

    @app.action(render.REBUILD_PICK_ACTION_ID)
    @guarded(services)
    async def rebuild_pick(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        await ack()
        actor = await actor_or_prompt(services, body, respond)
        row = actor and await _server(services, actor, _value(action), respond)
        if row:
            await show_rebuild_picker(services, respond, str(row.id), row.label)

    @app.action(render.REBUILD_IMAGE_ACTION_ID)
    @guarded(services)
    async def rebuild_image(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        await ack()
        pair = await _pair(_value(action), respond)
        if pair is None:
            return
        actor = await actor_or_prompt(services, body, respond)
        row = actor and await _server(services, actor, pair[0], respond)
        if row:
            await respond(**render.render_rebuild_confirm(str(row.id), row.label, pair[1]))

    @app.action(render.REBUILD_CONFIRM_ACTION_ID)
    @guarded(services)
    async def rebuild_confirm(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        await ack()

        async def rebuild(actor: Actor, server_id: uuid.UUID, image: str, report: vps.Report) -> str:
            return await vps_actions.rebuild(
                services.engine, require_linode(services), services.settings, actor, server_id,
                image=image, report=report, channel_id=channel_id(body),
            )  # fmt: skip

        await _run_confirmed(services, body, action, respond, words=("Rebuilding", "Rebuilt:"), change=rebuild)

    @app.action(render.RESIZE_PICK_ACTION_ID)
    @guarded(services)
    async def resize_pick(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        await ack()
        actor = await actor_or_prompt(services, body, respond)
        row = actor and await _server(services, actor, _value(action), respond)
        if row:
            plans = await vps.list_plans(services.engine)
            await respond(**render.render_resize_picker(str(row.id), row.label, plans))

    @app.action(render.RESIZE_PLAN_ACTION_ID)
    @guarded(services)
    async def resize_plan(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        await ack()
        pair = await _pair(_value(action), respond)
        if pair is None:
            return
        server_id = _uuid(pair[0])
        if server_id is None:
            await respond(**render.render_problem(STALE_BUTTON))
            return
        actor = await actor_or_prompt(services, body, respond)
        if actor is None:
            return
        try:
            preview = await vps_actions.resize_preview(services.engine, actor, server_id, pair[1])
        except UserError as refusal:
            await respond(**render.render_problem(refusal.message))
            return
        await respond(**render.render_resize_confirm(preview))

    @app.action(render.RESIZE_CONFIRM_ACTION_ID)
    @guarded(services)
    async def resize_confirm(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, action: dict[str, Any]
    ) -> None:
        await ack()

        async def resize(actor: Actor, server_id: uuid.UUID, plan_id: str, report: vps.Report) -> str:
            return await vps_actions.resize(
                services.engine, require_linode(services), services.settings, actor, server_id,
                plan_id=plan_id, report=report, channel_id=channel_id(body),
            )  # fmt: skip

        await _run_confirmed(services, body, action, respond, words=("Resizing", "Resized:"), change=resize)


Change = Callable[[Actor, uuid.UUID, str, vps.Report], Awaitable[str]]


async def _run_confirmed(
    services: Services,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    words: tuple[str, str],
    change: Change,
) -> None:
    """A confirmed rebuild/resize: re-check who and which server, then run it with progress.

    The button value is `<server id>:<image or plan>`; `words` are the progress verb and the done label.
    """
    pair = await _pair(_value(action), respond)
    if pair is None:
        return
    actor = await actor_or_prompt(services, body, respond)
    row = actor and await _server(services, actor, pair[0], respond)
    if not (actor and row):
        return
    verb, done = words

    async def work(report: vps.Report) -> str:
        return await change(actor, row.id, pair[1], report)

    await respond(**render.render_progress(row.label, verb, row.status))
    await run_reported(respond, row.label, verb, done, work)
