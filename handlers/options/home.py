"""Searching the App Home's organisation switcher: the person's organisations (staff: all of them)
whose name or slug contains what they typed."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.rendering import home as render
from bot.rendering.fit import OPTIONS
from bot.rendering.pickers import options_answer
from bot.services import orgs
from bot.services.container import Services
from bot.services.identity import Actor
from handlers.acting import LINKED, Interactions


def register(app: AsyncApp, services: Services) -> None:
    @Interactions(app, services).options(render.SWITCH_ACTION_ID, LINKED)
    async def search_organisations(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, actor: Actor) -> None:
        found = await orgs.find_organizations(services.engine, actor, str(body.get("value") or ""), limit=OPTIONS)
        await ack(**options_answer(render.switcher_choices(found)))
