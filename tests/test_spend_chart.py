"""The spend picture: `/cs billing` shares a chart of this month's spend per day and server, and the
daily summary carries the same picture; the PNG holds exactly the amounts the ledger's cycles hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.ticks import billing_tick, summary_tick
from bot.rendering.charts import draw
from bot.services.summaries import month_start
from tests.billing_fixtures import BillingWorld, org_in_slack, outbox, settings, world_fixture
from tests.conftest import RunningBot
from tests.paypal_fixtures import flat, payer, run
from tests.png_reader import read_png
from tests.server_page_fixtures import dm_of, shared_file
from tests.test_billing_commands import billed_hours

world = world_fixture()


async def test_billing_shares_this_months_spend_per_day_and_server_as_a_png(
    bot: RunningBot, slack: SlackEmulator, slack_requests: SlackRequestFactory, engine: AsyncEngine
) -> None:
    member = await payer(engine, slack, role="member", balance=Decimal("40.00"))
    await billed_hours(engine, member.org.id, "edge-1", hours=30, amount="0.03")  # 24 h on day 1, 6 on day 2
    await billed_hours(engine, member.org.id, "edge-2", hours=2, amount="0.50")

    card = await run(bot, slack_requests, member, "billing")
    assert "The spend chart (per day, per server) is on its way in your DM with the bot" in flat(card)
    sent = await shared_file(slack, dm_of(member.slack_id), "spend-")
    png = read_png(sent.data or b"")
    assert (png.width, png.height) == (1000, 390)
    plotted = png.plotted
    now = datetime.now(UTC)
    assert plotted["kind"] == "bars" and len(plotted["categories"]) == now.day
    by_name = {s["name"]: s["values"] for s in plotted["series"]}
    assert [s["name"] for s in plotted["series"]] == ["edge-2", "edge-1"]  # the most spent first
    assert by_name["edge-1"][0] == "0.72" and by_name["edge-2"][0] == "1.00"
    if now.day >= 2:
        assert by_name["edge-1"][1] == "0.18" and sum(Decimal(v) for v in by_name["edge-1"][2:]) == 0
    assert sum(Decimal(v) for v in by_name["edge-1"]) == Decimal("0.90")
    [message] = [m for m in slack.channel_messages(dm_of(member.slack_id)) if m.get("files")]
    assert "Spend per day this month" in message["text"]
    assert month_start(now).day == 1


async def test_the_daily_summary_carries_the_same_picture_once_per_slot(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    config = settings()
    org, channel, _ = await org_in_slack(engine, "20.00")
    await world.server(org, datetime(2019, 4, 3, 9, 0, tzinfo=UTC), label="api-1")
    await billing_tick(engine, config, datetime(2019, 4, 5, 8, 30, tzinfo=UTC))
    now = datetime(2019, 4, 5, 9, 2, tzinfo=UTC)
    await summary_tick(engine, config, now)
    await summary_tick(engine, config, now + timedelta(minutes=5))

    [summary] = await outbox(engine, channel)
    [upload] = await outbox(engine, channel, kind="upload")
    assert "api-1" in summary.payload["text"]
    chart = upload.payload["chart"]
    assert chart["categories"][:5] == ["04-01", "04-02", "04-03", "04-04", "04-05"]
    [series] = chart["series"]
    # the cycles per UTC day: 15 h on the 3rd, 24 on the 4th, 9 begun by 08:30 on the 5th, each hour the
    # difference of the month's rounded running totals (round(15 × 0.027), round(39 × 0.027), round(48 × 0.027))
    assert [series["values"][2], series["values"][3], series["values"][4]] == ["0.41", "0.64", "0.25"]
    png = read_png(draw(chart))
    assert png.plotted["series"] == chart["series"]
