"""Wallet buttons: confirm or cancel a top-up preview, and page through the ledger history.

Each button carries the organisation it was shown for; the gate re-reads the clicker's role there
at click time (roles and wallets may have changed since the message was shown), whichever
organisation is active by then.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering import wallet as render
from bot.rendering.identity import render_refusal, render_refusal_view
from bot.rendering.paging import PageRef
from bot.services import wallet
from bot.services.access import StaleControl, Target, TargetKind
from bot.services.container import Services
from bot.services.identity import Actor
from bot.services.permissions import Action
from handlers.acting import LINKED, Interactions, Need, org_in_value
from handlers.actions.paging import org_page_scope, register_pager
from handlers.context import channel_id

STALE_BUTTON = "That button is no longer valid. Run the command again."


def _value(body: dict[str, Any]) -> str:
    return str(body["actions"][0].get("value") or "")


def topup_scope(body: dict[str, Any]) -> Target:
    request = render.parse_topup_value(_value(body))
    if request is None:
        raise StaleControl
    return Target(TargetKind.ORGANIZATION, request.organization_id)


def register(app: AsyncApp, services: Services) -> None:
    on = Interactions(app, services)

    @on.action(render.TOPUP_CANCEL_ACTION_ID, LINKED)
    async def cancel_topup(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        await ack()
        await respond(**render.render_topup_cancelled())

    @on.action(render.TOPUP_CONFIRM_ACTION_ID, Need(action=Action.TOP_UP_WALLET, scope=topup_scope))
    async def confirm_topup(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        request = render.parse_topup_value(_value(body))
        if request is None:
            await respond(**render.render_problem(STALE_BUTTON))
            return
        await respond(**render.render_topup_working(request))
        try:
            started = await wallet.confirm_topup(
                services.engine, services.paypal, services.settings, actor, request, channel_id=channel_id(body)
            )
        except wallet.TopupNotStarted as failure:
            await respond(**render.render_problem(failure.message, transient=failure.transient))
            return
        except UserError as refusal:
            await respond(**render.render_problem(refusal.message))
            return
        await respond(**render.render_topup_started(started))

    @on.action(render.PAY_BUTTON_ACTION_ID, LINKED)
    async def pay_opened(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        """The Pay button opened PayPal in the browser; the used button gives way to what happens next."""
        await ack()
        action = body["actions"][0]
        await respond(**render.render_pay_opened(str(action.get("value") or ""), action.get("url")))

    @on.action(render.TOPUP_OPEN_ACTION_ID, Need(action=Action.TOP_UP_WALLET, scope=org_in_value))
    async def open_topup_form(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, actor: Actor) -> None:
        """The Home's Top up: the amount form, bound to the organisation the Home showed."""
        try:
            org = wallet.check_can_top_up(actor, services.settings, paypal_configured=services.paypal is not None)
            view = render.render_amount_modal(org.id, org.name, services.settings.topup_max_amount)
        except UserError as refusal:
            view = render_refusal_view("Top up", render_refusal(refusal.message))
        await client.views_open(trigger_id=body["trigger_id"], view=view)
        await ack()

    async def show_history(actor: Actor, ref: PageRef) -> dict[str, Any]:
        page = await wallet.history_page(services.engine, actor, limit=ref.limit, offset=ref.offset)
        return render.render_history(page)

    register_pager(on, render.HISTORY_PAGER, Need(action=Action.VIEW, scope=org_page_scope), show_history)
