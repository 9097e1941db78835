"""Invoices from Slack, made as the panel makes them: the same `billing_invoices` rows, numbers and
content (checked against a model of the panel's code), the HTML file delivered in Slack, the list,
a period, transactions picked by hand, and the table made by whichever side comes first."""

from __future__ import annotations

import html
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.drift import inspect_drift
from bot.db.engine import create_engine
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering import invoices as render
from tests import panel_invoices as panel
from tests.conftest import RunningBot
from tests.factories import OrgRecord, record_history
from tests.paypal_fixtures import flat, payer, run
from tests.server_page_fixtures import dm_of, shared_file
from tests.test_migrations import migrate_url, run_sql
from tests.vps_fixtures import until

HOSTILE = "Top-up <script>alert(1)</script> & <@U0BOSS>"


async def ledger(engine: AsyncEngine, org: OrgRecord, rows: list[tuple[str, str | None, str, datetime]]) -> list:
    """Past ledger rows (amount, description, status, created_at) written the panel's way."""
    ids = []
    async with engine.begin() as conn:
        for amount, description, status, at in rows:
            ids.append(
                (
                    await conn.execute(
                        text(
                            "INSERT INTO payment_transactions (organization_id, amount, currency, payment_method, "
                            "payment_provider, status, description, created_at) VALUES (:o, :a, 'usd', "
                            "CASE WHEN CAST(:a AS numeric) > 0 THEN 'paypal' ELSE 'wallet_debit' END, "
                            "CASE WHEN CAST(:a AS numeric) > 0 THEN 'paypal' ELSE 'internal' END, :s, :d, :t) "
                            "RETURNING id"
                        ),
                        {"o": org.id, "a": Decimal(amount), "s": status, "d": description, "t": at},
                    )
                ).scalar_one()
            )
            if status == "completed":
                await record_history(conn, org.id, Decimal(amount))
    return ids


async def invoices_of(engine: AsyncEngine, org: OrgRecord) -> list[dict]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text("SELECT * FROM billing_invoices WHERE organization_id = :o ORDER BY created_at"), {"o": org.id}
        )
        return [dict(r._mapping) for r in found.all()]


def visible_text(document: str) -> list[str]:
    """The document's text pieces, tags dropped, entities decoded (what a reader sees, in order)."""
    pieces = [html.unescape(p).strip() for p in re.split(r"<[^>]+>", document.split("</style>", 1)[1])]
    return [p for p in pieces if p]


async def test_an_invoice_made_from_slack_is_the_panels_invoice_and_arrives_as_a_file(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    member = await payer(engine, slack, role="member", balance=Decimal("0.00"))
    start = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)
    await ledger(engine, member.org, [
        ("25.00", HOSTILE, "completed", start),
        ("-0.01", "VPS Creation - web-1 (Initial Hour)", "completed", start + timedelta(hours=1)),
        ("-0.10", None, "completed", start + timedelta(hours=2)),
        ("-0.20", "", "completed", start + timedelta(hours=3)),
        ("9.99", "Abandoned top-up", "pending", start + timedelta(hours=4)),
    ])  # fmt: skip

    answer = await run(bot, slack_requests, member, "billing invoice")
    assert "4 transaction(s)" in flat(answer) and "USD $24.69" in flat(answer)
    [row] = await invoices_of(engine, member.org)
    assert re.fullmatch(r"INV-\d{13}", row["invoice_number"])
    expected = await panel.from_transactions(engine, member.org.id)
    data = row["data"]
    assert [i["description"] for i in data["items"]] == [i["description"] for i in expected.items]
    assert [i["description"] for i in data["items"]] == ["Wallet transaction", "Wallet adjustment",
                                                        "VPS Creation - web-1 (Initial Hour)", HOSTILE]  # fmt: skip
    assert [i["amount"] for i in data["items"]] == [i["amount"] for i in expected.items]
    assert data["subtotal"] == data["total"] == round(expected.total, 2) == 24.69
    assert row["total_amount"] == Decimal("24.69") and row["currency"] == expected.currency == "USD"
    assert data["description"] == expected.description
    assert (
        "from Wed Oct 01 2025 12:00:00 GMT+0000 (Coordinated Universal Time) to Wed Oct 01 2025 15:00"
        in (data["description"])
    )
    assert (data["title"], data["status"], data["invoiceNumber"]) == ("Billing Statement", "issued",
                                                                       row["invoice_number"])  # fmt: skip
    assert data["id"] == "inv-" + row["invoice_number"][4:] and data["organizationId"] == str(member.org.id)

    # the document prints what the panel's prints, in order; nothing from the ledger becomes markup
    document = row["html_content"]
    pieces = visible_text(document)
    printed = expected.printed()
    for item in range(len(expected.items)):
        at = pieces.index(printed[item * 4], pieces.index("Amount"))
        assert pieces[at : at + 4] == printed[item * 4 : item * 4 + 4]
    assert "Subtotal:$24.69" in "".join(pieces) and "Total:USD $24.69" in "".join(pieces)
    assert "<script>" not in document and "&lt;script&gt;" in document
    assert row["invoice_number"] in pieces and "INVOICE" in pieces and "ISSUED" in pieces

    # delivered in Slack as the HTML file, and listed by the panel's own query
    sent = await shared_file(slack, dm_of(member.slack_id), f"invoice-{row['invoice_number']}.html")
    assert sent.data == document.encode()
    listed = await panel.panel_list(engine, member.org.id)
    assert [(i["invoice_number"], i["total_amount"]) for i in listed] == [(row["invoice_number"], Decimal("24.69"))]
    async with engine.connect() as conn:
        logged = (await conn.execute(text("SELECT * FROM activity_logs WHERE entity_id = :e"),
                                     {"e": str(row["id"])})).one()  # fmt: skip
    assert logged.event_type == "billing.invoice.create" and logged.entity_type == "invoice"

    listing = await run(bot, slack_requests, member, "billing invoices")
    assert row["invoice_number"] in flat(listing)
    option = {"value": f"{member.org.id}|{row['id']}"}
    select = {"action_id": render.SEND_ACTION_ID, "type": "static_select", "selected_option": option}
    request = slack_requests.block_actions(member.slack_id, [select])
    assert (await bot.send(request))[0] == 200

    async def twice() -> bool:
        return len(slack.files(dm_of(member.slack_id))) == 2

    await until(twice, what="the file sent again")


async def test_periods_picked_transactions_and_refusals(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    owner = await payer(engine, slack, balance=Decimal("0.00"))
    other = await payer(engine, slack, balance=Decimal("0.00"))
    ids = await ledger(engine, owner.org, [
        ("10.00", "September top-up", "completed", datetime(2025, 9, 30, 23, 0, tzinfo=UTC)),
        ("5.00", "October top-up", "completed", datetime(2025, 10, 2, 9, 0, tzinfo=UTC)),
        ("-1.25", "October charge", "completed", datetime(2025, 10, 31, 23, 59, tzinfo=UTC)),
    ])  # fmt: skip
    [foreign] = await ledger(engine, other.org, [("7.00", "Not yours", "completed", datetime(2025, 10, 3, tzinfo=UTC))])

    nothing = await run(bot, slack_requests, other, "billing invoice 2024-01")
    assert "No transactions found to create invoice" in flat(nothing)
    bad = await run(bot, slack_requests, owner, "billing invoice october")
    assert "Give a month" in flat(bad)
    assert await invoices_of(engine, owner.org) == []

    await run(bot, slack_requests, owner, "billing invoice 2025-10")
    [month] = await invoices_of(engine, owner.org)
    assert [i["description"] for i in month["data"]["items"]] == ["October charge", "October top-up"]
    assert month["total_amount"] == Decimal("3.75")
    await run(bot, slack_requests, owner, "billing invoice 2025-09-30 2025-09-30")
    assert (await invoices_of(engine, owner.org))[-1]["total_amount"] == Decimal("10.00")

    # picked by hand: one is the panel's single-transaction invoice; another organisation's is refused
    await run(bot, slack_requests, owner, "billing invoice pick")
    [opened] = [c for c in slack.calls_to("views.open") if c.args["view"].get("callback_id") == render.PICK_CALLBACK_ID]
    view = slack.open_views(owner.slack_id)[-1]
    assert len(view["blocks"][1]["element"]["options"]) == 3 and opened
    values = {render.PICK_BLOCK: {render.VALUE: {"type": "multi_static_select",
                                                 "selected_options": [{"value": str(foreign)}]}}}  # fmt: skip
    status, body = await bot.send(slack_requests.view_submission(owner.slack_id, view, values=values))
    assert status == 200 and json.loads(body)["response_action"] == "errors"
    values[render.PICK_BLOCK][render.VALUE]["selected_options"] = [{"value": str(ids[1])}]
    status, body = await bot.send(slack_requests.view_submission(owner.slack_id, view, values=values))
    assert json.loads(body)["response_action"] == "update"
    single = (await invoices_of(engine, owner.org))[-1]
    assert re.fullmatch(r"INV-TXN-\d{13}", single["invoice_number"])
    expected = await panel.from_transaction(engine, owner.org.id, ids[1])
    assert (
        single["data"]["description"]
        == expected.description
        == ("Payment transactions from 2025-10-02T09:00:00.000Z to 2025-10-02T09:00:00.000Z")
    )
    assert single["total_amount"] == Decimal("5.00")
    numbers = [i["invoice_number"] for i in await invoices_of(engine, owner.org)]
    assert len(set(numbers)) == len(numbers)


async def test_the_invoice_table_is_the_panels_whichever_side_makes_it_first(
    fresh_database: Callable[[], Awaitable[str]],
) -> None:
    # the panel's InvoiceService statements, as it runs them at run time
    panel_ddl = """
        CREATE TABLE IF NOT EXISTS billing_invoices (
          id UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
          organization_id UUID NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
          invoice_number TEXT NOT NULL,
          html_content TEXT NOT NULL,
          data JSONB NOT NULL DEFAULT '{}',
          total_amount DECIMAL(10,2) NOT NULL DEFAULT 0.00,
          currency TEXT NOT NULL DEFAULT 'USD',
          created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
          updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
        );
        CREATE INDEX IF NOT EXISTS idx_billing_invoices_org ON billing_invoices(organization_id);
        CREATE INDEX IF NOT EXISTS idx_billing_invoices_created_at ON billing_invoices(created_at);
    """
    bot_first = await fresh_database()
    await migrate_url(bot_first)
    await run_sql(bot_first, panel_ddl)  # the panel starts later: nothing to do, nothing fails
    panel_first = await fresh_database()
    await run_sql(panel_first, (Path(__file__).parent / "fixtures" / "panel_schema.sql").read_text())
    await run_sql(panel_first, panel_ddl)
    await run_sql(panel_first, "INSERT INTO billing_invoices (organization_id, invoice_number, html_content) "
                               "SELECT id, 'INV-1', '<html></html>' FROM organizations LIMIT 1")  # fmt: skip
    await migrate_url(panel_first)
    for url in (bot_first, panel_first):
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            async with engine.connect() as conn:
                report = await inspect_drift(conn)
                kept = (await conn.execute(text("SELECT count(*) FROM billing_invoices"))).scalar_one()
        finally:
            await engine.dispose()
        assert not report.has_drift, report.render()
        assert kept == (1 if url == panel_first else 0)
    assert uuid.uuid4()
