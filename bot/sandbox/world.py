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
GENERAL = "C0GENERAL"
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
        self.slack = SlackEmulator(bot_token=BOT_TOKEN)
        await self.slack.start()
        self.paypal = PayPalEmulator(
            client_id=PAYPAL_CLIENT_ID, client_secret=PAYPAL_CLIENT_SECRET, webhook_id="WH-CSBOT-SANDBOX"
        )
        await self.paypal.start()
        self.linode = LinodeEmulator(token=LINODE_TOKEN, clock=self.clock)
        await self.linode.start()
        self._started.append("emulators")
        everyone = [user.slack_id for user in demo.USERS]
        for user in demo.USERS:
            self.slack.add_user(user.slack_id, name=user.handle, email=user.email)
        for channel_id, name in (SUPPORT, STAFF):
            self.slack.add_channel(channel_id, name=name, members=everyone)
        self.requests = SlackRequestFactory(SIGNING_SECRET, emulator=self.slack)

    async def _bot(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
        self.bot_url = f"http://127.0.0.1:{port}"
        ca_file = self.root / "paypal-emulator-ca.pem"
        ca_file.write_bytes(self.paypal.ca_pem)
        self.settings = SandboxSettings(
            database_url=self.database_url,
            csbot_data_dir=self.data_dir,
            slack_bot_token=BOT_TOKEN,
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
