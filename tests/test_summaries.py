"""Scheduled summaries: one message per organisation and slot with several replicas, missed slots
collapsed into one, the weekly staff summary; driven through the ticks with a chosen clock."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.jobs.ticks import billing_tick, summary_tick
from bot.services.summaries import latest_slot, weekly_slot
from tests.billing_fixtures import (
    STAFF_CHANNEL,
    BillingWorld,
    add_topup,
    org_in_slack,
    outbox,
    rows,
    settings,
    world_fixture,
)

world = world_fixture()


def test_daily_slots_follow_the_cron_in_the_configured_time_zone() -> None:
    now = datetime(2020, 1, 6, 7, 30, tzinfo=UTC)  # 08:30 in Berlin
    assert latest_slot("0 9 * * *", "Europe/Berlin", now) == datetime(2020, 1, 5, 8, 0, tzinfo=UTC)
    assert latest_slot("0 9 * * *", "UTC", now) == datetime(2020, 1, 5, 9, 0, tzinfo=UTC)
    # weekly: the first daily slot of the ISO week (Monday 2020-01-06 09:00 UTC has not come yet)
    assert weekly_slot("0 9 * * *", "UTC", now) == datetime(2019, 12, 30, 9, 0, tzinfo=UTC)


async def test_two_replicas_ticking_at_once_post_one_daily_summary_per_organisation(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    config = settings()
    org, channel, _ = await org_in_slack(engine, "20.00")
    await world.server(org, datetime(2018, 3, 4, 9, 0, tzinfo=UTC), label="api-<1>")
    await add_topup(engine, org.id, "15.00", datetime(2018, 3, 4, 12, 0, tzinfo=UTC))
    await billing_tick(engine, config, datetime(2018, 3, 5, 8, 30, tzinfo=UTC))  # 24 hours: round(24 × 0.027) = 0.65

    now = datetime(2018, 3, 5, 9, 2, tzinfo=UTC)
    first, second = await asyncio.gather(summary_tick(engine, config, now), summary_tick(engine, config, now))
    later = await summary_tick(engine, config, now + timedelta(minutes=5))

    assert sorted([first[0].claimed, second[0].claimed]) == [False, True]
    assert not later[0].claimed
    messages = await outbox(engine, channel)
    assert len(messages) == 1
    body = messages[0].payload["text"]
    assert "2018-03-04 09:00 UTC → 2018-03-05 09:00 UTC" in body
    assert "api-&lt;1&gt;: $0.65 (24 h)" in body
    assert "Top-ups: $15.00" in body
    assert "Balance: *$19.35*" in body and "burn $0.65/day" in body and "runway about 29.9 days" in body


async def test_missed_slots_collapse_into_one_message_covering_the_gap(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    config = settings()
    org, channel, _ = await org_in_slack(engine, "20.00")
    await world.server(org, datetime(2018, 6, 1, 9, 0, tzinfo=UTC))

    await summary_tick(engine, config, datetime(2018, 6, 2, 9, 1, tzinfo=UTC))
    # the bot was down from the 2nd to the 5th: the slots of the 3rd, 4th and 5th 09:00 were missed
    await billing_tick(engine, config, datetime(2018, 6, 5, 9, 30, tzinfo=UTC))
    await summary_tick(engine, config, datetime(2018, 6, 5, 9, 31, tzinfo=UTC))

    messages = await outbox(engine, channel)
    assert len(messages) == 2
    assert "2018-06-02 09:00 UTC → 2018-06-05 09:00 UTC" in messages[1].payload["text"]
    assert "(72 h)" in messages[1].payload["text"]
    slots = await rows(
        engine, "SELECT slot FROM bot_job_runs WHERE job = 'summary.daily' AND slot >= :a AND slot < :b ORDER BY slot",
        a=datetime(2018, 6, 1, tzinfo=UTC), b=datetime(2018, 7, 1, tzinfo=UTC),
    )  # fmt: skip
    assert [r.slot.day for r in slots] == [2, 5]


async def test_weekly_staff_summary_reports_topups_charges_failures_arrears_and_webhooks_once(
    engine: AsyncEngine, world: BillingWorld
) -> None:
    config = settings()
    monday = datetime(2018, 9, 10, 9, 0, tzinfo=UTC)
    rich, _, _ = await org_in_slack(engine, "10.00")
    poor, _, _ = await org_in_slack(engine, "0.00")
    await world.server(rich, monday - timedelta(days=3))
    await world.server(poor, monday - timedelta(days=1))
    await add_topup(engine, rich.id, "7.50", monday - timedelta(days=2))
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_paypal_events (event_id, event_type, raw_body, headers, status, received_at) "
                "VALUES (:e, 'PAYMENT.CAPTURE.COMPLETED', '\\x7b7d', '{}', 'dead', :r)"
            ),
            {"e": "WH-" + secrets.token_hex(6), "r": monday - timedelta(days=1)},
        )
    await billing_tick(engine, config, monday - timedelta(hours=1))

    await asyncio.gather(summary_tick(engine, config, monday), summary_tick(engine, config, monday))

    staff = [m for m in await outbox(engine, STAFF_CHANNEL) if m.dedupe_key.startswith("summary:weekly:")]
    mine = [m for m in staff if str(int(monday.timestamp())) in m.dedupe_key]
    assert len(mine) == 1
    body = mine[0].payload["text"]
    assert "2018-09-03 09:00 UTC → 2018-09-10 09:00 UTC" in body
    assert "Top-ups: 1 totalling $7.50" in body
    assert "Charges: 72 server-hours totalling $1.94" in body  # 72 hours of the rich organisation's server
    assert "Failed charges: 24 hour(s)" in body
    assert "Webhook failures: 1 in the period" in body
    assert poor.name in body and "Organisations in arrears:" in body


async def test_csbot_summary_post_reports_the_slot_and_a_repeat_posts_nothing(database_url: str) -> None:
    env_at = "2018-12-03T09:05:00+00:00"
    base = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "SUMMARY_CRON": "0 9 * * *", "TIMEZONE": "UTC"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAYPAL_", "DATABASE_URL"))} | base
    outputs = []
    for _ in range(2):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "summary", "post", "--at", env_at, env=env,
            cwd=Path(__file__).resolve().parents[1], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        outputs.append(out.decode())
    assert "summary.daily: slot 2018-12-03T09:00:00+00:00 covering from" in outputs[0]
    assert "summary.daily: slot 2018-12-03T09:00:00+00:00 was already posted" in outputs[1]
