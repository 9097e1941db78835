"""Page buttons of every paged list: gate, read the asked page again, replace the same message.

Each list registers its pair of buttons here with what the clicker needs (the list's organisation is
in the button, and the gate re-reads the clicker's role there: they may have lost access since the
list was shown) and the function that renders one page for a checked actor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.rendering.identity import render_refusal
from bot.rendering.paging import Pager, PageRef, parse_page_value
from bot.services.access import StaleControl, Target, TargetKind
from bot.services.identity import Actor
from handlers.acting import Interactions, Need

#: Renders the page `ref` asks for, as the checked `actor` may see it.
ShowPage = Callable[[Actor, PageRef], Awaitable[dict[str, Any]]]


def _value(body: dict[str, Any]) -> str:
    return str(body["actions"][0].get("value") or "")


def org_page_scope(body: dict[str, Any]) -> Target:
    """The organisation a page button's list was shown for."""
    ref = parse_page_value(_value(body))
    if ref is None or ref.scope is None:
        raise StaleControl
    return Target(TargetKind.ORGANIZATION, ref.scope)


def register_pager(on: Interactions, pager: Pager, need: Need, show: ShowPage) -> None:
    @on.action(pager.action_ids, need)
    async def turn_page(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, actor: Actor
    ) -> None:
        await ack()
        ref = parse_page_value(_value(body), max_limit=pager.max_limit)
        if ref is None:
            await respond(**render_refusal(StaleControl().message), replace_original=True)
            return
        try:
            message = await show(actor, ref)
        except UserError as refusal:
            await respond(**render_refusal(refusal.message), replace_original=True)
            return
        await respond(**message, replace_original=True)
