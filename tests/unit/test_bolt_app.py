"""Building the Bolt app logs nothing alarming when the environment holds the same bot token."""

from __future__ import annotations

import logging

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.bolt_app import build_bolt_app

TOKEN = "xoxb-test-token"
UNUSED = "will be unused"


def _warnings_while_building(caplog: pytest.LogCaptureFixture) -> list[str]:
    with caplog.at_level(logging.WARNING):
        build_bolt_app("test-signing-secret", AsyncWebClient(token=TOKEN))
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_same_token_in_the_environment_is_not_reported_as_unused(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)  # as `csbot serve` runs under Docker or Kubernetes
    assert not [m for m in _warnings_while_building(caplog) if UNUSED in m]


def test_a_different_token_in_the_environment_is_still_reported(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-another-token")
    assert [m for m in _warnings_while_building(caplog) if UNUSED in m]
