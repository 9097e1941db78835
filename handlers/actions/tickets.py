"""Triage card controls: assign to me / to someone, priority, status, reply (a modal) and close.

The gate checks the clicker first (linked staff; for Reply, staff or a member of the ticket's own
organisation); each control then acks and changes the ticket. The card itself is updated in place
through the outbox by the ticket sync, never from here.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import tickets as render
from bot.rendering.escape import escape_mrkdwn
from bot.rendering.paging import PageRef
from bot.services import tickets
from bot.services.access import StaleControl, Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor, SlackRef
from bot.services.permissions import Action
from handlers.acting import Interactions, Need, org_in_value
from handlers.actions.paging import org_page_scope, register_pager
from handlers.commands.tickets import ticket_page
from handlers.context import channel_id, slack_ref

STAFF = Need(staff=True)
STALE_CONTROL = "That control is no longer valid."


def _ticket_and_value(action: dict[str, Any]) -> tuple[uuid.UUID, str]:
    """`<ticket id>:<value>` from a select option, or the ticket id from a button value / block id."""
    raw = str((action.get("selected_option") or {}).get("value") or action.get("value") or "")
    if not raw and str(action.get("block_id", "")).startswith(render.CARD_BLOCK_PREFIX):
        raw = str(action["block_id"]).removeprefix(render.CARD_BLOCK_PREFIX)
    ticket, _, value = raw.partition(":")
    return uuid.UUID(ticket), value


def ticket_scope(body: dict[str, Any]) -> Target:
    """The ticket a card control belongs to (and so its organisation)."""
    try:
        return Target(TargetKind.TICKET, _ticket_and_value(body["actions"][0])[0])
    except ValueError:
        raise StaleControl from None


def register(app: AsyncApp, services: Services) -> None:
    engine = services.engine
    support = services.settings.support_channel
    on = Interactions(app, services)

    @on.action(render.NEW_OPEN_ACTION_ID, Need(action=Action.VIEW, scope=org_in_value))
    async def open_new_ticket(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, actor: Actor) -> None:
        """A New ticket button (the Home's): the same form as `/cs ticket new`, bound to that organisation."""
        view = render.render_new_modal(organization_id=tickets.filing_organization(actor), channel_id=channel_id(body))
        await client.views_open(trigger_id=body["trigger_id"], view=view)
        await ack()

    async def show_tickets(actor: Actor, ref: PageRef) -> dict[str, Any]:
        return await ticket_page(services, actor, offset=ref.offset)

    register_pager(on, render.TICKET_PAGER, Need(action=Action.VIEW, scope=org_page_scope), show_tickets)

    async def run(body: dict[str, Any], client: AsyncWebClient, work: Callable[[], Awaitable[object]]) -> None:
        """Do the change; a refusal (or a control that no longer parses) is told to the clicker only."""
        where = channel_id(body)
        try:
            await work()
        except (UserError, ValueError) as refusal:
            text = refusal.message if isinstance(refusal, UserError) else STALE_CONTROL
            if where:
                await client.chat_postEphemeral(channel=where, user=slack_ref(body).user_id, text=escape_mrkdwn(text))

    @on.action(render.ACTION_ASSIGN_ME, STAFF)
    async def assign_ticket_to_me(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any], actor: Actor
    ) -> None:
        await ack()

        async def work() -> object:
            return await tickets.assign(
                engine, actor, _ticket_and_value(action)[0], actor.slack, default_channel=support
            )

        await run(body, client, work)

    @on.action(render.ACTION_ASSIGN_USER, STAFF)
    async def assign_ticket_to_user(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any], actor: Actor
    ) -> None:
        await ack()

        async def work() -> object:
            chosen = SlackRef(actor.slack.enterprise_id, actor.slack.team_id, str(action.get("selected_user") or ""))
            return await tickets.assign(engine, actor, _ticket_and_value(action)[0], chosen, default_channel=support)

        await run(body, client, work)

    @on.action(render.ACTION_PRIORITY, STAFF)
    async def change_ticket_priority(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any], actor: Actor
    ) -> None:
        await ack()

        async def work() -> object:
            ticket_id, priority = _ticket_and_value(action)
            return await tickets.change_priority(engine, actor, ticket_id, priority, default_channel=support)

        await run(body, client, work)

    @on.action((render.ACTION_STATUS, render.ACTION_CLOSE), STAFF)
    async def change_ticket_status(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any], actor: Actor
    ) -> None:
        """The status select, or the Close button (which sets `closed`)."""
        await ack()

        async def work() -> object:
            ticket_id, status = _ticket_and_value(action)
            status = "closed" if action.get("action_id") == render.ACTION_CLOSE else status
            return await tickets.change_status(engine, actor, ticket_id, status, default_channel=support)

        await run(body, client, work)

    @on.action(render.ACTION_REPLY, Need(action=Action.VIEW, scope=ticket_scope))
    async def open_ticket_reply(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, action: dict[str, Any], actor: Actor
    ) -> None:
        """The gate has checked the clicker against the ticket's own organisation: open the modal
        (trigger ids expire in 3 s), then ack; the submission checks again."""
        ticket = await tickets.ticket_for_modal(engine, _ticket_and_value(action)[0])
        await client.views_open(trigger_id=body["trigger_id"], view=render.render_reply_modal(ticket))
        await ack()
