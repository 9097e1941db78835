"""The App Home's organisation switcher: choosing one sets the active organisation like
`/cs org use`, then the Home is published again for it.

The gate checks the chosen organisation first (a member, or staff): a value that is not one of the
person's organisations is refused before anything changes."""

from __future__ import annotations

import contextlib
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import home as render
from bot.services import orgs
from bot.services.access import Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor
from bot.slack.home import refresh_home
from handlers.acting import Interactions, Need


def chosen_scope(body: dict[str, Any]) -> Target:
    """The organisation picked in the switcher."""
    option = body["actions"][0].get("selected_option") or {}
    return Target.parse(TargetKind.ORGANIZATION, option.get("value"))


def register(app: AsyncApp, services: Services) -> None:
    @Interactions(app, services).action(render.SWITCH_ACTION_ID, Need(scope=chosen_scope))
    async def switch_organisation(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, actor: Actor) -> None:
        await ack()
        with contextlib.suppress(UserError):  # left it since the gate looked: the Home shows where they act
            await orgs.use_organization(services.engine, actor, organization_id=chosen_scope(body).id, channel_id=None)
        await refresh_home(services, client, actor.slack)
