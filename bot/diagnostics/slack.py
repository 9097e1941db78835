"""Slack: the bot token works (auth.test), it has every scope the manifest asks for, and the bot is in
the channels it posts to and reads threads from."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.db import installations as installations_db
from bot.db import tickets as tickets_db
from bot.diagnostics.findings import Context, Finding, failed, passed, skipped, warned
from bot.manifest import BOT_SCOPES
from bot.services.tickets_sync import SUPPORT_CHANNEL_KEY
from bot.slack.client import interactive_client
from bot.slack.installations import Installations, WorkspaceBot
from bot.slack.workspaces import token_cipher

INVITE = "invite the bot there (`/invite @ContainerStacks`)"


async def _client(ctx: Context) -> AsyncWebClient | None:
    """The configured token's client; in distributed mode the home workspace's installed bot's."""
    if ctx.settings.slack_mode == "distributed":
        home = await _home_bot(ctx)
        return interactive_client(home.bot_token, ctx.settings.slack_api_url, ctx.http) if home else None
    token = ctx.settings.slack_bot_token
    return interactive_client(token.get_secret_value(), ctx.settings.slack_api_url, ctx.http) if token else None


async def _home_bot(ctx: Context) -> WorkspaceBot | None:
    if ctx.engine is None or ctx.settings.slack_token_key is None:
        return None
    try:
        installations = Installations(ctx.engine, token_cipher(ctx.settings), None)
        return await installations.home_bot(ctx.settings.slack_home_team)
    except SQLAlchemyError:
        return None


async def installs(ctx: Context) -> Finding:
    """Distributed mode: how many workspaces have the app, and whether the home one's token opens."""
    install_url = ctx.settings.public_url.rstrip("/") + "/slack/install"
    if ctx.engine is None:
        return skipped("slack installs", "the database did not answer")
    try:
        async with ctx.engine.connect() as conn:
            count = await installations_db.count_active(conn)
    except SQLAlchemyError:
        return skipped("slack installs", "cannot read them (migrate first)")
    if count == 0:
        return warned("slack installs", "no workspace has installed the app yet", f"open {install_url}")
    if await _home_bot(ctx) is None:
        home = ctx.settings.slack_home_team or "the first installed workspace"
        fix = f"install into {home} at {install_url}; if SLACK_TOKEN_KEY changed, every workspace must reinstall"
        return failed("slack installs", f"{count} installed, but no readable token for the home workspace", fix)
    return passed("slack installs", f"{count} workspace(s) installed; the home workspace's token opens")


async def auth(ctx: Context) -> list[Finding]:
    """auth.test, then the scopes Slack reports for the token (its `x-oauth-scopes` header)."""
    distributed = ctx.settings.slack_mode == "distributed"
    client = await _client(ctx)
    if client is None and distributed:
        return [await installs(ctx)]
    if client is None:
        return [failed("slack", "SLACK_BOT_TOKEN is not set", "copy the Bot User OAuth Token (xoxb-…) to .env")]
    found = [await installs(ctx)] if distributed else []
    return found + await _auth_with(ctx, client)


async def _auth_with(ctx: Context, client: AsyncWebClient) -> list[Finding]:
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        fix = "copy the Bot User OAuth Token from OAuth & Permissions again (reinstalling the app changes it)"
        return [failed("slack", f"auth.test refused the token: {exc.response.get('error')}", fix)]
    except Exception as exc:
        return [
            failed("slack", f"cannot reach {ctx.settings.slack_api_url}: {type(exc).__name__}", "check SLACK_API_URL")
        ]
    who = passed("slack", f"authenticated as @{identity.get('user')} in {identity.get('team')} ({identity.get('url')})")
    granted_header = identity.headers.get("x-oauth-scopes")
    if granted_header is None:
        return [who, warned("slack scopes", "Slack did not report the token's scopes", "compare with manifest.yml")]
    granted = {scope.strip() for scope in granted_header.split(",") if scope.strip()}
    missing = [scope for scope in BOT_SCOPES if scope not in granted]
    if missing:
        fix = "add them in OAuth & Permissions (manifest.yml lists them all), then reinstall the app to the workspace"
        return [who, failed("slack scopes", f"the token lacks {', '.join(missing)}", fix)]
    return [who, passed("slack scopes", f"all {len(BOT_SCOPES)} scopes the manifest asks for")]


async def channels(ctx: Context) -> list[Finding]:
    """The support triage channel (as stored by `/cs admin support-channel`, else SUPPORT_CHANNEL) and
    ADMIN_CHANNEL: the bot must be a member to read thread replies and to post in private channels."""
    support = ctx.settings.support_channel
    if ctx.engine is not None:
        try:
            async with ctx.engine.connect() as conn:
                support = await tickets_db.get_setting(conn, SUPPORT_CHANNEL_KEY) or support
        except SQLAlchemyError:
            pass  # an unmigrated database: the setting is the only source
    client = await _client(ctx)
    return [
        await _membership(client, "support channel", support, "SUPPORT_CHANNEL or `/cs admin support-channel`"),
        await _membership(client, "admin channel", ctx.settings.admin_channel, "ADMIN_CHANNEL"),
    ]


async def _membership(client: AsyncWebClient | None, check: str, channel: str | None, setting: str) -> Finding:
    if not channel:
        return skipped(check, f"{setting} not set")
    if client is None:
        return skipped(check, "no SLACK_BOT_TOKEN")
    try:
        info = (await client.conversations_info(channel=channel))["channel"]
    except SlackApiError as exc:
        error = exc.response.get("error")
        fix = f"check {setting} (a channel id like C0123ABCD); for a private channel, {INVITE}"
        return failed(check, f"conversations.info {channel}: {error}", fix)
    except Exception as exc:
        return failed(check, f"cannot ask Slack about {channel}: {type(exc).__name__}", "check SLACK_API_URL")
    name = f"#{info.get('name', channel)}"
    if info.get("is_archived"):
        return failed(check, f"{name} is archived", f"unarchive it or choose another channel ({setting})")
    if not info.get("is_member"):
        return failed(check, f"the bot is not a member of {name}", INVITE)
    return passed(check, f"the bot is a member of {name}")
