"""Start and stop everything the sandbox runs: embedded PostgreSQL, the three emulators and the bot.

The bot is the real application (`bot.app.create_app`) served over HTTP on a free 127.0.0.1 port,
with settings that point Slack, PayPal and Linode at the emulators. Webhooks verify for real: the
PayPal emulator's CA is written to a file and given as PAYPAL_CERT_CA. The sandbox always uses its
own embedded PostgreSQL under ``<data dir>/sandbox/postgres``, never DATABASE_URL, and it reads no
environment or ``.env`` settings, so a configured production bot cannot be reached from here.

The console's database persists between runs (``reset`` drops it). A scripted run (``fresh``) plays in
a world of its own: a separate database, dropped and seeded again each time, so a tour gives the
same transcript however often it runs and never touches the console's data. On every start the
Linode emulator gets back the servers the database remembers (``restore``), and one clock
(``clock``) drives the emulator, the bot and the rows the database stamps.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions, create_app
from bot.db.engine import create_engine, plain_url, with_database
from bot.db.location import ensure_database
from bot.db.migrate import migrate
from bot.emulators.linode import LinodeEmulator
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.outbox import OutboxPolicy
from bot.jobs.vps_sync import VpsOptions
from bot.sandbox import browser
from bot.sandbox import clock as sandbox_clock
from bot.sandbox import seed as demo
from bot.sandbox.clock import SandboxClock
from bot.sandbox.restore import restore_servers
from bot.settings import Settings

log = logging.getLogger(__name__)

SANDBOX_DATABASE = "csbot_sandbox"
SCRIPT_DATABASE = "csbot_sandbox_script"  # a scripted run's own world, made afresh every time
BOT_TOKEN = "xoxb-sandbox-token"  # noqa: S105 - the emulated workspace's fake token
SIGNING_SECRET = "sandbox-signing-secret-0123456789"  # noqa: S105 - fixed demo value, printed nowhere
BOT_SECRET = "sandbox-bot-secret-0123456789abcdef0123456789"  # noqa: S105 - fixed demo value
SSH_CRED_SECRET = "sandbox-ssh-cred-secret-0123456789"  # noqa: S105 - fixed demo value
PAYPAL_CLIENT_ID = "sandbox-paypal-client"
PAYPAL_CLIENT_SECRET = "sandbox-paypal-secret-0123456789"  # noqa: S105 - the emulator's fake credentials
LINODE_TOKEN = "sandbox-linode-token"  # noqa: S105 - the emulator's fake token
SLACK_CLIENT_ID = "1000.2000"
SLACK_CLIENT_SECRET = "sandbox-slack-client-secret"  # noqa: S105 - the emulator's fake app credentials
SLACK_TOKEN_KEY = "5c" * 32  # a fixed demo key: the sandbox's stored tokens are fake anyway
#: Two Slack workspaces (distributed mode): the reseller's own, where staff triage, and a customer's.
SUPPORT_TEAM = ("T0CSBOT01", "ContainerStacks Support", "support")
CUSTOMER_TEAM = ("T0ACME001", "Acme Corp", "acme")
GENERAL = "C0GENERAL"  # the support workspace's #general
CUSTOMER_GENERAL = "C0ACME001GEN"  # the customer workspace's #general
SUPPORT = ("C0SUPPORT", "support")
STAFF = ("C0STAFF01", "staff-alerts")


class SandboxSettings(Settings):
    """Settings from the constructor only: no environment variables and no `.env` file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


@dataclass
class World:
    """The running sandbox; ``start`` brings everything up, ``stop`` takes it down in reverse."""

    data_dir: Path
    reset: bool = False  # drop the console's demo database first: a fresh start with only the seed
    fresh: bool = False  # a scripted run: its own database, always made afresh (the console's is untouched)
    clock: SandboxClock = field(default_factory=SandboxClock)
    restored: list[str] = field(default_factory=list)  # servers brought back into the Linode emulator
    slack: SlackEmulator = field(init=False)
    paypal: PayPalEmulator = field(init=False)
    linode: LinodeEmulator = field(init=False)
    requests: SlackRequestFactory = field(init=False)
    settings: Settings = field(init=False)
    engine: AsyncEngine = field(init=False)
    database_url: str = field(init=False)
    bot_url: str = field(init=False)
    _pg: Any = None
    _runner: web.AppRunner | None = None
    _started: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.data_dir / "sandbox"

    @property
    def log_file(self) -> Path:
        return self.root / "csbot.log"

    @property
    def webhook_url(self) -> str:
        return f"{self.bot_url}/webhooks/paypal"

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        await self._database()
        await self._emulators()
        await demo.seed(self.engine, LINODE_TOKEN)
        await sandbox_clock.attach(self.engine, self.clock)
        self.restored = await restore_servers(self.engine, self.linode)
        await self._bot()
        self.paypal.add_webhook(self.webhook_url)  # the REST app's webhook, as `csbot doctor` expects it
        await self._install_again()

    def general_of(self, slack_user_id: str) -> str:
        """The #general of the workspace ``slack_user_id`` is a member of."""
        user = self.slack._world.users.get(slack_user_id)  # the emulated workspace itself, as the console reads it
        return CUSTOMER_GENERAL if user is not None and user.team_id == CUSTOMER_TEAM[0] else GENERAL

    def team_of(self, domain: str) -> str | None:
        """A workspace's team id from its domain or the start of its name ("acme", "support")."""
        wanted = domain.strip().lower()
        for team_id, name, short in (SUPPORT_TEAM, CUSTOMER_TEAM):
            if wanted in (short, team_id.lower()) or name.lower().startswith(wanted):
                return team_id
        return None

    async def install(self, team_id: str, user_id: str) -> browser.Visit:
        """ "Add to Slack" in ``team_id``, allowed by ``user_id``: the real OAuth flow through the bot."""

        def allow(authorize_url: str) -> str:
            return self.slack.approve_install(authorize_url, team_id=team_id, user_id=user_id)

        return await browser.install_app(self.bot_url, allow)

    async def _install_again(self) -> None:
        """The support workspace always has the app (staff installed it first: the home workspace); a
        workspace the database remembers as installed is installed again, since this Slack is new."""
        async with self.engine.connect() as conn:
            installed = set((await conn.execute(text(
                "SELECT team_id FROM bot_slack_installations WHERE uninstalled_at IS NULL"
            ))).scalars())  # fmt: skip
        for team_id, _, short in (SUPPORT_TEAM, CUSTOMER_TEAM):
            if team_id == SUPPORT_TEAM[0] or team_id in installed:
                installer = next(u for u in demo.USERS if u.workspace == short)
                visit = await self.install(team_id, installer.slack_id)
                if visit.status != 200:
                    raise RuntimeError(f"installing into {team_id} failed: HTTP {visit.status} {visit.text}")

    async def move_clock(self, seconds: float) -> None:
        """`:clock`: time passes for the emulators, the bot and the database alike."""
        self.clock.advance(seconds)
        await sandbox_clock.remember(self.engine, self.clock)

    async def _database(self) -> None:
        from bot.db.embedded import EmbeddedPostgres  # noqa: PLC0415 - only the sandbox and `serve` need it

        self._pg = EmbeddedPostgres(self.root / "postgres")
        server_url = await asyncio.to_thread(self._pg.start)
        self._started.append("postgres")
        name = SCRIPT_DATABASE if self.fresh else SANDBOX_DATABASE
        if self.reset or self.fresh:
            await _drop_database(server_url, name)
        await ensure_database(server_url, name)
        self.database_url = with_database(server_url, name)
        self.engine = create_engine(self.database_url, pool_size=2, max_overflow=2)
        await migrate(self.engine)

    async def _emulators(self) -> None:
        self.slack = SlackEmulator(
            bot_token=BOT_TOKEN,
            team_id=SUPPORT_TEAM[0],
            team_name=SUPPORT_TEAM[1],
            team_domain=SUPPORT_TEAM[2],
            client_id=SLACK_CLIENT_ID,
            client_secret=SLACK_CLIENT_SECRET,
            signing_secret=SIGNING_SECRET,
        )
        await self.slack.start()
        self.slack.add_workspace(CUSTOMER_TEAM[0], CUSTOMER_TEAM[1], domain=CUSTOMER_TEAM[2])
        self.paypal = PayPalEmulator(
            client_id=PAYPAL_CLIENT_ID, client_secret=PAYPAL_CLIENT_SECRET, webhook_id="WH-CSBOT-SANDBOX"
        )
        await self.paypal.start()
        self.linode = LinodeEmulator(token=LINODE_TOKEN, clock=self.clock)
        await self.linode.start()
        self._started.append("emulators")
        for user in demo.USERS:
            team = CUSTOMER_TEAM[0] if user.workspace == CUSTOMER_TEAM[2] else None
            self.slack.add_user(user.slack_id, name=user.handle, email=user.email, team_id=team)
        staff = [user.slack_id for user in demo.USERS if user.workspace == SUPPORT_TEAM[2]]
        customers = [user.slack_id for user in demo.USERS if user.workspace == CUSTOMER_TEAM[2]]
        for channel_id, name in (SUPPORT, STAFF):
            self.slack.add_channel(channel_id, name=name, members=staff)
        self.slack.add_channel(CUSTOMER_GENERAL, name="general", members=customers, team_id=CUSTOMER_TEAM[0])
        self.requests = SlackRequestFactory(SIGNING_SECRET, emulator=self.slack)

    async def _bot(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        self.bot_url = f"http://127.0.0.1:{port}"
        ca_file = self.root / "paypal-emulator-ca.pem"
        ca_file.write_bytes(self.paypal.ca_pem)
        self.slack.event_url = f"{self.bot_url}/slack/events"  # where Slack sends uninstall events
        self.settings = SandboxSettings(
            database_url=self.database_url,
            csbot_data_dir=self.data_dir,
            slack_client_id=SLACK_CLIENT_ID,
            slack_client_secret=SLACK_CLIENT_SECRET,
            slack_token_key=SLACK_TOKEN_KEY,
            slack_home_team=SUPPORT_TEAM[0],
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.slack.api_url,
            slack_command="/cs",
            public_url=self.bot_url,
            host="127.0.0.1",
            port=port,
            paypal_client_id=PAYPAL_CLIENT_ID,
            paypal_client_secret=PAYPAL_CLIENT_SECRET,
            paypal_webhook_id=self.paypal.webhook_id,
            paypal_api_url=self.paypal.base_url,
            paypal_cert_hosts=self.paypal.base_url,
            paypal_cert_ca=ca_file,
            linode_api_url=self.linode.base_url,
            ssh_cred_secret=SSH_CRED_SECRET,
            bot_secret=BOT_SECRET,
            support_channel=SUPPORT[0],
            admin_channel=STAFF[0],
            log_format="console",
        )
        options = AppOptions(
            outbox_policy=OutboxPolicy(pace_seconds=0.05, backoff_base=0.05, idle_poll_seconds=0.05),
            vps=VpsOptions(poll_seconds=1.0, sync_every_seconds=60.0),
            clock=self.clock.now,
        )
        app = create_app(self.settings, self.database_url, options)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._started.append("bot")

    async def stop(self) -> None:
        """Stop what was started, newest first; each step runs even if an earlier one failed."""
        if "bot" in self._started and self._runner is not None:
            await _quietly(self._runner.cleanup())
        if "emulators" in self._started:
            for emulator in (self.linode, self.paypal, self.slack):
                await _quietly(emulator.stop())
        if "postgres" in self._started:
            if hasattr(self, "engine"):
                await _quietly(self.engine.dispose())
            await _quietly(asyncio.to_thread(self._pg.stop))
        self._started.clear()


async def _drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(plain_url(server_url))
    try:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()


async def _quietly(step: Any) -> None:
    try:
        await step
    except Exception:
        log.exception("sandbox.stop_step_failed")


def configure_file_logging(path: Path) -> None:
    """Send every log record to ``path``: the console shows what Slack would show, not bot logs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for noisy in ("aiohttp.access", "slack_bolt.AsyncApp", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
