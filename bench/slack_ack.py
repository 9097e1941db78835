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
* `/cs wallet` in distributed mode with 10,000 installed workspaces (each request's token found
  through `bot.slack.installations`' cache), against single-workspace mode in the same run
  (target: throughput and p99 within 10 %). `--workspaces` runs only that pair.

Prints throughput, latency, the ratio to the floor and the bot's RSS after the runs.
Targets: ≥ 0.8× the floor's throughput and p99 < 100 ms; RSS < 200 MiB.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from _support import LoadResult, child_pids, free_port, rss_mib, run_wrk, scratch_database, server_process
from sqlalchemy import text

from bot.db.engine import create_engine
from bot.emulators.linode import LinodeEmulator
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.slack.token_crypto import TokenCipher

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


INSTALLS = 10_000
ROUNDS = 2
TOKEN_KEY = "5a" * 32
CLIENT_SECRET = "bench-client-secret"


async def seed_installations(database_url: str) -> None:
    """10,000 installed workspaces, tokens sealed as the bot seals them; the bench team's is the
    emulator's token (its requests then act there, as in single-workspace mode)."""
    cipher = TokenCipher(bytes.fromhex(TOKEN_KEY))
    teams = [TEAM] + [f"T{n:08d}" for n in range(INSTALLS - 1)]

    def sealed(team: str) -> bytes:
        token = TOKEN if team == TEAM else f"xoxb-bench-{team}"
        return cipher.seal(token, enterprise_id="", team_id=team, purpose="bot_token")

    rows = [{"team": team, "token": sealed(team), "bot_user": f"U{team[1:]}BOT"} for team in teams]
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_slack_installations (team_id, team_name, bot_id, bot_user_id, bot_token, bot_scopes) "
                "VALUES (:team, :team, 'B0BENCH', :bot_user, :token, 'commands,chat:write')"
            ),
            rows,
        )
    await engine.dispose()


async def workspaces_pair(database_url: str, factory: SlackRequestFactory, env: dict[str, str]) -> list[LoadResult]:
    """`/cs wallet` with one configured token, then in distributed mode with 10,000 installs."""
    await seed_installations(database_url)
    wallet_requests = signed(factory, WALLET_USER, "wallet", 2000)
    port = free_port()
    cmd = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    distributed = {**env, "SLACK_BOT_TOKEN": "", "SLACK_CLIENT_ID": "1.2", "SLACK_TOKEN_KEY": TOKEN_KEY}
    distributed["SLACK_CLIENT_SECRET"] = CLIENT_SECRET
    runs = {"single workspace": env, f"{INSTALLS:,} workspaces installed": distributed}
    results: dict[str, list[LoadResult]] = {label: [] for label in runs}
    for _ in range(ROUNDS):  # interleaved, so neither mode always runs on a warmer (or busier) machine
        for label, server_env in runs.items():
            async with server_process(cmd, server_env, port) as bot:
                await check_wallet_answer(bot.base + "/slack/events", wallet_requests[0])  # authorized, not refused
                results[label].append(await measure(f"csbot /cs wallet, {label}", bot.base + "/slack/events",
                                                    wallet_requests))  # fmt: skip
    return [combined(rounds) for rounds in results.values()]


def combined(rounds: list[LoadResult]) -> LoadResult:
    """The rounds of one mode as one result: requests and errors summed, latencies their worst."""
    first = rounds[0]
    return replace(
        first,
        requests=sum(r.requests for r in rounds),
        seconds=sum(r.seconds for r in rounds),
        errors=sum(r.errors for r in rounds),
        p50_ms=max(r.p50_ms for r in rounds),
        p99_ms=max(r.p99_ms for r in rounds),
        max_ms=max(r.max_ms for r in rounds),
    )


async def check_wallet_answer(url: str, request: tuple[bytes, dict[str, str]]) -> None:
    async with aiohttp.ClientSession() as session, session.post(url, data=request[0], headers=request[1]) as answer:
        body = await answer.text()
    if "Bench Org" not in body:
        raise SystemExit(f"the wallet ack is not the wallet card: {body[:300]}")


def print_pair(single: LoadResult, many: LoadResult) -> bool:
    throughput, p99 = many.throughput / single.throughput, many.p99_ms / single.p99_ms
    print(single.line())
    print(many.line())
    print(f"distributed vs single workspace: throughput {throughput:.2f}x, p99 {p99:.2f}x (targets >= 0.90, <= 1.10)")
    return single.errors == 0 and many.errors == 0


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


async def main(*, workspaces_only: bool = False) -> int:
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
        if workspaces_only:
            return 0 if print_pair(*await workspaces_pair(database_url, factory, env)) else 1
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
        pair = await workspaces_pair(database_url, factory, env)
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
    paired = print_pair(*pair)
    return 0 if paired and not reused and all(r.errors == 0 for r in [floor, *results, *two]) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(workspaces_only="--workspaces" in sys.argv[1:])))
