"""The `csbot` command line as an operator runs it (real subprocesses, real exit codes)."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import yaml
from sqlalchemy import text

from bot.cli import build_parser
from bot.db.engine import create_engine
from bot.db.migrate import SEED_ADMIN_EMAIL
from bot.emulators.slack import SlackEmulator
from tests.factories import make_user, panel_hash
from tests.serve_fixtures import csbot_env, free_port, serve_settings, serving, wait_until_healthy


def _csbot(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=csbot_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_without_slack_credentials_exits_with_one_clear_message(tmp_path: Path) -> None:
    result = _csbot("serve", cwd=tmp_path, PORT="not-a-port")
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "SLACK_SIGNING_SECRET" in result.stderr and "PORT" in result.stderr
    assert result.stderr.count("Configuration problems") == 1


def test_manifest_fills_in_public_url_and_command(tmp_path: Path) -> None:
    result = _csbot("manifest", cwd=tmp_path, PUBLIC_URL="https://bot.acme.test", SLACK_COMMAND="/acme")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)
    assert manifest["settings"]["event_subscriptions"]["request_url"] == "https://bot.acme.test/slack/events"
    assert manifest["features"]["slash_commands"][0]["command"] == "/acme"


def test_help_lists_the_operator_commands(tmp_path: Path) -> None:
    result = _csbot("--help", cwd=tmp_path)
    for command in ("serve", "migrate", "db", "doctor", "manifest"):
        assert command in result.stdout
    migrate = _csbot("migrate", "--help", cwd=tmp_path)
    assert migrate.returncode == 0
    assert "changing no existing row" in migrate.stdout


def _commands(parser: argparse.ArgumentParser, path: str = "csbot") -> list[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)command under `parser`, depth first, with its full name."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += [(f"{path} {name}", child), *_commands(child, f"{path} {name}")]
    return found


def test_every_command_and_option_says_what_it_does() -> None:
    commands = _commands(build_parser())
    assert {"csbot serve", "csbot migrate", "csbot db check", "csbot billing run", "csbot sandbox"} <= {
        name for name, _ in commands
    }
    for name, command in commands:
        assert command.description and len(command.description) > 20, f"{name} has no description"
        for action in command._actions:
            if action.option_strings and not isinstance(action, argparse._HelpAction):
                assert action.help, f"{name} {action.option_strings[0]} has no help"


async def test_doctor_and_serve_then_sigterm_shuts_down_cleanly(
    tmp_path: Path, database_url: str, slack: SlackEmulator
) -> None:
    env = serve_settings(database_url, slack.api_url)
    doctor = await asyncio.to_thread(_csbot, "doctor", cwd=tmp_path, **env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "✓ slack" in doctor.stdout and "✓ migrations" in doctor.stdout

    # PayPal credentials without PAYPAL_WEBHOOK_ID: webhooks cannot verify, which serve says at start.
    paypal = {"PAYPAL_CLIENT_ID": "client-id", "PAYPAL_CLIENT_SECRET": "client-secret"}
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        env=csbot_env(**env, **paypal), cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await wait_until_healthy(f"http://127.0.0.1:{port}", time.monotonic() + 30)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
    assert b"will be unused" not in stderr  # Bolt's false alarm about SLACK_BOT_TOKEN in the environment
    logged = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    unavailable = [entry for entry in logged if entry["event"] == "serve.feature_unavailable"]
    features = [entry["feature"] for entry in unavailable]
    assert sorted(features) == sorted(set(features)), "each feature is reported once"
    assert {"paypal_webhooks", "public_url", "staff_alerts"} <= set(features)  # the rest depend on the rows
    webhooks = next(entry for entry in unavailable if entry["feature"] == "paypal_webhooks")
    assert "PAYPAL_WEBHOOK_ID" in webhooks["problem"] and webhooks["fix"]


async def test_serve_in_distributed_mode_sends_add_to_slack_to_slacks_consent_page(
    tmp_path: Path, database_url: str, slack: SlackEmulator
) -> None:
    """The real process with OAuth client credentials and no bot token: `/slack/install` answers with
    Slack's consent page and the state cookie, and the start-up log names the mode."""
    env = serve_settings(database_url, slack.api_url)
    del env["SLACK_BOT_TOKEN"]
    oauth = {"SLACK_CLIENT_ID": slack.client_id, "SLACK_CLIENT_SECRET": slack.client_secret,
             "SLACK_TOKEN_KEY": "ab" * 32}  # fmt: skip
    async with (
        serving(tmp_path, **env, **oauth) as served,
        aiohttp.ClientSession() as session,
        session.get(served.base + "/slack/install", allow_redirects=False) as install,
    ):
        assert install.status == 302, await install.text()
        location = install.headers["Location"]
        assert location.startswith(slack.authorize_url) and f"client_id={slack.client_id}" in location
        assert "slack-app-oauth-state" in install.headers.get("Set-Cookie", "")
    log = served.log.read_text()
    assert "Traceback" not in log and "distributed" in log and slack.client_secret not in log


async def test_db_check_after_a_clean_migrate_prints_only_its_report(
    tmp_path: Path, fresh_database: Callable[[], Awaitable[str]]
) -> None:
    """The bot's own tables and triggers are part of the expected schema, and no log line leaks out."""
    url = await fresh_database()
    migrated = await asyncio.to_thread(_csbot, "migrate", cwd=tmp_path, DATABASE_URL=url, LOG_FORMAT="json")
    assert migrated.returncode == 0, migrated.stderr
    check = await asyncio.to_thread(_csbot, "db", "check", cwd=tmp_path, DATABASE_URL=url, LOG_FORMAT="json")
    assert check.returncode == 0, check.stdout
    head, verdict = check.stdout.splitlines()
    assert head.startswith("Migrations: at head (")
    assert verdict.startswith("No drift: ") and verdict.endswith(" tables match the expected schema.")
    assert check.stderr == ""


async def test_doctor_warns_about_staff_accounts_with_a_published_default_password(
    tmp_path: Path, fresh_database: Callable[[], Awaitable[str]], slack: SlackEmulator
) -> None:
    url = await fresh_database()
    env = serve_settings(url, slack.api_url)
    migrated = await asyncio.to_thread(_csbot, "migrate", cwd=tmp_path, **env)
    assert migrated.returncode == 0, migrated.stderr
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        staff = await make_user(engine, role="admin", password="correct horse 1")
        clean = await asyncio.to_thread(_csbot, "doctor", cwd=tmp_path, **env)
        assert "✓ staff passwords" in clean.stdout, clean.stdout  # the seeded admin got a random password

        # As on a panel database where someone ran the panel's update-admin-password script.
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE users SET password_hash = :h WHERE email IN (:a, :b)"),
                {"h": panel_hash("admin123"), "a": SEED_ADMIN_EMAIL, "b": staff.email},
            )
        warned = await asyncio.to_thread(_csbot, "doctor", cwd=tmp_path, **env)
    finally:
        await engine.dispose()
    [line] = [line for line in warned.stdout.splitlines() if "staff passwords" in line]
    assert line.startswith("! staff passwords:") and SEED_ADMIN_EMAIL in line and staff.email in line
    assert "admin123" not in line.replace("(such as admin123)", "")  # names the accounts, not their hashes
    assert warned.returncode == 0  # a warning, not a failure
