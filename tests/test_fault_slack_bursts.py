"""Fault: Slack answers 429 and 5xx in bursts while the outbox is busy on many channels.

Real `OutboxWorker`s (three, as replicas would run) with the real slack-sdk client deliver to the
Slack emulator, which keeps its per-channel pace (its own 429s) on top of scripted bursts: runs of
429 with Retry-After, 500/502/503/504 and dropped connections, one burst set before delivery starts
and another in the middle of it. Every message must arrive exactly once, each channel in the order
it was queued, and nothing may go dead. The bursts hold fewer transient failures in total than a
message's attempt budget, so a dead message could only mean a bug (429s do not spend attempts).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.outbox import enqueue
from bot.emulators.slack import SlackEmulator
from bot.jobs.outbox import OutboxPolicy, OutboxWorker
from bot.metrics import Metrics
from bot.slack.client import outbox_client
from tests.conftest import BOT_TOKEN

pytestmark = pytest.mark.usefixtures("clean_outbox")

POLICY = OutboxPolicy(pace_seconds=0.05, backoff_base=0.02, backoff_cap=0.1, idle_poll_seconds=0.02, max_attempts=8)
CHANNELS = [f"C0BURST{i}" for i in range(6)]
PER_TARGET = 6
#: (status, times, retry_after); status None means a dropped connection.
FIRST_BURSTS: list[tuple[int | None, int, float | None]] = [
    (429, 4, 1), (500, 2, None), (429, 2, 1), (503, 1, None), (None, 1, None),
]  # fmt: skip
SECOND_BURSTS: list[tuple[int | None, int, float | None]] = [
    (502, 1, None), (429, 5, 1), (504, 1, None), (429, 2, 2),
]  # fmt: skip
TRANSIENT_FAILURES = sum(times for status, times, _ in FIRST_BURSTS + SECOND_BURSTS if status != 429)


def burst(slack: SlackEmulator, bursts: Sequence[tuple[int | None, int, float | None]]) -> None:
    for status, times, retry_after in bursts:
        if status is None:
            slack.fail("chat.postMessage", disconnect=True, times=times)
        else:
            slack.fail("chat.postMessage", status=status, retry_after=retry_after, times=times)


async def outbox_counts(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT status, count(*) FROM bot_outbox GROUP BY status"))).all()
    return Counter({status: n for status, n in rows})


async def test_bursts_of_429_and_5xx_deliver_every_message_once_in_order_per_channel(
    engine: AsyncEngine, slack: SlackEmulator
) -> None:
    assert POLICY.max_attempts > TRANSIENT_FAILURES
    for channel in CHANNELS:
        slack.add_channel(channel, name=channel.lower())
    slack.add_user("U0BURSTDM", name="burst-dm")
    targets = [*CHANNELS, "U0BURSTDM"]
    async with engine.begin() as conn:  # interleaved across targets, as real traffic is
        for n in range(PER_TARGET):
            for target in targets:
                await enqueue(conn, target, {"text": f"{target}-{n}"})
    total = PER_TARGET * len(targets)

    burst(slack, FIRST_BURSTS)
    workers = [OutboxWorker(engine, outbox_client(BOT_TOKEN, slack.api_url), Metrics(), POLICY) for _ in range(3)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(worker.run(stop)) for worker in workers]
    try:
        async with asyncio.timeout(60):
            while (await outbox_counts(engine))["delivered"] < total // 2:
                await asyncio.sleep(0.02)
            burst(slack, SECOND_BURSTS)  # a second wave while half the queue is still waiting
            while (counts := await outbox_counts(engine))["pending"] + counts["sending"]:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    # every burst was really served, and Slack's own pacing added 429s of its own
    answers = Counter(call.status for call in slack.calls_to("chat.postMessage"))
    assert answers[500] == 2 and answers[502] == answers[503] == answers[504] == answers[0] == 1, answers
    assert answers[429] >= 13, answers
    assert await outbox_counts(engine) == Counter({"delivered": total})
    for channel in CHANNELS:
        assert [m["text"] for m in slack.channel_messages(channel)] == [f"{channel}-{n}" for n in range(PER_TARGET)]
    assert [m["text"] for m in slack.dms("U0BURSTDM")] == [f"U0BURSTDM-{n}" for n in range(PER_TARGET)]
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT channel, attempts, result FROM bot_outbox"))).all()
    assert all(1 <= row.attempts <= 1 + TRANSIENT_FAILURES and row.result["ts"] for row in rows), rows
    # each delivered message names a distinct Slack message: nothing was posted twice
    assert len({(row.result["channel"], row.result["ts"]) for row in rows}) == total
