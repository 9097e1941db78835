"""Searching the server menus too long to list: the create form's plans, regions, images and
StackScripts, and a server's rebuild images and resize plans.

Each offers exactly what the form or button would accept when submitted (the same catalogue the
create service checks values against), only to someone who may change servers in that organisation."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.rendering import vps as render
from bot.rendering.fit import OPTIONS
from bot.rendering.pickers import options_answer
from bot.services import vps, vps_create
from bot.services.access import Target, TargetKind
from bot.services.choices import Choice, search
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from handlers.acting import NO_OPTIONS, Interactions, Need
from handlers.views.vps import create_form_scope


def picker_scope(body: dict[str, Any]) -> Target:
    """The server a rebuild or resize menu belongs to (named in its block id)."""
    return Target.parse(TargetKind.SERVER, render.searched_server(str(body.get("block_id") or "")))


def register(app: AsyncApp, services: Services) -> None:
    on = Interactions(app, services)

    async def answer(ack: AsyncAck, body: dict[str, Any], choices: list[Choice]) -> None:
        await ack(**options_answer(search(choices, str(body.get("value") or ""), limit=OPTIONS)))

    @on.options(render.CREATE_SEARCH_ACTION_ID, Need(action=Action.MANAGE_SERVERS, scope=create_form_scope))
    async def search_create_form(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, actor: Actor) -> None:
        field = render.searched_field(str(body.get("block_id") or ""))
        if field is None or services.linode is None:
            await ack(**NO_OPTIONS)
            return
        catalogue = await vps_create.create_catalogue(services.engine, services.linode, actor)
        await answer(ack, body, render.create_choices(catalogue)[field])

    @on.options(render.REBUILD_IMAGE_ACTION_ID, Need(action=Action.MANAGE_SERVERS, scope=picker_scope))
    async def search_rebuild_images(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, actor: Actor) -> None:
        if services.linode is None:
            await ack(**NO_OPTIONS)
            return
        images = [(i["id"], i["label"]) for i in await services.linode.images()]
        await answer(ack, body, render.rebuild_choices(str(picker_scope(body).id), images))

    @on.options(render.RESIZE_PLAN_ACTION_ID, Need(action=Action.MANAGE_SERVERS, scope=picker_scope))
    async def search_resize_plans(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, actor: Actor) -> None:
        plans = await vps.list_plans(services.engine)
        await answer(ack, body, render.resize_choices(str(picker_scope(body).id), plans))
