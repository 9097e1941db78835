"""Slack at real scale: the main commands, lists and Home for big organisations, end to end.

One organisation has 300 members, 250 servers, 1,000 ledger rows, 100 open tickets, 80 bound
channels and a month of billing; 60 plans are offered; a PayPal outage left 300 failed events; a
member belongs to 50 organisations and a staff member to 500. Everything is seeded with a few
set-based statements, then driven through the running bot with really signed requests against the
strict Slack emulator: every answer, post and Home must be one Slack accepts, nothing may go dead in
the outbox, and the answers must still be useful (the counts right, cut lists saying how many more).
The rows are deleted afterwards: other tests share this database.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.app import AppOptions
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.outbox import OutboxPolicy
from bot.jobs.tickets_jobs import ticket_digest
from tests.conftest import RunningBot, make_settings, start_bot
from tests.factories import UserRecord, add_slack_user, link_slack, make_user, many_orgs, panel_hash
from tests.ticket_fixtures import eventually

MEMBERS, SERVERS, PLANS, LEDGER_ROWS, TICKETS, BINDINGS, OUTAGE = 300, 250, 60, 1000, 100, 80, 300
NAME = "Scale & <Co>"
LONG_OPENING = "The disk fills up & the <app> stops. " * 140  # ~5,200 characters, ~7,500 once escaped


@dataclass
class World:
    bot: RunningBot
    slack: SlackEmulator
    requests: SlackRequestFactory
    engine: AsyncEngine
    channel: str
    org_id: uuid.UUID
    owner: str  # Slack ids
    joiner: str
    staff: str
    long_ticket: uuid.UUID

    async def command(self, who: str, words: str) -> dict[str, Any]:
        """`/cs <words>` as `who`; the answer (the ack's, else the last response_url post), checked by Slack."""
        before = len(self.slack.responses)
        status, body = await self.bot.send(self.requests.slash_command(who, words, channel_id=self.channel))
        assert status == 200, body
        if body.startswith("{"):
            return json.loads(body)
        posts = await eventually(lambda: self.slack.responses[before:])
        return posts[-1].payload

    async def home(self, who: str) -> str:
        calls = len(self.slack.calls_to("views.publish"))
        status, _ = await self.bot.send(self.requests.app_home_opened(who))
        assert status == 200
        await eventually(lambda: len(self.slack.calls_to("views.publish")) > calls)
        view = self.slack.home_view(who)
        assert view is not None
        return json.dumps(view, ensure_ascii=False)


async def _ids(conn: AsyncConnection, sql: str, **params: Any) -> list[uuid.UUID]:
    return list((await conn.execute(text(sql), params)).scalars())


async def seed_big_organisation(engine: AsyncEngine, owner: UserRecord, tag: str) -> tuple[uuid.UUID, uuid.UUID]:
    """The organisation with everything at scale; returns it and its ticket with a long opening message."""
    async with engine.begin() as conn:
        (org_id,) = await _ids(
            conn, "INSERT INTO organizations (name, slug, owner_id) VALUES (:n, :s, :o) RETURNING id",
            n=NAME, s=f"scale-{tag}", o=owner.id,
        )  # fmt: skip
        members = await _ids(
            conn,
            "INSERT INTO users (email, password_hash, name, role) SELECT 'scale-' || :tag || '-' || g || "
            "'@example.com', :hash, 'Member ' || g || ' & <Co>', 'user' FROM generate_series(1, :n) g RETURNING id",
            tag=tag, hash=panel_hash("unused password"), n=MEMBERS - 1,
        )  # fmt: skip
        await conn.execute(
            text(
                "INSERT INTO organization_members (organization_id, user_id, role) "
                "SELECT CAST(:o AS uuid), u, CASE WHEN n % 10 = 0 THEN 'admin' ELSE 'member' END "
                "FROM unnest(CAST(:u AS uuid[])) WITH ORDINALITY AS m(u, n) "
                "UNION ALL SELECT CAST(:o AS uuid), CAST(:owner AS uuid), 'owner'"
            ),
            {"o": org_id, "u": members, "owner": owner.id},
        )
        plans = await _ids(
            conn,
            "INSERT INTO vps_plans (name, provider_plan_id, base_price, markup_price, specifications) "
            "SELECT 'Scale plan ' || g || ' & <fast>', 'g6-scale-' || g, 5 + g, 1, '{}' "
            "FROM generate_series(1, :n) g RETURNING id",
            n=PLANS,
        )
        servers = await _ids(
            conn,
            "INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, label, status, ip_address, "
            "configuration, last_billed_at) SELECT :o, CAST(:p AS text), 900000 + g, "
            "'web-' || g || '-' || :tag || ' ' || repeat('&<db>', 40), "
            "'running', CAST('10.0.' || (g / 250) || '.' || (g % 250) AS inet), '{\"region\": \"us-east\"}', now() "
            "FROM generate_series(1, :n) g RETURNING id",
            o=org_id, p=str(plans[0]), tag=tag, n=SERVERS,
        )  # fmt: skip
        await conn.execute(
            text(
                "INSERT INTO vps_billing_cycles (vps_instance_id, organization_id, billing_period_start, "
                "billing_period_end, hourly_rate, total_amount, status) SELECT s, :o, "
                "GREATEST(date_trunc('month', now()), now() - interval '1 hour'), now(), 0.0082, 0.01, 'billed' "
                "FROM unnest(CAST(:s AS uuid[])) s"
            ),
            {"o": org_id, "s": servers},
        )
        # The ledger before the wallet: the test-only trigger opens the wallet net of it (ledger invariant).
        await conn.execute(
            text(
                "INSERT INTO payment_transactions (organization_id, amount, payment_method, payment_provider, "
                "status, description, created_at) SELECT :o, -0.01, 'wallet_debit', 'internal', 'completed', "
                "'VPS Hourly Billing - web-' || (g % 250) || ' & <co> (1h)', now() - g * interval '1 minute' "
                "FROM generate_series(1, :n) g"
            ),
            {"o": org_id, "n": LEDGER_ROWS},
        )
        await conn.execute(text("INSERT INTO wallets (organization_id, balance) VALUES (:o, 90)"), {"o": org_id})
        tickets = await _ids(
            conn,
            "INSERT INTO support_tickets (organization_id, created_by, subject, message, priority, category, "
            "created_at) SELECT :o, :u, 'Ticket ' || g || ': ' || repeat('the <app> & the disk ', 9), "
            "CASE WHEN g = 1 THEN :long ELSE 'It broke again & again.' END, 'high', 'technical', "
            "now() - g * interval '1 hour' FROM generate_series(1, :n) g ORDER BY g RETURNING id",
            o=org_id, u=owner.id, long=LONG_OPENING, n=TICKETS,
        )  # fmt: skip
        await conn.execute(
            text(
                "INSERT INTO bot_channel_bindings (team_id, channel_id, organization_id) "
                "SELECT 'T0CSBOT01', 'C0SC' || :tag || lpad(g::text, 3, '0'), :o FROM generate_series(1, :n) g"
            ),
            {"o": org_id, "tag": tag.upper(), "n": BINDINGS},
        )
        await conn.execute(
            text(
                "INSERT INTO bot_paypal_events (event_id, event_type, raw_body, headers, status, attempts, "
                "last_error, received_at) SELECT 'WH-SCALE-' || :tag || '-' || g, 'PAYMENT.CAPTURE.COMPLETED', "
                "'{}', '{}', 'dead', 10, 'ConnectionError: PayPal unreachable & <503> ' || repeat('x', 140), "
                "now() - g * interval '1 second' FROM generate_series(1, :n) g"
            ),
            {"tag": tag, "n": OUTAGE},
        )
    return org_id, tickets[0]


async def cleanup(engine: AsyncEngine, tag: str, users: list[UserRecord]) -> None:
    """Everything the scenario added (organisations cascade to their members, servers, ledger, tickets…)."""
    ids = [u.id for u in users]
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM organizations WHERE owner_id = ANY(CAST(:u AS uuid[]))"), {"u": ids})
        await conn.execute(
            text("DELETE FROM users WHERE id = ANY(CAST(:u AS uuid[])) OR email LIKE :like"),
            {"u": ids, "like": f"scale-{tag}-%"},
        )
        await conn.execute(text("DELETE FROM vps_plans WHERE provider_plan_id LIKE 'g6-scale-%'"))
        await conn.execute(text("DELETE FROM bot_paypal_events WHERE event_id LIKE :e"), {"e": f"WH-SCALE-{tag}-%"})


@pytest.fixture
async def world(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> AsyncIterator[World]:
    tag = secrets.token_hex(3)
    owner, joiner, staff = await make_user(engine), await make_user(engine), await make_user(engine, role="admin")
    bulk_owner = await make_user(engine)
    try:
        org_id, long_ticket = await seed_big_organisation(engine, owner, tag)
        await many_orgs(engine, bulk_owner, 50, name="Partner & <Hosting> of the North", members=(joiner,))
        await many_orgs(engine, bulk_owner, 500, name="Customer & <Org>", members=(staff,))
        slack_ids = [add_slack_user(slack) for _ in range(3)]
        for slack_id, user in zip(slack_ids, (owner, joiner, staff), strict=True):
            await link_slack(engine, slack_id, user)
        channel = "C0SCALE" + tag.upper()
        slack.add_channel(channel, name=f"scale-{tag}", members=slack_ids)
        options = AppOptions(
            outbox_policy=OutboxPolicy(pace_seconds=0.05, backoff_base=0.05, idle_poll_seconds=0.05),
            ticket_listener=False,  # the scenario drives tickets itself: no card storm in a shared database
            ticket_periodic_jobs=False,
            scheduler_first_tick_seconds=3600,
        )
        runner, url = await start_bot(make_settings(database_url, slack), database_url, options)
        try:
            async with aiohttp.ClientSession() as session:
                bot = RunningBot(url=url, app=runner.app, session=session)
                yield World(bot, slack, slack_requests, engine, channel, org_id, *slack_ids, long_ticket)
        finally:
            await runner.cleanup()
    finally:
        await cleanup(engine, tag, [owner, joiner, staff, bulk_owner])


def words(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


async def test_a_big_organisation_its_members_and_staff_get_answers_slack_accepts(world: World) -> None:
    w = world
    card = await w.command(w.owner, "org")
    assert f"{MEMBERS} members" in words(card)

    members = await w.command(w.owner, "org members")
    assert f"Members of Scale &amp; &lt;Co&gt;* ({MEMBERS})" in words(members)
    assert f"1–25 of {MEMBERS}" in words(members)  # a page, counted in SQL, with Next
    assert len(members["text"]) <= 40_000

    bindings = await w.command(w.owner, "org bindings")
    assert words(bindings["blocks"]).count("<#C0SC") == min(25, BINDINGS) and f"of {BINDINGS}" in words(bindings)

    servers = await w.command(w.owner, "vps")
    assert f"1–15 of {SERVERS}" in words(servers)

    plans = await w.command(w.owner, "vps plans")
    assert words(plans).count("Scale plan ") == PLANS

    await w.command(w.owner, "wallet")
    history = await w.command(w.owner, "wallet history 100")
    assert words(history["blocks"]).count("VPS Hourly Billing") == 100

    usage = await w.command(w.owner, "billing")
    assert f"…and {SERVERS - 15} more servers" in words(usage)

    listed = await w.command(w.owner, "ticket list")
    assert words(listed["blocks"]).count("*Ticket ") == 15

    opened = await w.command(w.owner, f"ticket {str(w.long_ticket)[:8]}")
    assert "The disk fills up &amp; the &lt;app&gt; stops." in words(opened)

    home = await w.home(w.owner)
    assert "Scale &amp; &lt;Co&gt;" in home and f"10 of {SERVERS} servers" in home

    joined = await w.command(w.joiner, "org list")
    assert words(joined["blocks"]).count("Partner &amp; &lt;Hosting&gt;") == 25 and "1–25 of 50" in words(joined)
    switcher = [e for b in json.loads(await w.home(w.joiner))["blocks"] for e in b.get("elements", [b.get("accessory")])
                if e and e.get("type") == "static_select"]  # fmt: skip
    assert len(switcher[0]["options"]) == 50  # the Home's switcher offers all 50
    unknown = await w.command(w.joiner, "org use no-such-" + "x" * 3000)
    assert "…and 40 more — `/cs org list` shows them all" in words(unknown)

    staff_list = await w.command(w.staff, "org list")
    assert words(staff_list["blocks"]).count("Customer &amp; &lt;Org&gt;") == 25
    shown = re.search(r"Organisations 1–25 of ([0-9,]+)", words(staff_list))
    assert shown and int(shown[1].replace(",", "")) >= 500  # every organisation, whatever else the run made
    staff_unknown = await w.command(w.staff, "org use nowhere")
    assert "…and 490 more" in words(staff_unknown)
    assert "external_select" in await w.home(w.staff)  # 500 organisations: the switcher is searched

    payments = await w.command(w.staff, "admin payments")
    assert "more — replay these" in words(payments) and "PayPal unreachable &amp; &lt;503&gt;" in words(payments)
    await w.command(w.staff, "admin billing")

    settings = make_settings("postgresql://unused", w.slack, support_channel=w.channel)
    assert await ticket_digest(w.engine, settings, datetime(2041, 3, 2, 10, tzinfo=UTC))
    digest = await eventually(lambda: [m for m in w.slack.channel_messages(w.channel) if "Open tickets" in m["text"]])
    assert "more — each open ticket has its card in this channel" in words(digest[0]["blocks"])

    # Every answer, post and Home was one Slack accepts, and nothing the scenario queued went dead.
    assert [r.problems for r in w.slack.responses if r.status != 200] == []
    for method in ("chat.postMessage", "views.publish"):
        assert [c.error for c in w.slack.calls_to(method) if not c.ok] == []
    async with w.engine.connect() as conn:
        dead = await conn.execute(text("SELECT count(*) FROM bot_outbox WHERE status = 'dead' AND channel = :c"),
                                  {"c": w.channel})  # fmt: skip
        assert dead.scalar_one() == 0
