"""Long lists page like `/cs wallet history`: "x–y of N" counted in SQL, Previous/Next (Newer/Older) buttons
that replace the same message, through really signed clicks, at the sizes the issue names (250 servers,
100 tickets, 300 members, 1,000 ledger rows, 500 organisations for staff)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering import orgs as org_render
from bot.rendering import tickets as ticket_render
from bot.rendering import vps as vps_render
from bot.rendering import wallet as wallet_render
from bot.rendering.admin_payments import EVENT_PAGER
from bot.rendering.paging import Pager, page_value
from bot.services.access import NotInOrganisation
from tests.conftest import RunningBot
from tests.paypal_fixtures import Payer, buttons, click, flat, payer, responses_of, run, wait_for_response
from tests.scale_fixtures import (
    ensure_organisations,
    forget,
    seed_ledger,
    seed_members,
    seed_servers,
    seed_tickets,
)
from tests.test_admin_payments import store_event


class Clicker:
    """Clicks a page button of the message a person sees and returns the message that replaced it."""

    def __init__(self, bot: RunningBot, slack: SlackEmulator, requests: SlackRequestFactory, who: Payer) -> None:
        self.bot, self.slack, self.requests, self.who = bot, slack, requests, who

    async def turn(self, message: dict[str, Any], action_id: str, expect: str) -> dict[str, Any]:
        before = len(responses_of(self.slack, self.who))
        await click(self.bot, self.requests, self.who, buttons(message)[action_id])
        async with asyncio.timeout(5):
            while not (fresh := responses_of(self.slack, self.who)[before:]):
                await asyncio.sleep(0.02)
        [page] = [r.payload for r in fresh]
        assert expect in flat(page), (expect, page.get("text"))
        assert page["replace_original"] is True  # the same message, updated in place
        return page


async def staff_payer(engine: AsyncEngine, slack: SlackEmulator) -> Payer:
    """A linked ContainerStacks staff member (panel role admin) with an organisation of their own."""
    staff = await payer(engine, slack)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET role = 'admin' WHERE id = :u"), {"u": staff.user.id})
    return staff


def pager_ids(message: dict[str, Any], pager: Pager) -> set[str]:
    return set(buttons(message)) & set(pager.action_ids)


async def test_server_list_pages_through_250_servers_with_their_buttons(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    await seed_servers(engine, owner.org, 250)
    try:
        pager, clicker = vps_render.SERVER_PAGER, Clicker(bot, slack, slack_requests, owner)
        page = await run(bot, slack_requests, owner, "vps")
        assert "Servers 1–15 of 250." in flat(page) and "srv-001" in flat(page) and "srv-016" not in flat(page)
        assert pager_ids(page, pager) == {pager.next_id}
        assert len(page["blocks"]) <= 50
        rows = [b for b in page["blocks"] if b.get("block_id", "").startswith(vps_render.LIST_ROW_BLOCK_PREFIX)]
        assert len(rows) == 15  # every server on the page keeps its action buttons
        for first in range(16, 250, 15):  # every page in turn, as someone clicking Next would see it
            last = min(first + 14, 250)
            page = await clicker.turn(page, pager.next_id, f"Servers {first}–{last} of 250.")
            assert f"srv-{first:03d}" in flat(page) and len(page["blocks"]) <= 50
        assert pager_ids(page, pager) == {pager.previous_id}  # the last page: 241–250
        assert "srv-250" in flat(page)
        back = await clicker.turn(page, pager.previous_id, "Servers 226–240 of 250.")
        assert pager_ids(back, pager) == {pager.previous_id, pager.next_id}
    finally:
        await forget(engine, owner.org)


async def test_ticket_list_pages_through_100_tickets_newest_activity_first(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    member = await payer(engine, slack, role="member")
    await seed_tickets(engine, member.org, member.user, 100)
    try:
        pager, clicker = ticket_render.TICKET_PAGER, Clicker(bot, slack, slack_requests, member)
        page = await run(bot, slack_requests, member, "ticket list")
        assert "Tickets 1–15 of 100." in flat(page) and "Ticket 100" in flat(page) and "Ticket 085" not in flat(page)
        assert pager_ids(page, pager) == {pager.next_id}
        middle = await clicker.turn(page, pager.next_id, "Tickets 16–30 of 100.")
        assert "Ticket 085" in flat(middle) and "Ticket 100" not in flat(middle)
        assert pager_ids(middle, pager) == {pager.previous_id, pager.next_id}
        for first in range(31, 100, 15):
            middle = await clicker.turn(middle, pager.next_id, f"Tickets {first}–{min(first + 14, 100)} of 100.")
        assert "Ticket 001" in flat(middle) and pager_ids(middle, pager) == {pager.previous_id}
    finally:
        await forget(engine, member.org)


async def test_staff_org_list_pages_through_every_organisation(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    staff = await staff_payer(engine, slack)
    total = await ensure_organisations(engine, 500)
    pager, clicker = org_render.ORG_PAGER, Clicker(bot, slack, slack_requests, staff)
    page = await run(bot, slack_requests, staff, "org list")
    assert f"Organisations 1–25 of {total:,}." in flat(page) and "Every organisation" in flat(page)
    assert f"{staff.org.slug} (active)" in page["text"]  # their own membership first, marked active
    middle = await clicker.turn(page, pager.next_id, f"Organisations 26–50 of {total:,}.")
    assert pager_ids(middle, pager) == {pager.previous_id, pager.next_id}
    last_offset = (total - 1) // 25 * 25
    last_button = {**buttons(middle)[pager.next_id], "value": page_value(None, last_offset, 25)}
    last = await clicker.turn({"blocks": [{"type": "actions", "elements": [last_button]}]}, pager.next_id,
                              f"Organisations {last_offset + 1}–{total} of {total:,}.")  # fmt: skip
    assert pager_ids(last, pager) == {pager.previous_id}
    past_the_end = {**last_button, "value": page_value(None, 10**6, 25)}  # rows deleted since: the last page
    await clicker.turn({"blocks": [{"type": "actions", "elements": [past_the_end]}]}, pager.next_id,
                       f"Organisations {last_offset + 1}–{total} of {total:,}.")  # fmt: skip


async def test_members_wallet_history_and_bindings_page_with_counts(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack, balance=Decimal("1000.00"))
    await seed_members(engine, owner.org, 300)
    await seed_ledger(engine, owner.org, 1000)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_channel_bindings (team_id, channel_id, organization_id) "
                "SELECT 'T0CSBOT01', 'C0PG' || upper(substr(md5(:o || g), 1, 8)), CAST(:o AS uuid) "
                "FROM generate_series(1, 30) g"
            ),
            {"o": str(owner.org.id)},
        )
    clicker = Clicker(bot, slack, slack_requests, owner)

    members = await run(bot, slack_requests, owner, "org members")
    assert "Members 1–25 of 301." in flat(members) and "(301)" in flat(members)
    # Owners first; the 300 seeded in one statement share a join time, so their ids order them.
    assert "— owner" in flat(members) and members["text"].split(": ", 1)[1].startswith(f"{owner.user.name} (owner), ")
    await clicker.turn(members, org_render.MEMBER_PAGER.next_id, "Members 26–50 of 301.")

    history = await run(bot, slack_requests, owner, "wallet history")
    assert "Rows 1–25 of 1,000, newest first." in flat(history) and "Top-up 1000" in flat(history)
    older = await clicker.turn(history, wallet_render.HISTORY_OLDER_ACTION_ID, "Rows 26–50 of 1,000")
    assert "Top-up 0975" in flat(older)

    bound = await run(bot, slack_requests, owner, "org bindings")
    assert "Channels 1–25 of 30." in flat(bound)
    rest = await clicker.turn(bound, org_render.BINDING_PAGER.next_id, "Channels 26–30 of 30.")
    assert pager_ids(rest, org_render.BINDING_PAGER) == {org_render.BINDING_PAGER.previous_id}
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM bot_channel_bindings WHERE organization_id = :o"), {"o": owner.org.id})


async def test_staff_page_through_recent_paypal_events(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    for _ in range(16):
        await store_event(engine, status="processed")
    async with engine.connect() as conn:
        total = (await conn.execute(text("SELECT count(*) FROM bot_paypal_events"))).scalar_one()
    staff = await staff_payer(engine, slack)
    page = await run(bot, slack_requests, staff, "admin payments")
    assert f"Events 1–15 of {total:,}, newest first." in flat(page)
    older = await Clicker(bot, slack, slack_requests, staff).turn(page, EVENT_PAGER.next_id, "Events 16–")
    assert pager_ids(older, EVENT_PAGER) >= {EVENT_PAGER.previous_id}


async def test_a_page_button_of_someone_who_left_shows_nothing_of_the_list(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack)
    member = await payer(engine, slack, role="member", org=owner.org)
    await seed_servers(engine, owner.org, 20)
    try:
        page = await run(bot, slack_requests, member, "vps")
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM organization_members WHERE user_id = :u"), {"u": member.user.id})
        await click(bot, slack_requests, member, buttons(page)[vps_render.SERVER_PAGER.next_id])
        refusal = await wait_for_response(slack, member, lambda p: NotInOrganisation().message in p.get("text", ""))
        assert "srv-" not in flat(refusal)
    finally:
        await forget(engine, owner.org)
