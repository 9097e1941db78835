"""`csbot doctor` against the Slack, PayPal and Linode emulators and a freshly migrated database.

Every check talks to the real service's wire format: auth.test's `x-oauth-scopes` header,
conversations.info's `is_member`, PayPal's OAuth and `/v1/notifications/webhooks/{id}`, Linode's
`/profile` and `X-OAuth-Scopes`, and the panel's envelopes in the database.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot import crypto
from bot.db.engine import create_engine
from bot.db.migrate import migrate
from bot.doctor import collect, run_doctor
from bot.emulators.linode import LinodeEmulator
from bot.emulators.paypal import PayPalEmulator
from bot.emulators.slack import SlackEmulator
from bot.settings import Settings
from tests.conftest import BOT_TOKEN, make_settings
from tests.paypal_fixtures import PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET
from tests.paypal_fixtures import paypal_emulator as paypal_emulator  # noqa: PLC0414 - a fixture
from tests.serve_fixtures import csbot_env

SSH_SECRET = "panel-ssh-cred-secret-0123456789"
SUPPORT, STAFF = "C0DOCSUPP", "C0DOCSTAF"


@pytest.fixture
async def panel_database(fresh_database: Callable[[], Awaitable[str]]) -> str:
    """A migrated database holding a linode provider token encrypted the panel's way."""
    url = await fresh_database()
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO service_providers (name, type, api_key_encrypted, configuration, active) "
                    "VALUES ('Linode', 'linode', :key, '{}'::jsonb, true)"
                ),
                {"key": crypto.encrypt("panel-linode-token", SSH_SECRET)},
            )
    finally:
        await engine.dispose()
    return url


@pytest.fixture
async def linode() -> AsyncIterator[LinodeEmulator]:
    async with LinodeEmulator() as emulator:
        yield emulator


def doctor_settings(
    url: str, slack: SlackEmulator, paypal: PayPalEmulator, linode: LinodeEmulator, **overrides: Any
) -> Settings:
    slack.add_channel(SUPPORT, name="support")
    slack.add_channel(STAFF, name="staff-alerts", is_private=True)
    values: dict[str, Any] = {
        "public_url": "http://localhost:3000",
        "support_channel": SUPPORT,
        "admin_channel": STAFF,
        "paypal_client_id": PAYPAL_CLIENT_ID,
        "paypal_client_secret": PAYPAL_CLIENT_SECRET,
        "paypal_api_url": paypal.base_url,
        "paypal_webhook_id": paypal.webhook_id,
        "linode_api_token": linode.token,
        "linode_api_url": linode.base_url,
        "ssh_cred_secret": SSH_SECRET,
    }
    return make_settings(url, slack, **(values | overrides))


async def findings_by_check(settings: Settings) -> dict[str, tuple[str, str, str]]:
    return {f.check: (f.status.value, f.detail, f.fix) for f in await collect(settings)}


async def test_everything_in_place_passes(
    panel_database: str, slack: SlackEmulator, paypal_emulator: PayPalEmulator, linode: LinodeEmulator
) -> None:
    paypal_emulator.add_webhook("http://localhost:3000/webhooks/paypal")
    settings = doctor_settings(panel_database, slack, paypal_emulator, linode)
    lines: list[str] = []

    assert await run_doctor(settings, lines.append) == 0, "\n".join(lines)

    out = "\n".join(lines)
    for check in ("database", "migrations", "serve settings", "slack", "slack scopes", "support channel",
                  "admin channel", "paypal", "paypal webhook", "linode", "SSH_CRED_SECRET"):  # fmt: skip
        assert f"✓ {check}:" in out, out
    assert "✓ slack scopes: all 15 scopes the manifest asks for" in out
    assert "✓ support channel: the bot is a member of #support" in out
    assert "✓ paypal webhook: WH-CSBOT-TEST points at http://localhost:3000/webhooks/paypal" in out
    assert "✓ SSH_CRED_SECRET: opens the linode provider token stored in the database" in out
    assert "- PUBLIC_URL: skipped (http://localhost:3000 is local" in out
    assert "✗" not in out and "!" not in out


async def test_each_broken_piece_fails_with_its_fix(
    panel_database: str, slack: SlackEmulator, paypal_emulator: PayPalEmulator, linode: LinodeEmulator
) -> None:
    slack.scopes = tuple(scope for scope in slack.scopes if scope not in {"channels:history", "groups:read"})
    paypal_emulator.add_webhook("https://old-bot.example/webhooks/paypal")
    linode.scopes = "linodes:read_only ips:read_write"
    settings = doctor_settings(
        panel_database, slack, paypal_emulator, linode, support_channel="C0ELSEWHR", ssh_cred_secret="x" * 32
    )
    slack.add_channel("C0ELSEWHR", name="elsewhere", bot_is_member=False)
    lines: list[str] = []

    assert await run_doctor(settings, lines.append) == 1

    found = await findings_by_check(settings)
    assert found["slack scopes"][:2] == ("fail", "the token lacks channels:history, groups:read")
    assert "reinstall the app" in found["slack scopes"][2]
    assert found["support channel"][:2] == ("fail", "the bot is not a member of #elsewhere")
    assert "/invite @ContainerStacks" in found["support channel"][2]
    assert found["paypal webhook"][:2] == ("fail", "WH-CSBOT-TEST points at https://old-bot.example/webhooks/paypal")
    assert found["linode"][0] == "fail" and "lacks linodes:read_write, stackscripts:read_only" in found["linode"][1]
    assert found["SSH_CRED_SECRET"][0] == "fail" and "not the panel's secret" in found["SSH_CRED_SECRET"][1]
    assert found["admin channel"][0] == "pass"  # the rest still passes


async def test_paypal_credentials_and_webhook_id_are_checked_at_paypal(
    panel_database: str, slack: SlackEmulator, paypal_emulator: PayPalEmulator, linode: LinodeEmulator
) -> None:
    wrong_secret = doctor_settings(panel_database, slack, paypal_emulator, linode, paypal_client_secret="wrong")
    status, detail, fix = (await findings_by_check(wrong_secret))["paypal"]
    assert status == "fail" and "OAuth refused the credentials" in detail and "PAYPAL_MODE" in fix

    unknown_id = doctor_settings(panel_database, slack, paypal_emulator, linode, paypal_webhook_id="WH-NOT-HERE")
    status, detail, fix = (await findings_by_check(unknown_id))["paypal webhook"]
    assert (status, detail) == ("fail", "this REST app has no webhook WH-NOT-HERE")
    assert "http://localhost:3000/webhooks/paypal" in fix

    without_id = doctor_settings(panel_database, slack, paypal_emulator, linode, paypal_webhook_id=None)
    found = await findings_by_check(without_id)
    assert found["paypal webhook"][0] == "skip"
    assert found["paypal webhooks"][0] == "warn" and "PAYPAL_WEBHOOK_ID" in found["paypal webhooks"][1]


async def test_the_cli_exits_non_zero_and_an_unreachable_public_url_does_not_hang(
    tmp_path: Path, panel_database: str, slack: SlackEmulator
) -> None:
    env = csbot_env(
        DATABASE_URL=panel_database,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.api_url,
        PUBLIC_URL="https://csbot-doctor.invalid",  # .invalid never resolves (RFC 2606)
    )
    started = time.monotonic()
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot.cli", "doctor"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert time.monotonic() - started < 30
    assert "✗ PUBLIC_URL: https://csbot-doctor.invalid/healthz" in result.stdout
    assert "✗ serve settings: single-workspace mode (SLACK_BOT_TOKEN); not set: SLACK_SIGNING_SECRET, BOT_SECRET" in (
        result.stdout
    )
    assert "✓ slack: authenticated as @" in result.stdout
