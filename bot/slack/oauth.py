"""Distributed mode's Bolt OAuth settings: "Add to Slack" at /slack/install, Slack's redirect at
/slack/oauth_redirect, our stores on PostgreSQL and our own ending pages (`bot.rendering.install_pages`)."""

from __future__ import annotations

import logging

from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.manifest import BOT_SCOPES
from bot.rendering.install_pages import render_installed, render_not_installed
from bot.rendering.pages import CONTENT_SECURITY_POLICY
from bot.settings import Settings
from bot.slack.installation_store import PostgresInstallationStore
from bot.slack.installations import Installations
from bot.slack.oauth_state import STATE_SECONDS, PostgresOAuthStateStore

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def oauth_settings(settings: Settings, engine: AsyncEngine, installations: Installations) -> AsyncOAuthSettings:
    public = settings.public_url.rstrip("/")
    install_url = public + INSTALL_PATH

    async def installed(args: AsyncSuccessArgs) -> BoltResponse:
        workspace = args.installation.team_name or args.installation.enterprise_name or "your workspace"
        return BoltResponse(
            status=200, body=render_installed(workspace=workspace, command=settings.slack_command), headers=PAGE_HEADERS
        )

    async def not_installed(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("slack.install_failed", extra={"reason": args.reason})
        status = 200 if args.reason == "access_denied" else args.suggested_status_code
        return BoltResponse(
            status=status, body=render_not_installed(args.reason, install_url=install_url), headers=PAGE_HEADERS
        )

    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value() if settings.slack_client_secret else None,
        scopes=list(BOT_SCOPES),
        redirect_uri=public + REDIRECT_PATH,
        install_path=INSTALL_PATH,
        install_page_rendering_enabled=False,  # straight to Slack's consent page
        redirect_uri_path=REDIRECT_PATH,
        callback_options=AsyncCallbackOptions(success=installed, failure=not_installed),
        authorization_url=settings.slack_authorize_url,
        installation_store=PostgresInstallationStore(installations),
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=settings.slack_token_rotation_minutes,
        state_store=PostgresOAuthStateStore(engine),
        state_expiration_seconds=STATE_SECONDS,
    )
