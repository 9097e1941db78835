"""Fault: PostgreSQL restarts while the bot is under load.

Runs on a private embedded PostgreSQL so the restart touches nothing else. While load runs — wallet
commands (reads), ticket modals (multi-row writes), Events API deliveries and signed PayPal
webhooks retried the way PayPal retries them — the server is stopped and started again on the same
port. While it is down Slack gets a friendly answer, PayPal gets 503 (so it retries) and /readyz is
503; never a 500. Once it is back the same process serves again and its workers pick up where they
stopped: every webhook is stored and applied exactly once, and every ticket is either whole
(ticket, activity record, both Slack threads and their queued posts) or absent, and the person who
submitted it either has the ticket or was told it failed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions
from bot.db.embedded import EmbeddedPostgres
from bot.db.engine import create_engine, with_database
from bot.db.location import ensure_database
from bot.db.migrate import migrate
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.outbox import OutboxPolicy
from bot.jobs.paypal_events import InboxPolicy
from bot.paypal.client import PayPalClient
from bot.rendering import tickets as ticket_render
from bot.rendering.errors import INTERNAL_ERROR
from bot.services.topups import request_id_for_capture
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, make_settings, start_bot
from tests.factories import add_slack_user, link_slack, make_org, make_user
from tests.paypal_fixtures import approved_order

FRIENDLY = INTERNAL_ERROR.split("{ref}")[0][:60]
TRIAGE = "C0TRIAGE1"
TOP_UPS = 40
WEBHOOK_ID = "WH-DB-RESTART"


@pytest.fixture
async def private_postgres(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    with socket.socket() as sock:  # a fixed port, so the restarted server is where the bot expects it
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = EmbeddedPostgres(tmp_path / "pg", port=port)
    server_url = await asyncio.to_thread(server.start)
    await ensure_database(server_url, "csbot")
    yield server, with_database(server_url, "csbot")
    await asyncio.to_thread(server.stop)


async def until(check: Callable[[], Awaitable[bool] | bool], what: str, timeout: float = 30.0) -> None:
    """Poll `check` until true; a generous bound that only catches a hang."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                outcome = check()
                if await outcome if not isinstance(outcome, bool) else outcome:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def top_up_events(engine: AsyncEngine, paypal: PayPalEmulator, org_id: uuid.UUID) -> list[dict[str, Any]]:
    """TOP_UPS paid top-ups of $1..$TOP_UPS for `org_id`; their PAYMENT.CAPTURE.COMPLETED events."""
    events = []
    async with aiohttp.ClientSession() as http:
        client = PayPalClient(http, paypal.base_url, "db-id", "db-secret")
        for n in range(1, TOP_UPS + 1):
            _, order_id = await approved_order(engine, paypal, client, org_id, Decimal(n))
            captured = await client.capture_order(order_id, request_id=request_id_for_capture(order_id))
            events.append(paypal.event_capture_completed(captured.captures[0].id))
    return events


@pytest.mark.timeout(180)
async def test_requests_during_a_postgres_restart_get_friendly_answers_and_service_recovers(
    private_postgres: tuple[EmbeddedPostgres, str], tmp_path: Path
) -> None:
    server, url = private_postgres
    engine = create_engine(url, pool_size=2)
    await migrate(engine)
    async with (
        SlackEmulator(bot_token=BOT_TOKEN, pace_per_channel=None) as slack,
        PayPalEmulator(client_id="db-id", client_secret="db-secret", webhook_id=WEBHOOK_ID) as paypal,
    ):
        slack.add_channel(TRIAGE, name="triage")
        owner = await make_user(engine)
        home = await make_org(engine, owner, balance=Decimal("42.00"))
        user = add_slack_user(slack)
        await link_slack(engine, user, owner)
        payer_org = await make_org(engine, await make_user(engine), balance=Decimal("3.00"))
        events = await top_up_events(engine, paypal, payer_org.id)

        ca = tmp_path / "ca.pem"
        ca.write_bytes(paypal.ca_pem)
        settings = make_settings(
            url, slack, support_channel=TRIAGE, paypal_client_id="db-id", paypal_client_secret="db-secret",
            paypal_api_url=paypal.base_url, paypal_webhook_id=WEBHOOK_ID, paypal_cert_hosts=paypal.base_url,
            paypal_cert_ca=ca,
        )  # fmt: skip
        options = AppOptions(
            outbox_policy=OutboxPolicy(pace_seconds=0.0, backoff_base=0.05, idle_poll_seconds=0.05, lease_seconds=2),
            inbox_policy=InboxPolicy(lease_seconds=2, backoff_base=0.1, backoff_cap=0.5, idle_poll_seconds=0.05),
            ticket_sync_every_seconds=0.5,
        )
        runner, base = await start_bot(settings, url, options)
        requests = SlackRequestFactory(SIGNING_SECRET, emulator=slack)
        try:
            load = await run_the_outage(
                server=server,
                engine=engine,
                slack=slack,
                paypal=paypal,
                requests=requests,
                base=base,
                user=user,
                org=home.id,
                events=events,
            )
        finally:
            await runner.cleanup()
        await check_nothing_half_written(
            engine=engine, slack=slack, load=load, user=user, payer_org=payer_org.id, events=events
        )
    await engine.dispose()


# -- the load, and the outage in the middle of it ------------------------------------------------


class Load:
    """What every client saw, by phase ("before", "down", "after") and kind of answer."""

    def __init__(self) -> None:
        self.phase = "before"
        self.seen: Counter[tuple[str, str, str]] = Counter()
        self.tickets: dict[str, str] = {}  # subject -> "acked" | "friendly"
        self.hooks: list[list[int]] = []
        self.stop = asyncio.Event()

    def saw(self, kind: str, answer: str) -> None:
        self.seen[kind, self.phase, answer] += 1

    def count(self, kind: str, phase: str, answer: str) -> int:
        return self.seen[kind, phase, answer]


async def run_the_outage(
    *, server: EmbeddedPostgres, engine: AsyncEngine, slack: SlackEmulator, paypal: PayPalEmulator,
    requests: SlackRequestFactory, base: str, user: str, org: uuid.UUID, events: list[dict[str, Any]],
) -> Load:  # fmt: skip
    load = Load()
    hook = base + "/webhooks/paypal"

    async with aiohttp.ClientSession() as session:

        async def post(body: bytes, headers: dict[str, str]) -> tuple[int, str]:
            async with session.post(base + "/slack/events", data=body, headers=headers) as response:
                return response.status, await response.text()

        async def wallet_load() -> None:
            while not load.stop.is_set():
                req = requests.slash_command(user, "wallet")
                status, body = await post(req.body, req.headers)
                assert status == 200, (status, body)  # never a 500
                load.saw("wallet", "balance" if "$42.00" in body else "friendly" if FRIENDLY in body else body)
                await asyncio.sleep(0.01)

        async def ticket_load() -> None:
            n = 0
            while not load.stop.is_set():
                n += 1
                subject = f"outage probe {n}"
                values = {
                    "subject": {"value": subject},
                    "category": {"value": "technical"},
                    "priority": {"value": {"type": "static_select", "selected_option": {"value": "high"}}},
                    "message": {"value": "The database is restarting; does my ticket survive it?"},
                }
                form = ticket_render.render_new_modal(organization_id=org)
                req = requests.view_submission(user, form, values=values)
                status, body = await post(req.body, req.headers)
                assert status == 200, (status, body)
                if body == "":
                    answer = "acked"
                else:
                    answer = (
                        "friendly" if FRIENDLY in body and json.loads(body)["response_action"] == "update" else body
                    )
                load.tickets[subject] = answer
                load.saw("ticket", answer)
                await asyncio.sleep(0.02)

        async def event_load() -> None:
            while not load.stop.is_set():
                req = requests.app_home_opened(user)
                status, body = await post(req.body, req.headers)
                # 200 once handled; 503 asks Slack to retry while the database is away; never a 500
                assert status in {200, 503}, (status, body)
                load.saw("event", str(status))
                await asyncio.sleep(0.02)

        async def webhook_load() -> None:
            deliveries = []
            for event in events:  # one new event every 50 ms, each retried the way PayPal does
                deliveries.append(asyncio.create_task(paypal.deliver(hook, event, retries=12, backoff=0.05)))
                await asyncio.sleep(0.05)
            load.hooks = list(await asyncio.gather(*deliveries))

        def webhooks_answered(status: int, phase: str) -> bool:
            return any(d.status == status for d in paypal.deliveries[marks[phase] :])

        marks = {"before": 0}
        tasks = [asyncio.create_task(job()) for job in (wallet_load, ticket_load, event_load)]
        hooks = asyncio.create_task(webhook_load())
        try:
            await until(
                lambda: all(load.count(k, "before", a) for k, a in [("wallet", "balance"), ("ticket", "acked"),
                                                                     ("event", "200")])
                and webhooks_answered(200, "before"),
                "the load to be served before the outage",
            )  # fmt: skip

            load.phase, marks["down"] = "down", len(paypal.deliveries)
            await asyncio.to_thread(server.stop)  # the database goes away under load
            async with session.get(base + "/readyz") as ready:
                assert ready.status == 503
            await until(
                lambda: all(load.count(k, "down", a) for k, a in [("wallet", "friendly"), ("ticket", "friendly"),
                                                                   ("event", "503")])
                and webhooks_answered(503, "down"),
                "every kind of request to be answered during the outage",
            )  # fmt: skip

            await asyncio.to_thread(server.start)  # and comes back on the same port
            load.phase, marks["after"] = "after", len(paypal.deliveries)

            async def ready() -> bool:
                async with session.get(base + "/readyz") as response:
                    return response.status == 200

            await until(ready, "the same process to be ready again")
            await until(
                lambda: all(load.count(k, "after", a) for k, a in [("wallet", "balance"), ("ticket", "acked"),
                                                                    ("event", "200")])
                and webhooks_answered(200, "after"),
                "the load to be served again after the restart",
            )  # fmt: skip
        finally:
            load.stop.set()
            await asyncio.gather(*tasks, hooks)

        req = requests.slash_command(user, "wallet")
        status, body = await post(req.body, req.headers)
        assert status == 200 and "$42.00" in body

    async def caught_up() -> bool:
        """The same process's workers drained what piled up: the inbox, the outbox, the tickets."""
        async with engine.connect() as conn:
            unapplied = await conn.scalar(text("SELECT count(*) FROM bot_paypal_events WHERE status <> 'processed'"))
            unsent = await conn.scalar(text("SELECT count(*) FROM bot_outbox WHERE status IN ('pending', 'sending')"))
            tickets = await conn.scalar(
                text("SELECT count(*) FROM support_tickets WHERE subject LIKE 'outage probe %'")
            )
        acked = sum(answer == "acked" for answer in load.tickets.values())
        told = len([m for m in slack.dms(user) if FRIENDLY in m.get("text", "")])
        return unapplied == 0 and unsent == 0 and tickets + told >= acked

    await until(caught_up, "the workers to catch up after the restart", timeout=60)

    # every answer was one of the expected ones (anything else is the raw body, counted here)
    assert {answer for (_kind, _phase, answer) in load.seen} <= {"balance", "friendly", "acked", "200", "503"}
    assert all(set(attempts) <= {0, 200, 503} and attempts[-1] == 200 for attempts in load.hooks), load.hooks
    assert len(load.hooks) == len(events)
    statuses = Counter(d.status for d in paypal.deliveries)
    assert statuses[503] > 0 and set(statuses) <= {0, 200, 503}, statuses
    return load


# -- afterwards: whole or absent ------------------------------------------------------------------


async def check_nothing_half_written(
    *, engine: AsyncEngine, slack: SlackEmulator, load: Load, user: str, payer_org: uuid.UUID,
    events: list[dict[str, Any]],
) -> None:  # fmt: skip
    async with engine.connect() as conn:
        inbox = (await conn.execute(text("SELECT status, count(*) FROM bot_paypal_events GROUP BY status"))).all()
        outbox = (await conn.execute(text("SELECT status, count(*) FROM bot_outbox GROUP BY status"))).all()
        balance = (
            await conn.execute(text("SELECT balance FROM wallets WHERE organization_id = :o"), {"o": payer_org})
        ).scalar_one()
        completed = (
            await conn.execute(
                text(
                    "SELECT count(*), coalesce(sum(amount), 0) FROM payment_transactions "
                    "WHERE organization_id = :o AND status = 'completed'"
                ),
                {"o": payer_org},
            )
        ).one()
        keys = (
            await conn.execute(
                text("SELECT count(*) FROM bot_ledger_keys WHERE organization_id = :o"), {"o": payer_org}
            )
        ).scalar_one()
        tickets = (
            await conn.execute(
                text(
                    """
                    SELECT t.subject,
                           (SELECT count(*) FROM activity_logs a
                            WHERE a.entity_id = t.id::text AND a.event_type = 'ticket.create') AS logged,
                           (SELECT array_agg(th.kind ORDER BY th.kind) FROM bot_ticket_threads th
                            JOIN bot_outbox o ON o.id = th.outbox_id WHERE th.ticket_id = t.id) AS threads
                    FROM support_tickets t WHERE t.subject LIKE 'outage probe %'
                    """
                )
            )
        ).all()
    # every webhook stored once and applied once, by the workers of the process that lived through it
    assert [tuple(row) for row in inbox] == [("processed", len(events))]
    assert {row.status for row in outbox} == {"delivered"}  # nothing stuck or dead in the outbox either
    assert tuple(completed) == (TOP_UPS, Decimal(TOP_UPS * (TOP_UPS + 1) // 2))
    assert keys == TOP_UPS
    assert balance == Decimal("3.00") + completed[1]

    # every ticket whole: the ticket, its activity record, both threads with their queued root posts
    by_subject = {row.subject: row for row in tickets}
    assert len(by_subject) == len(tickets)  # no submission made two tickets
    for row in tickets:
        assert (row.logged, row.threads) == (1, ["requester", "triage"]), row
    # only acknowledged submissions made tickets; one answered with the apology made none
    assert {s for s, answer in load.tickets.items() if answer == "friendly"}.isdisjoint(by_subject)
    assert set(by_subject) <= {s for s, answer in load.tickets.items() if answer == "acked"}
    # an acknowledged submission that made no ticket was followed by an apology in the user's DMs
    lost = [s for s, answer in load.tickets.items() if answer == "acked" and s not in by_subject]
    apologies = [m for m in slack.dms(user) if FRIENDLY in m.get("text", "")]
    assert len(apologies) >= len(lost), (lost, len(apologies))
