"""`make run` (`python -m bot.launch`): a configuration error is printed, and stops a bot meant to serve."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.launch import choose
from tests.serve_fixtures import csbot_env

SLACK = "SLACK_BOT_TOKEN=xoxb-test-token\nSLACK_SIGNING_SECRET=test-signing-secret\n"
BOT_SECRET = "BOT_SECRET=test-bot-secret-0123456789abcdef0123456789\n"


@pytest.fixture
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty .env in a fresh directory, with none of the bot's settings in the environment."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PUBLIC_URL", "BOT_SECRET", "PORT"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / ".env"
    path.write_text("")
    return path


def test_valid_slack_credentials_and_a_bad_public_url_stop_with_the_settings_error(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(SLACK + BOT_SECRET + "PUBLIC_URL=bot.example.com\n")
    result = subprocess.run(
        [sys.executable, "-m", "bot.launch"], cwd=tmp_path, env=csbot_env(), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "PUBLIC_URL: must be an http(s) URL" in result.stderr
    assert "stops here instead of opening the sandbox" in result.stderr
    assert "ContainerStacks sandbox" not in result.stdout + result.stderr
    assert not (tmp_path / ".csbot").exists()  # nothing was started


def test_serving_also_needs_bot_secret(env_file: Path) -> None:
    env_file.write_text(SLACK)
    choice = choose(env_file)
    assert choice.command is None
    assert "BOT_SECRET: is required but not set" in choice.message


def test_without_slack_credentials_a_bad_setting_is_shown_and_the_sandbox_opens(env_file: Path) -> None:
    env_file.write_text("PUBLIC_URL=bot.example.com\n")
    choice = choose(env_file)
    assert choice.command == ("sandbox",)
    assert "PUBLIC_URL: must be an http(s) URL" in choice.message
    assert "No Slack credentials are configured, so `make run` opens the sandbox" in choice.message


def test_without_slack_credentials_the_sandbox_opens_and_says_why(env_file: Path) -> None:
    choice = choose(env_file)
    assert choice.command == ("sandbox",)
    assert "No Slack credentials (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET) are configured" in choice.message


def test_valid_slack_settings_serve_after_migrating(env_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file.write_text(SLACK)
    monkeypatch.setenv("BOT_SECRET", "test-bot-secret-0123456789abcdef0123456789")  # the environment counts too
    assert choose(env_file).command == ("serve", "--migrate")


def test_oauth_client_credentials_mean_serving_in_distributed_mode(
    env_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_TOKEN_KEY"):
        monkeypatch.delenv(name, raising=False)
    oauth = "SLACK_CLIENT_ID=1234.5678\nSLACK_CLIENT_SECRET=client-secret\nSLACK_SIGNING_SECRET=test-signing-secret\n"
    env_file.write_text(oauth + BOT_SECRET)
    stopped = choose(env_file)
    assert stopped.command is None and "SLACK_TOKEN_KEY: is required in distributed mode" in stopped.message
    env_file.write_text(oauth + BOT_SECRET + "SLACK_TOKEN_KEY=" + "ab" * 32 + "\n")
    assert choose(env_file).command == ("serve", "--migrate")
