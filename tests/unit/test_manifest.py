"""manifest.yml is generated from one source and obeys Slack's manifest rules."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.manifest import BOT_EVENTS, BOT_SCOPES, build_manifest, render_manifest

ROOT = Path(__file__).parents[2]


def test_committed_manifest_matches_the_generated_one() -> None:
    assert (ROOT / "manifest.yml").read_text() == render_manifest()


def test_distributed_mode_lets_an_enterprise_grid_org_install_the_app_org_wide() -> None:
    assert build_manifest()["settings"]["org_deploy_enabled"] is False  # one workspace: nothing to deploy
    distributed = build_manifest("https://bot.example.com", distributed=True)
    assert distributed["settings"]["org_deploy_enabled"] is True
    assert distributed["oauth_config"]["redirect_urls"] == ["https://bot.example.com/slack/oauth_redirect"]


def test_manifest_fields_respect_slack_limits() -> None:
    manifest = yaml.safe_load(render_manifest())
    info = manifest["display_information"]
    assert len(info["name"]) <= 35
    assert len(info["description"]) <= 140
    assert 174 <= len(info["long_description"]) <= 4000
    for command in manifest["features"]["slash_commands"]:
        assert command["command"].startswith("/") and len(command["command"]) <= 32
        assert command["usage_hint"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert {s["type"] for s in manifest["features"]["shortcuts"]} == {"message"}


def test_every_request_url_points_at_slack_events_under_public_url() -> None:
    manifest = build_manifest("https://bot.example.org/", "/ops")
    settings = manifest["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        settings["interactivity"]["message_menu_options_url"],
        manifest["features"]["slash_commands"][0]["url"],
    ]
    for url in urls:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "bot.example.org", "/slack/events")
    assert manifest["features"]["slash_commands"][0]["command"] == "/ops"
    assert manifest["oauth_config"]["redirect_urls"] == ["https://bot.example.org/slack/oauth_redirect"]


def test_scopes_cover_the_subscribed_events() -> None:
    needs = {"message.channels": "channels:history", "message.groups": "groups:history",
             "message.im": "im:history", "app_mention": "app_mentions:read"}  # fmt: skip
    for event in BOT_EVENTS:
        if event in needs:
            assert needs[event] in BOT_SCOPES
    assert "users:read" in BOT_SCOPES  # users:read.email requires it
