"""Organisation buttons: open the create modal, and confirm or cancel a member removal."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import orgs as render
from bot.rendering.escape import escape_mrkdwn
from bot.rendering.paging import PageRef
from bot.services import orgs
from bot.services.access import StaleControl, Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from handlers.acting import LINKED, Interactions, Need
from handlers.actions.paging import org_page_scope, register_pager
from handlers.commands.org import binding_page, member_page, organisation_page, refresh_homes
from handlers.context import channel_id

STALE_BUTTON = "That button is no longer valid. Run the command again."


def _ids(value: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    parsed = render.parse_remove_value(value)
    if parsed is None:
        return None
    try:
        return uuid.UUID(parsed[0]), uuid.UUID(parsed[1])
    except ValueError:
        return None


def removal_scope(body: dict[str, Any]) -> Target:
    """The organisation a removal confirmation was asked in."""
    ids = _ids(str(body["actions"][0].get("value") or ""))
    if ids is None:
        raise StaleControl
    return Target(TargetKind.ORGANIZATION, ids[0])


def register(app: AsyncApp, services: Services) -> None:
    on = Interactions(app, services)
    in_list_org = Need(action=Action.VIEW, scope=org_page_scope)

    async def show_organisations(actor: Actor, ref: PageRef) -> dict[str, Any]:
        return await organisation_page(services, actor, offset=ref.offset)

    async def show_members(actor: Actor, ref: PageRef) -> dict[str, Any]:
        return await member_page(services, actor, offset=ref.offset)

    async def show_bindings(actor: Actor, ref: PageRef) -> dict[str, Any]:
        return await binding_page(services, actor, offset=ref.offset)

    register_pager(on, render.ORG_PAGER, LINKED, show_organisations)  # whatever the actor may list now
    register_pager(on, render.MEMBER_PAGER, in_list_org, show_members)
    register_pager(on, render.BINDING_PAGER, in_list_org, show_bindings)

    @on.action(render.CREATE_BUTTON_ACTION_ID, LINKED)
    async def open_create_modal(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        view = render.render_create_modal("", channel_id=channel_id(body))
        await client.views_open(trigger_id=body["trigger_id"], view=view)
        await ack()

    @on.action(render.REMOVE_CANCEL_ACTION_ID, LINKED)
    async def cancel_removal(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        await respond(**render.render_replacement(render.REMOVE_CANCELLED))

    @on.action(render.REMOVE_CONFIRM_ACTION_ID, Need(scope=removal_scope))
    async def confirm_removal(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        """Re-check everything at click time (roles may have changed since the question was asked)."""
        await ack()
        org_id, user_id = _ids(str(body["actions"][0].get("value") or "")) or (None, None)
        if org_id is None or user_id is None:
            await respond(**render.render_replacement(STALE_BUTTON))
            return
        try:
            removal = await orgs.remove_member(services.engine, actor, org_id, user_id, channel_id=channel_id(body))
        except UserError as refusal:
            await respond(**render.render_replacement(f":no_entry_sign: {escape_mrkdwn(refusal.message)}"))
            return
        await respond(**render.render_removed(removal))
        await refresh_homes(services, client, removal.refresh)
