"""The App Home as a dashboard you act from, at real sizes: an organisation switcher, counts with the first
few items, buttons that start the commands' own flows, and sections that fail alone."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.outbox import OutboxPolicy
from bot.rendering import home as render
from bot.rendering import tickets as ticket_render
from bot.rendering import vps as vps_render
from bot.rendering import wallet as wallet_render
from tests.conftest import RunningBot, make_settings, start_bot
from tests.factories import add_slack_user, link_slack, make_user
from tests.paypal_fixtures import PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, payer
from tests.paypal_fixtures import paypal_emulator as paypal_emulator  # noqa: PLC0414 - a fixture
from tests.scale_fixtures import forget, seed_ledger, seed_members, seed_memberships, seed_servers, seed_tickets

PANEL_URL = "https://panel.example.test"


@pytest.fixture
async def home_bot(
    database_url: str, slack: SlackEmulator, paypal_emulator: PayPalEmulator
) -> AsyncIterator[RunningBot]:
    """The bot with PayPal (so Top up is offered) and PANEL_URL set (so Open in panel is)."""
    settings = make_settings(
        database_url, slack, paypal_client_id=PAYPAL_CLIENT_ID, paypal_client_secret=PAYPAL_CLIENT_SECRET,
        paypal_api_url=paypal_emulator.base_url, panel_url=PANEL_URL,
    )  # fmt: skip
    options = AppOptions(outbox_policy=OutboxPolicy(pace_seconds=0.05, backoff_base=0.05, idle_poll_seconds=0.05))
    runner, url = await start_bot(settings, database_url, options)
    async with aiohttp.ClientSession() as session:
        yield RunningBot(url=url, app=runner.app, session=session)
    await runner.cleanup()


async def open_home(bot: RunningBot, slack: SlackEmulator, requests: SlackRequestFactory, who: str) -> dict[str, Any]:
    """Open the Home tab and return the view Slack accepted (the emulator refuses what Slack refuses)."""
    published = len(slack.calls_to("views.publish"))
    status, _ = await bot.send(requests.app_home_opened(who))
    assert status == 200
    return await published_home(slack, who, published)


async def published_home(slack: SlackEmulator, who: str, before: int) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while not [c for c in slack.calls_to("views.publish")[before:] if c.args.get("user_id") == who]:
            await asyncio.sleep(0.02)
    view = slack.home_view(who)
    assert view is not None and view["type"] == "home"
    return view


def elements(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Interactive elements of the view by action id (buttons, and section accessories)."""
    found = {e["action_id"]: e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]}
    found.update({b["accessory"]["action_id"]: b["accessory"] for b in view["blocks"] if "accessory" in b})
    return found


def flat(view: Any) -> str:
    return json.dumps(view, ensure_ascii=False)


async def test_home_of_a_big_organisation_fits_counts_and_offers_its_buttons(
    home_bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack, balance=Decimal("1000.00"), org_name="Big & <Co>")
    await seed_servers(engine, owner.org, 250)
    await seed_tickets(engine, owner.org, owner.user, 100)
    await seed_members(engine, owner.org, 300)
    await seed_ledger(engine, owner.org, 1000)
    await seed_memberships(engine, owner.user, 49, prefix="Side Org")  # 50 organisations in all
    try:
        view = await open_home(home_bot, slack, slack_requests, owner.slack_id)
        body = flat(view)
        assert len(view["blocks"]) <= 100
        assert "Acting in *Big &amp; &lt;Co&gt;*" in body and "Balance: *$1,000.00*" in body
        assert "10 of 250 servers — `/cs vps` for all" in body and "srv-010" in body and "srv-011" not in body
        assert "5 of 100 open tickets — `/cs ticket list` for all" in body and "Ticket 100" in body
        switcher = elements(view)[render.SWITCH_ACTION_ID]
        assert switcher["type"] == "static_select" and len(switcher["options"]) == 50  # fits: no round trip
        assert switcher["initial_option"]["value"] == str(owner.org.id)
        buttons = elements(view)
        assert buttons[wallet_render.TOPUP_OPEN_ACTION_ID]["value"] == str(owner.org.id)
        assert buttons[ticket_render.NEW_OPEN_ACTION_ID]["value"] == str(owner.org.id)
        assert buttons[render.PANEL_ACTION_ID]["url"] == PANEL_URL
        assert buttons[vps_render.CREATE_OPEN_ACTION_ID]["value"] == str(owner.org.id)
    finally:
        await forget(engine, owner.org)


async def test_open_in_panel_is_offered_only_when_panel_url_is_set(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    member = await payer(engine, slack, role="member")
    view = await open_home(bot, slack, slack_requests, member.slack_id)
    assert render.PANEL_ACTION_ID not in elements(view)
    assert wallet_render.TOPUP_OPEN_ACTION_ID not in elements(view)  # a member cannot top up (nor can this bot)
    assert ticket_render.NEW_OPEN_ACTION_ID in elements(view)


async def test_a_section_the_database_refuses_is_replaced_and_the_rest_still_shows(
    bot: RunningBot,
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = await payer(engine, slack, balance=Decimal("42.00"))
    await seed_servers(engine, owner.org, 3)
    await seed_tickets(engine, owner.org, owner.user, 2)
    caplog.set_level(logging.ERROR, logger="bot.slack.home")
    try:
        async with engine.connect() as holder:  # a long panel transaction holds the tickets table
            await holder.execute(text("LOCK TABLE support_tickets IN ACCESS EXCLUSIVE MODE"))
            view = await open_home(bot, slack, slack_requests, owner.slack_id)
            await holder.rollback()
        body = flat(view)
        assert "$42.00" in body and "srv-003" in body  # wallet and servers still show
        assert "Ticket 002" not in body
        [ref] = re.findall(r"Couldn't load open tickets right now \(ref `(ERR-[A-Z0-9]{8})`\)", body)
        [record] = [r for r in caplog.records if r.getMessage() == "home.section_failed"]
        assert record.ref == ref and record.section == "open tickets"  # type: ignore[attr-defined]
        again = await open_home(bot, slack, slack_requests, owner.slack_id)  # the lock is gone: all of it
        assert "Ticket 002" in flat(again) and "Couldn't load" not in flat(again)
    finally:
        await forget(engine, owner.org)


async def test_switching_organisation_from_the_home_sets_the_active_one_like_org_use(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    someone = await payer(engine, slack, org_name="First Home Org")
    [second] = await seed_memberships(engine, someone.user, 1, prefix="Second Home Org")
    outsider = await payer(engine, slack, org_name="Not Yours Ltd")
    view = await open_home(bot, slack, slack_requests, someone.slack_id)
    assert "Acting in *First Home Org*" in flat(view)

    published = len(slack.calls_to("views.publish"))
    pick = {"action_id": render.SWITCH_ACTION_ID, "type": "static_select", "selected_option": {"value": str(second)}}
    status, _ = await bot.send(slack_requests.block_actions(someone.slack_id, [pick], view=view))
    assert status == 200
    view = await published_home(slack, someone.slack_id, published)
    assert "Acting in *Second Home Org 01*" in flat(view)
    async with engine.connect() as conn:
        active = await conn.execute(
            text("SELECT active_organization_id FROM bot_slack_identities WHERE slack_user_id = :s"),
            {"s": someone.slack_id},
        )
        assert active.scalar_one() == second
        used = await conn.execute(
            text("SELECT count(*) FROM activity_logs WHERE event_type = 'org.use' AND organization_id = :o"),
            {"o": second},
        )
        assert used.scalar_one() == 1

    sneaky = {**pick, "selected_option": {"value": str(outsider.org.id)}}  # not one of theirs
    status, _ = await bot.send(slack_requests.block_actions(someone.slack_id, [sneaky], view=view))
    assert status == 200
    await asyncio.sleep(0.3)
    async with engine.connect() as conn:
        still = await conn.execute(
            text("SELECT active_organization_id FROM bot_slack_identities WHERE slack_user_id = :s"),
            {"s": someone.slack_id},
        )
        assert still.scalar_one() == second
    assert "Not Yours" not in flat(slack.home_view(someone.slack_id))


async def test_home_buttons_open_the_ticket_form_and_the_top_up_preview(
    home_bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack, org_name="Buttons Org")
    view = await open_home(home_bot, slack, slack_requests, owner.slack_id)
    buttons = elements(view)

    status, _ = await home_bot.send(
        slack_requests.block_actions(owner.slack_id, [buttons[ticket_render.NEW_OPEN_ACTION_ID]], view=view)
    )
    assert status == 200
    ticket_form = slack.open_views(owner.slack_id)[-1]
    assert ticket_form["callback_id"] == ticket_render.NEW_CALLBACK_ID
    assert json.loads(ticket_form["private_metadata"])["organization_id"] == str(owner.org.id)

    status, _ = await home_bot.send(
        slack_requests.block_actions(owner.slack_id, [buttons[wallet_render.TOPUP_OPEN_ACTION_ID]], view=view)
    )
    assert status == 200
    form = slack.open_views(owner.slack_id)[-1]
    assert form["callback_id"] == wallet_render.TOPUP_AMOUNT_CALLBACK_ID
    amount = {wallet_render.AMOUNT_BLOCK_ID: {"value": "lots"}}
    status, body = await home_bot.send(slack_requests.view_submission(owner.slack_id, form, values=amount))
    assert json.loads(body)["response_action"] == "errors"  # said in the form, like the command says it
    amount = {wallet_render.AMOUNT_BLOCK_ID: {"value": "25"}}
    status, body = await home_bot.send(slack_requests.view_submission(owner.slack_id, form, values=amount))
    assert status == 200 and body == ""  # the form closes; the preview arrives in the DM
    async with asyncio.timeout(5):
        while not slack.dms(owner.slack_id):
            await asyncio.sleep(0.02)
    [preview] = slack.dms(owner.slack_id)
    assert "Top up *Buttons Org* by *$25.00* via PayPal?" in flat(preview)
    assert wallet_render.TOPUP_CONFIRM_ACTION_ID in flat(preview)


async def test_a_member_cannot_open_the_top_up_form_from_a_home_button(
    home_bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    member = await payer(engine, slack, role="member")
    view = await open_home(home_bot, slack, slack_requests, member.slack_id)
    assert wallet_render.TOPUP_OPEN_ACTION_ID not in elements(view)
    forged = {"action_id": wallet_render.TOPUP_OPEN_ACTION_ID, "type": "button", "value": str(member.org.id)}
    status, _ = await home_bot.send(slack_requests.block_actions(member.slack_id, [forged], view=view))
    assert status == 200
    await asyncio.sleep(0.3)
    assert slack.open_views(member.slack_id) == []


async def test_staff_outside_every_organisation_can_choose_one_from_the_home(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    staff = await make_user(engine, role="admin")
    slack_id = add_slack_user(slack)
    await link_slack(engine, slack_id, staff)
    view = await open_home(bot, slack, slack_requests, slack_id)
    assert "Choose an organisation to act in." in flat(view)
    assert "initial_option" not in elements(view)[render.SWITCH_ACTION_ID]
