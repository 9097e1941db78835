"""Benchmark: signed `/cs help` acks through the real bot vs a bare Bolt app, same load, same run.

Both run as separate server processes against the Slack emulator; the load generator sends
really signed slash commands from 32 concurrent connections. Prints throughput and latency for
each and the ratio (target ≥ 0.8× the bare app, p99 well under Slack's 3 s deadline).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import free_port, run_load, scratch_database, server_process

from bot.emulators.slack import SlackEmulator, SlackRequestFactory

TOTAL = 3000
CONCURRENCY = 32
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"


async def main() -> int:
    async with SlackEmulator(bot_token=TOKEN) as slack, scratch_database() as database_url:
        factory = SlackRequestFactory(SECRET)
        requests = [factory.slash_command("U0BENCH", "help") for _ in range(TOTAL)]

        def request(n: int) -> tuple[bytes, dict[str, str]]:
            return requests[n].body, requests[n].headers

        env = {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "BOT_SECRET": "bench-bot-secret-0123456789abcdef0123",
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
        }
        results = []
        bare_port, bot_port = free_port(), free_port()
        bare_cmd = [sys.executable, "bench/_bare_bolt.py", str(bare_port)]
        bot_cmd = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(bot_port)]
        for label, cmd, port in (("bare Bolt (floor)", bare_cmd, bare_port), ("csbot /cs help", bot_cmd, bot_port)):
            async with server_process(cmd, env, port) as base:
                await run_load(label, base + "/slack/events", request, 200, CONCURRENCY)  # warm-up
                results.append(await run_load(label, base + "/slack/events", request, TOTAL, CONCURRENCY))
    for result in results:
        print(result.line())
    bare, bot = results
    ratio = bot.throughput / bare.throughput
    print(f"ratio csbot/bare: {ratio:.2f}x (target >= 0.80)")
    print(f"csbot p99 {bot.percentile(0.99):.1f} ms (Slack's ack deadline is 3000 ms)")
    return 0 if bot.errors == 0 and bare.errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
