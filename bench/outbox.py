"""Benchmark: the Slack outbox delivering 1,000 channels × 3 messages against the emulator's real
per-channel rate limit (about 1 message/s/channel, burst 3).

Prints the wall time beside the floor set by pacing itself (3 messages per channel at 1/s need at
least 2 s), how many 429s the emulator had to send (target: none — the worker paces itself),
whether every channel got its messages in order, and the smallest gap seen inside a channel.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import scratch_database

from bot.db.engine import create_engine
from bot.db.outbox import enqueue
from bot.emulators.slack import SlackEmulator
from bot.jobs.outbox import OutboxPolicy, OutboxWorker
from bot.metrics import Metrics
from bot.slack.client import outbox_client

CHANNELS = 1000
PER_CHANNEL = 3
WORKERS = 2  # two replicas sharing the queue
TOKEN = "xoxb-bench"


async def main() -> int:
    async with scratch_database() as url, SlackEmulator(bot_token=TOKEN, pace_per_channel=1.0, burst=3) as slack:
        channels = [f"C{n:08d}" for n in range(CHANNELS)]
        for channel in channels:
            slack.add_channel(channel, name=channel.lower())
        engine = create_engine(url, pool_size=8)
        async with engine.begin() as conn:
            for n, channel in itertools.product(range(PER_CHANNEL), channels):
                await enqueue(conn, channel, {"text": f"{channel}-{n}"})
        policy = OutboxPolicy(pace_seconds=1.0, batch_size=200, idle_poll_seconds=0.05)
        workers = [OutboxWorker(engine, outbox_client(TOKEN, slack.api_url), Metrics(), policy) for _ in range(WORKERS)]
        stop = asyncio.Event()
        started = time.perf_counter()
        tasks = [asyncio.create_task(w.run(stop)) for w in workers]
        while len([c for c in slack.calls_to("chat.postMessage") if c.ok]) < CHANNELS * PER_CHANNEL:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*tasks)
        await engine.dispose()
        in_order = all(
            [m["text"] for m in slack.channel_messages(c)] == [f"{c}-{n}" for n in range(PER_CHANNEL)] for c in channels
        )
        gaps = []
        for channel in channels:
            times = [c.at for c in slack.calls_to("chat.postMessage") if c.ok and c.args.get("channel") == channel]
            gaps += [b - a for a, b in itertools.pairwise(times)]
    floor = (PER_CHANNEL - 1) * policy.pace_seconds
    print(f"outbox: {CHANNELS * PER_CHANNEL} messages to {CHANNELS} channels by {WORKERS} workers in {elapsed:.2f} s "
          f"(floor set by pacing: {floor:.1f} s) = {CHANNELS * PER_CHANNEL / elapsed:.0f} msg/s")  # fmt: skip
    print(f"429s from the emulator: {slack.rate_limited_count} (target 0); per-channel order kept: {in_order}; "
          f"smallest gap within a channel: {min(gaps):.2f} s (pace 1.0 s)")  # fmt: skip
    return 0 if in_order and slack.rate_limited_count == 0 else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
