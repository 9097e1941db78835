"""Benchmark: Slack acks through the real bot vs a bare Bolt app, same load tool, same run.

wrk (Debian's, installed when missing) replays really signed slash commands over 32 connections
against separate server processes, all talking to the Slack emulator:

* the floor: a bare Bolt app whose `/cs` listener acks at once (`_bare_bolt.py`);
* a second floor for `/cs wallet`: the bare Bolt app running the same SQL statement before it
  acks (the best a wallet ack can do here: Bolt plus the database round trip);
* both again built as the bot builds Bolt, answering on the ack rather than on Bolt's 10 ms check
  (the issue's floor is stock Bolt; these show how much of a ratio is that runner);
* `/cs help` through the bot;
* `/cs wallet` for a linked user (identity, organisation, balance, burn rate and the last ledger
  rows read from PostgreSQL before the ack);
* `/cs vps create` while the Linode emulator takes 5 s on every catalogue listing: the bot opens
  the loading modal (views.open) and acks; the modal is filled later. Once as fast as the bot
  answers (closed loop), once with each connection pausing 250 ms between requests (≤ 128/s).
* `/cs help`, `/cs wallet` and the closed-loop `/cs vps create` again with WEB_CONCURRENCY=2 (a
  helper process answers on the same port: `bot.serve`).

Prints throughput, latency, the ratio to the floor and the bot's RSS after the runs.
Targets: ≥ 0.8× the floor's throughput and p99 < 100 ms; RSS < 200 MiB.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import LoadResult, child_pids, free_port, rss_mib, run_wrk, scratch_database, server_process
from sqlalchemy import text

from bot.db.engine import create_engine
from bot.emulators.linode import LinodeEmulator
from bot.emulators.slack import SlackEmulator, SlackRequestFactory

SECONDS = 8
WARM_UP_SECONDS = 2
CONNECTIONS = 32
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
TEAM = "T0CSBOT01"
WALLET_USER = "U0BENCHWALLET"
#: Every `/cs vps create` spends its trigger_id, so each request in the run must be a distinct one.
VPS_CREATE_REQUESTS = 30_000
LINODE_SECONDS = 5.0
#: The paced run: each of the 32 connections sends a create every PACE_MS (≤ 128 modals/s offered).
PACE_MS = 250
PACED_CREATE_REQUESTS = 8_000
WARM_UP_CREATES = 6_000

SEED = [
    text("INSERT INTO users (id, email, password_hash, name) VALUES (:u, 'bench@example.com', 'x', 'Bench User')"),
    text("INSERT INTO organizations (id, name, slug, owner_id) VALUES (:o, 'Bench Org', 'bench-org', :u)"),
    text("INSERT INTO organization_members (organization_id, user_id, role) VALUES (:o, :u, 'owner')"),
    text("INSERT INTO wallets (organization_id, balance) VALUES (:o, 1234.56)"),
    text(
        "INSERT INTO bot_slack_identities (team_id, slack_user_id, user_id, linked_via) "
        "VALUES (:team, :slack, :u, 'password')"
    ),
    text(
        "INSERT INTO vps_plans (name, provider_plan_id, base_price, markup_price) "
        "VALUES ('Nanode 1 GB', 'g6-nanode-1', 5.00, 1.00)"
    ),
]


#: Admins of the bench organisation who open create modals. Slack keeps one modal per user (a new
#: views.open closes the previous one), so the create runs rotate over many people, as real use would.
CREATORS = [f"U0CREATOR{n:05d}" for n in range(2_000)]
SEED_CREATOR = [
    text("INSERT INTO users (id, email, password_hash, name) VALUES (:u, :email, 'x', :slack)"),
    text("INSERT INTO organization_members (organization_id, user_id, role) VALUES (:o, :u, 'admin')"),
    text(
        "INSERT INTO bot_slack_identities (team_id, slack_user_id, user_id, linked_via) "
        "VALUES (:team, :slack, :u, 'password')"
    ),
]


async def seed_linked_user(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    params = {"u": uuid.uuid4(), "o": uuid.uuid4(), "team": TEAM, "slack": WALLET_USER}
    creators = [
        {"u": uuid.uuid4(), "o": params["o"], "team": TEAM, "slack": slack_id, "email": f"{slack_id}@example.com"}
        for slack_id in CREATORS
    ]
    async with engine.begin() as conn:
        for statement in SEED:
            await conn.execute(statement, params)
        for statement in SEED_CREATOR:
            await conn.execute(statement, creators)
        for n in range(10):
            await conn.execute(
                text(
                    "INSERT INTO payment_transactions (organization_id, amount, payment_method, payment_provider, "
                    "status, description) VALUES (:o, :a, 'paypal', 'paypal', 'completed', 'Wallet top-up')"
                ),
                {"o": params["o"], "a": 10 + n},
            )
    await engine.dispose()


Requests = list[tuple[bytes, dict[str, str]]]


def signed(factory: SlackRequestFactory, user: str, text_: str, count: int) -> Requests:
    return [(r.body, r.headers) for r in (factory.slash_command(user, text_) for _ in range(count))]


def creates(factory: SlackRequestFactory, count: int, *, offset: int = 0) -> Requests:
    """`/cs vps create` from the creators in turn (each a distinct trigger_id)."""
    users = [CREATORS[(offset + n) % len(CREATORS)] for n in range(count)]
    return [(r.body, r.headers) for r in (factory.slash_command(user, "vps create") for user in users)]


async def measure(
    label: str, url: str, requests: Requests, warm_up: Requests | None = None, *, pace_ms: int = 0
) -> LoadResult:
    await run_wrk(label, url, warm_up or requests, seconds=WARM_UP_SECONDS, connections=CONNECTIONS, pace_ms=pace_ms)
    return await run_wrk(label, url, requests, seconds=SECONDS, connections=CONNECTIONS, pace_ms=pace_ms)


async def main() -> int:
    frozen = asyncio.get_running_loop().time()  # trigger_ids stay valid for the whole run
    slack = SlackEmulator(bot_token=TOKEN, clock=lambda: frozen, pace_per_channel=None)
    linode = LinodeEmulator()
    async with slack, linode, scratch_database() as database_url:
        await seed_linked_user(database_url)
        factory = SlackRequestFactory(SECRET, emulator=slack)
        help_requests = signed(factory, "U0BENCH", "help", 2000)
        wallet_requests = signed(factory, WALLET_USER, "wallet", 2000)
        create_requests = creates(factory, VPS_CREATE_REQUESTS)
        create_warm_up = creates(factory, VPS_CREATE_REQUESTS // 3, offset=len(CREATORS) // 2)
        paced_creates = creates(factory, PACED_CREATE_REQUESTS)
        create_requests_two = creates(factory, VPS_CREATE_REQUESTS)
        env = {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "BOT_SECRET": "bench-bot-secret-0123456789abcdef0123",
            "SLACK_API_URL": slack.api_url,
            "LINODE_API_URL": linode.base_url,
            "LINODE_API_TOKEN": linode.token,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
        }
        bare_port, bot_port = free_port(), free_port()
        bare_cmd = [sys.executable, "bench/_bare_bolt.py", str(bare_port)]
        bot_cmd = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(bot_port)]
        async with server_process(bare_cmd, env, bare_port) as bare:
            floor = await measure("bare Bolt (floor)", bare.base + "/slack/events", help_requests)
        async with server_process([*bare_cmd, "sql"], env, bare_port) as bare:
            sql_floor = await measure("bare Bolt + wallet SQL", bare.base + "/slack/events", wallet_requests)
        async with server_process([*bare_cmd, "prompt"], env, bare_port) as bare:
            prompt_floor = await measure("bare Bolt, answering on ack", bare.base + "/slack/events", help_requests)
        async with server_process([*bare_cmd, "prompt", "sql"], env, bare_port) as bare:
            prompt_sql = await measure("  same + wallet SQL", bare.base + "/slack/events", wallet_requests)
        results = []
        async with server_process(bot_cmd, env, bot_port) as bot:
            url = bot.base + "/slack/events"
            results.append(await measure("csbot /cs help", url, help_requests))
            wallet = await measure("csbot /cs wallet (linked)", url, wallet_requests)
            results.append(wallet)
            rss = rss_mib(bot.pid)
            for route in ("regions.list", "images.list"):
                linode.slow(route, LINODE_SECONDS)
            # Paced first: the closed loop leaves modals to fill that would land in a later run.
            label = f"csbot /cs vps create (Linode {LINODE_SECONDS:.0f} s)"
            half = len(paced_creates) // 2
            paced_label = f"  same, each conn every {PACE_MS} ms"
            paced = await measure(paced_label, url, paced_creates[half:], paced_creates[:half], pace_ms=PACE_MS)
            create = await measure(label, url, create_requests, create_warm_up)
            results += [create, paced]
            opened = len(slack.calls_to("views.open"))
        # The same bot answering with two processes (WEB_CONCURRENCY=2): one Python process uses one core.
        async with server_process(bot_cmd, {**env, "WEB_CONCURRENCY": "2"}, bot_port) as bot:
            url = bot.base + "/slack/events"
            two = [
                await measure("csbot /cs help, 2 processes", url, help_requests),
                await measure("csbot /cs wallet, 2 processes", url, wallet_requests),
            ]
            rss_two = [rss_mib(pid) for pid in [bot.pid, *child_pids(bot.pid)]]
            warm, timed = create_requests_two[:WARM_UP_CREATES], create_requests_two[WARM_UP_CREATES:]
            two.append(await measure(f"{label}, 2 processes", url, timed, warm))
    for result in (floor, sql_floor, prompt_floor, prompt_sql):
        print(result.line())
    for result in results + two:
        print(result.line())
    for result in results + two:
        print(f"{result.label}: {result.throughput / floor.throughput:.2f}x the floor (target >= 0.80), "
              f"p99 {result.p99_ms:.1f} ms (target < 100 ms)")  # fmt: skip
    print(f"csbot /cs wallet: {wallet.throughput / sql_floor.throughput:.2f}x bare Bolt + the same SQL "
          f"(which is {sql_floor.throughput / floor.throughput:.2f}x the floor)")  # fmt: skip
    print(f"with the bot's runner in the floor too: /cs help {results[0].throughput / prompt_floor.throughput:.2f}x, "
          f"/cs wallet {wallet.throughput / prompt_floor.throughput:.2f}x; /cs wallet "
          f"{wallet.throughput / prompt_sql.throughput:.2f}x that floor + the same SQL")  # fmt: skip
    print(f"csbot RSS after the help and wallet runs: {rss:.0f} MiB (target < 200 MiB)")
    print(f"with 2 processes: /cs wallet {two[1].throughput / sql_floor.throughput:.2f}x bare Bolt + the same SQL; "
          f"RSS {' + '.join(f'{r:.0f}' for r in rss_two)} MiB")  # fmt: skip
    print(f"vps create: {opened} loading modals opened for {create.requests} acks (+ warm-up)")
    reused = create.requests > VPS_CREATE_REQUESTS or two[2].requests > VPS_CREATE_REQUESTS - WARM_UP_CREATES
    if reused:
        print("warning: the vps create run outran its distinct trigger_ids; raise VPS_CREATE_REQUESTS")
    return 0 if not reused and all(r.errors == 0 for r in [floor, *results, *two]) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
