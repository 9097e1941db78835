"""Benchmark: Slack acks through the real bot vs a bare Bolt app, same load, same run.

Three runs against the Slack emulator, each a separate server process, 32 concurrent connections
of really signed slash commands: a bare Bolt app that acks `/cs` at once (the floor), `/cs help`
through the bot, and `/cs wallet` for a linked user (identity lookup, organisation, balance, ledger
rows and burn rate from PostgreSQL before the ack). Prints throughput, latency and the bot's RSS.
Targets: ≥ 0.8× the floor's throughput, p99 < 100 ms, RSS < 200 MiB.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import free_port, run_load, scratch_database, server_process
from sqlalchemy import text

from bot.db.engine import create_engine
from bot.emulators.slack import SlackEmulator, SlackRequestFactory

TOTAL = 3000
CONCURRENCY = 32
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
TEAM = "T0CSBOT01"
WALLET_USER = "U0BENCHWALLET"

SEED = [
    text("INSERT INTO users (id, email, password_hash, name) VALUES (:u, 'bench@example.com', 'x', 'Bench User')"),
    text("INSERT INTO organizations (id, name, slug, owner_id) VALUES (:o, 'Bench Org', 'bench-org', :u)"),
    text("INSERT INTO organization_members (organization_id, user_id, role) VALUES (:o, :u, 'owner')"),
    text("INSERT INTO wallets (organization_id, balance) VALUES (:o, 1234.56)"),
    text(
        "INSERT INTO bot_slack_identities (team_id, slack_user_id, user_id, linked_via) "
        "VALUES (:team, :slack, :u, 'password')"
    ),
]


async def seed_linked_user(database_url: str) -> None:
    import uuid

    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    params = {"u": uuid.uuid4(), "o": uuid.uuid4(), "team": TEAM, "slack": WALLET_USER}
    async with engine.begin() as conn:
        for statement in SEED:
            await conn.execute(statement, params)
        for n in range(10):
            await conn.execute(
                text(
                    "INSERT INTO payment_transactions (organization_id, amount, payment_method, payment_provider, "
                    "status, description) VALUES (:o, :a, 'paypal', 'paypal', 'completed', 'Wallet top-up')"
                ),
                {"o": params["o"], "a": 10 + n},
            )
    await engine.dispose()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main() -> int:
    async with SlackEmulator(bot_token=TOKEN) as slack, scratch_database() as database_url:
        await seed_linked_user(database_url)
        factory = SlackRequestFactory(SECRET)
        help_requests = [factory.slash_command("U0BENCH", "help") for _ in range(TOTAL + 200)]
        wallet_requests = [factory.slash_command(WALLET_USER, "wallet") for _ in range(TOTAL + 200)]
        env = {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "BOT_SECRET": "bench-bot-secret-0123456789abcdef0123",
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
        }
        bare_port, bot_port = free_port(), free_port()
        bare_cmd = [sys.executable, "bench/_bare_bolt.py", str(bare_port)]
        bot_cmd = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(bot_port)]
        results = []
        async with server_process(bare_cmd, env, bare_port) as base:
            url = base + "/slack/events"
            await run_load("bare Bolt (floor)", url, lambda n: _raw(help_requests[TOTAL + n]), 200, CONCURRENCY)
            results.append(
                await run_load("bare Bolt (floor)", url, lambda n: _raw(help_requests[n]), TOTAL, CONCURRENCY)
            )
        async with server_process(bot_cmd, env, bot_port) as base:
            url = base + "/slack/events"
            for label, requests in (("csbot /cs help", help_requests), ("csbot /cs wallet (linked)", wallet_requests)):
                await run_load(label, url, lambda n, r=requests: _raw(r[TOTAL + n]), 200, CONCURRENCY)
                results.append(await run_load(label, url, lambda n, r=requests: _raw(r[n]), TOTAL, CONCURRENCY))
            rss = rss_mib(_server_pid(bot_port))
    for result in results:
        print(result.line())
    floor = results[0]
    for result in results[1:]:
        print(f"{result.label}: {result.throughput / floor.throughput:.2f}x the floor (target >= 0.80), "
              f"p99 {result.percentile(0.99):.1f} ms (target < 100 ms)")  # fmt: skip
    print(f"csbot RSS after both runs: {rss:.0f} MiB (target < 200 MiB)")
    return 0 if all(r.errors == 0 for r in results) else 1


def _raw(request: object) -> tuple[bytes, dict[str, str]]:
    return request.body, request.headers  # type: ignore[attr-defined]


def _server_pid(port: int) -> int:
    """The pid listening on `port` (the bot server process), from /proc/net/tcp."""
    import os
    import re

    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":
            inode = fields[9]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if re.fullmatch(rf"socket:\[{inode}\]", os.readlink(f"/proc/{pid}/fd/{fd}")):
                    return int(pid)
        except OSError:
            continue
    raise RuntimeError(f"no process listens on port {port}")


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
