"""The bot wired to the Linode emulator (the real linode-api4 SDK underneath), plus helpers for
server scenarios: plans, the create modal, clicks and waiting on rows, calls and responses."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import AppOptions
from bot.app_keys import SERVICES
from bot.emulators.linode import LinodeEmulator
from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.jobs.durable import JobPolicy
from bot.jobs.outbox import OutboxPolicy
from bot.jobs.vps_sync import VpsOptions, VpsSync
from bot.rendering import vps as render
from tests.billing_fixtures import bill_org
from tests.conftest import RunningBot, make_settings, start_bot
from tests.factories import set_balance
from tests.paypal_fixtures import CHANNEL_ID, Payer

SSH_CRED_SECRET = "test-ssh-cred-secret-0123456789abcdef"
STAFF_CHANNEL = "C0VPSSTAFF"
FAST_VPS = VpsOptions(
    poll_seconds=0.05,
    max_wait_seconds=20.0,
    timeout_seconds=20.0,
    retry_interval=0.01,
    jobs=JobPolicy(backoff_base=0.05, backoff_cap=0.2, idle_poll_seconds=0.05),
    sync_every_seconds=None,
)


@pytest.fixture(name="linode")
async def linode_fixture() -> AsyncIterator[LinodeEmulator]:
    """Real-time transitions a few tenths of a second long, so the bot's polling sees them move."""
    emulator = LinodeEmulator(
        provision_seconds=0.2,
        boot_seconds=0.2,
        shutdown_seconds=0.2,
        reboot_seconds=0.2,
        rebuild_seconds=0.2,
        resize_seconds=0.2,
    )
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture(name="vps_bot")
async def vps_bot_fixture(
    database_url: str, slack: SlackEmulator, linode: LinodeEmulator, engine: AsyncEngine
) -> AsyncIterator[RunningBot]:
    settings = make_settings(
        database_url,
        slack,
        linode_api_token=linode.token,
        linode_api_url=linode.base_url,
        ssh_cred_secret=SSH_CRED_SECRET,
        admin_channel=STAFF_CHANNEL,
    )
    options = AppOptions(
        outbox_policy=OutboxPolicy(pace_seconds=0.05, backoff_base=0.05, idle_poll_seconds=0.05),
        vps=FAST_VPS,
    )
    runner, url = await start_bot(settings, database_url, options)
    async with aiohttp.ClientSession() as session:
        yield RunningBot(url=url, app=runner.app, session=session)
    await runner.cleanup()
    async with engine.begin() as conn:  # other tests' bots must never pick up these jobs
        await conn.execute(text("DELETE FROM bot_jobs"))


@dataclass(frozen=True)
class VpsWorld:
    bot: RunningBot
    slack: SlackEmulator
    requests: SlackRequestFactory
    engine: AsyncEngine
    linode: LinodeEmulator


@pytest.fixture(name="world")
def world_fixture(
    vps_bot: RunningBot,
    slack: SlackEmulator,
    slack_requests: SlackRequestFactory,
    engine: AsyncEngine,
    linode: LinodeEmulator,
) -> VpsWorld:
    return VpsWorld(vps_bot, slack, slack_requests, engine, linode)


async def add_plan(
    engine: AsyncEngine, linode_type: str = "g6-nanode-1", *, base: str = "5.00", markup: str = "1.00",
    name: str | None = None, region: str | None = None,
) -> uuid.UUID:  # fmt: skip
    specs = {"region": region} if region else {}
    async with engine.begin() as conn:
        return (
            await conn.execute(
                text(
                    "INSERT INTO vps_plans (name, provider_plan_id, base_price, markup_price, specifications) "
                    "VALUES (:n, :p, :b, :m, CAST(:s AS jsonb)) RETURNING id"
                ),
                {
                    "n": name or f"Plan {linode_type} {secrets.token_hex(2)}",
                    "p": linode_type,
                    "b": Decimal(base),
                    "m": Decimal(markup),
                    "s": json.dumps(specs),
                },
            )
        ).scalar_one()


async def bind_vps_channel(engine: AsyncEngine, who: Payer, channel: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_channel_bindings (team_id, channel_id, organization_id, created_by) "
                "VALUES ('T0CSBOT01', :c, :o, :u)"
            ),
            {"c": channel, "o": who.org.id, "u": who.user.id},
        )


async def until(check: Callable[[], Awaitable[Any]], *, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in (await conn.execute(text(sql), params)).all()]


async def server_row(engine: AsyncEngine, who: Payer, label: str) -> dict[str, Any] | None:
    found = await rows(
        engine,
        "SELECT *, host(ip_address) AS ip FROM vps_instances WHERE organization_id = :o AND label = :l",
        o=who.org.id,
        l=label,
    )
    return found[0] if found else None


async def wait_status(engine: AsyncEngine, who: Payer, label: str, status: str, timeout: float = 30.0) -> dict:
    async def check() -> dict | None:
        row = await server_row(engine, who, label)
        return row if row and row["status"] == status else None

    return await until(check, timeout=timeout, what=f"{label} to be {status}")


def open_modal(slack: SlackEmulator, who: Payer) -> dict[str, Any]:
    return slack.open_views(who.slack_id)[-1]


async def wait_modal(slack: SlackEmulator, who: Payer, callback_id: str) -> dict[str, Any]:
    async def check() -> dict | None:
        views = slack.open_views(who.slack_id)
        return views[-1] if views and views[-1].get("callback_id") == callback_id else None

    return await until(check, what=f"modal {callback_id}")


def select(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value}}


def create_values(
    plan_id: uuid.UUID, *, label: str = "web-1", image: str = "linode/debian12", region: str = "us-east",
    ssh_key: str = "", backups: bool = False,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    blocks = render.FIELD_BLOCKS
    checked = [{"value": "on"}] if backups else []
    values: dict[str, dict[str, Any]] = {
        blocks["label"]: {render.VALUE: label},
        blocks["plan"]: {render.VALUE: select(str(plan_id))},
        blocks["region"]: {render.VALUE: select(region)},
        blocks["image"]: {render.VALUE: select(image)},
        blocks["ssh_key"]: {render.VALUE: ssh_key},
        blocks["backups"]: {render.VALUE: {"type": "checkboxes", "selected_options": checked}},
    }
    return values


async def submit(world: VpsWorld, who: Payer, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    status, body = await world.bot.send(world.requests.view_submission(who.slack_id, view, values=values))
    assert status == 200, body
    return json.loads(body) if body.startswith("{") else {}


async def command(world: VpsWorld, who: Payer, words: str) -> dict[str, Any]:
    status, body = await world.bot.send(world.requests.slash_command(who.slack_id, words, channel_id=CHANNEL_ID))
    assert status == 200, body
    return json.loads(body) if body.startswith("{") else {"raw": body}


async def click(world: VpsWorld, who: Payer, action: dict[str, Any]) -> None:
    request = world.requests.block_actions(who.slack_id, [action], channel_id=CHANNEL_ID, is_ephemeral=True)
    status, body = await world.bot.send(request)
    assert status == 200, body


def button(action_id: str, value: str) -> dict[str, Any]:
    return {"action_id": action_id, "value": value, "type": "button"}


def picked(action_id: str, value: str) -> dict[str, Any]:
    return {"action_id": action_id, **select(value)}


async def response_matching(world: VpsWorld, who: Payer, needle: str, *, after: int = 0) -> dict[str, Any]:
    """The first response_url post for ``who`` (from index ``after``) whose JSON contains ``needle``."""

    async def check() -> dict | None:
        posts = [r for r in world.slack.responses if r.user_id == who.slack_id][after:]
        return next((r.payload for r in posts if needle in json.dumps(r.payload, ensure_ascii=False)), None)

    return await until(check, what=f"a response containing {needle!r}")


def response_count(world: VpsWorld, who: Payer) -> int:
    return len([r for r in world.slack.responses if r.user_id == who.slack_id])


async def create_server(world: VpsWorld, who: Payer, plan_id: uuid.UUID, label: str) -> dict[str, Any]:
    """A server made the way a customer makes one (the create modal, really signed), once running."""
    await command(world, who, "vps create")
    modal = await wait_modal(world.slack, who, render.CREATE_CALLBACK_ID)
    answer = await submit(world, who, modal, create_values(plan_id, label=label))
    assert answer.get("response_action") == "update", answer
    return await wait_status(world.engine, who, label, "running")


async def owe_hours(world: VpsWorld, who: Payer, hours: int = 3) -> None:
    """Empty the wallet and bill this organisation `hours` hours ahead: those hours are owed."""
    async with world.engine.begin() as conn:
        await set_balance(conn, who.org.id, Decimal(0))
    await bill_org(world.engine, who.org.id, datetime.now(UTC) + timedelta(hours=hours, minutes=1))


def action_buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The buttons of a message by action id."""
    return {
        e["action_id"]: e
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for e in block.get("elements", [])
    }


def sync_of(world: VpsWorld, **options: Any) -> VpsSync:
    """The Linode sync job of the running bot. The shared test database also holds other tests'
    servers, unknown to this emulator, so the guard against most servers vanishing at once is off
    unless a test asks for it."""
    services = world.bot.app[SERVICES]
    assert services.linode is not None
    return VpsSync(services.engine, services.linode, services.settings, **{"mass_missing_share": None, **options})
