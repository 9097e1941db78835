"""`PANEL_URL`: "Open in panel" buttons deep-link servers, tickets, the wallet and billing to the panel's own
pages; without it no such button appears."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering.panel import OPEN_IN_PANEL
from tests.conftest import RunningBot, make_settings, start_bot
from tests.paypal_fixtures import CHANNEL_ID, Payer, payer
from tests.ticket_fixtures import panel_ticket

PANEL = "https://panel.example.com"


@pytest.fixture
async def panel_bot(database_url: str, slack: SlackEmulator) -> AsyncIterator[RunningBot]:
    runner, url = await start_bot(make_settings(database_url, slack, panel_url=PANEL + "/"), database_url, AppOptions())
    async with aiohttp.ClientSession() as session:
        yield RunningBot(url=url, app=runner.app, session=session)
    await runner.cleanup()


async def run(bot: RunningBot, requests: SlackRequestFactory, who: Payer, words: str) -> dict[str, Any]:
    status, body = await bot.send(requests.slash_command(who.slack_id, words, channel_id=CHANNEL_ID))
    assert status == 200, body
    return json.loads(body)


def panel_links(message: dict[str, Any]) -> list[str]:
    """The URLs of the message's "Open in panel" buttons, in order."""
    found = []
    for block in message.get("blocks", []):
        elements = [block.get("accessory") or {}, *(block.get("elements") or [])]
        buttons = [e for e in elements if e.get("type") == "button"]
        found += [e["url"] for e in buttons if e["text"]["text"] == OPEN_IN_PANEL]
    return found


async def add_server(engine: AsyncEngine, who: Payer, label: str) -> str:
    async with engine.begin() as conn:
        return str(
            (
                await conn.execute(
                    text(
                        "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status) "
                        "VALUES (:o, 'g6-nanode-1', :i, :l, 'running') RETURNING id"
                    ),
                    {"o": who.org.id, "i": str(secrets.randbelow(10**8)), "l": label},
                )
            ).scalar_one()
        )


async def test_servers_tickets_wallet_and_billing_link_to_the_panels_own_pages(
    panel_bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack, balance=Decimal("10.00"))
    web, db = await add_server(engine, owner, "web-1"), await add_server(engine, owner, "db-1")
    ticket_id = await panel_ticket(engine, owner.org, owner.user, subject="Disk full")

    listing = await run(panel_bot, slack_requests, owner, "vps")
    assert sorted(panel_links(listing)) == sorted([f"{PANEL}/vps/{web}", f"{PANEL}/vps/{db}"])
    assert panel_links(await run(panel_bot, slack_requests, owner, "vps web-1")) == [f"{PANEL}/vps/{web}"]
    assert panel_links(await run(panel_bot, slack_requests, owner, "wallet")) == [f"{PANEL}/billing"]
    assert panel_links(await run(panel_bot, slack_requests, owner, "billing")) == [f"{PANEL}/billing"]
    shown = await run(panel_bot, slack_requests, owner, f"ticket {str(ticket_id)[:8]}")
    assert panel_links(shown) == [f"{PANEL}/support"]

    row = next(b for b in listing["blocks"] if "url" in b.get("accessory", {}))  # the first server's row
    click = {"action_id": row["accessory"]["action_id"], "url": row["accessory"]["url"]}
    status, body = await panel_bot.send(slack_requests.block_actions(owner.slack_id, [click], channel_id=CHANNEL_ID))
    assert (status, body) == (200, "")  # a link button's click is acknowledged and changes nothing


async def test_without_panel_url_no_open_in_panel_button_appears(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack, balance=Decimal("10.00"))
    await add_server(engine, owner, "web-1")
    for words in ("vps", "vps web-1", "wallet", "billing"):
        assert OPEN_IN_PANEL not in json.dumps(await run(bot, slack_requests, owner, words)), words
