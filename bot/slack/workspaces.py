"""Building distributed mode from settings: the installations, Bolt's authorize and OAuth settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings, token_key_bytes
from bot.slack.authorize import WorkspaceAuthorize
from bot.slack.client import interactive_client
from bot.slack.installations import Installations, OAuthClient
from bot.slack.oauth import oauth_settings
from bot.slack.token_crypto import TokenCipher


@dataclass(frozen=True)
class Distributed:
    installations: Installations
    authorize: WorkspaceAuthorize
    oauth_settings: AsyncOAuthSettings


def not_installed(settings: Settings) -> str:
    """What a person in a workspace without the app (uninstalled, or its token unreadable) is told."""
    return (
        ":warning: ContainerStacks is not installed in this Slack workspace any more. A workspace admin "
        f"can add it again at {settings.public_url.rstrip('/')}/slack/install (links and channels come back)."
    )


def token_cipher(settings: Settings) -> TokenCipher:
    key = token_key_bytes(settings.slack_token_key.get_secret_value()) if settings.slack_token_key else None
    if key is None:
        raise RuntimeError("SLACK_TOKEN_KEY is required in distributed mode")
    return TokenCipher(key)


def installations_from(
    settings: Settings, engine: AsyncEngine, session: aiohttp.ClientSession | None, **tunables: float
) -> Installations:
    secret = settings.slack_client_secret.get_secret_value() if settings.slack_client_secret else ""
    oauth = OAuthClient(
        settings.slack_client_id or "", secret, interactive_client(None, settings.slack_api_url, session)
    )
    return Installations(
        engine,
        token_cipher(settings),
        oauth,
        rotate_before=timedelta(minutes=settings.slack_token_rotation_minutes),
        **tunables,  # type: ignore[arg-type]
    )


def distributed(settings: Settings, engine: AsyncEngine, session: aiohttp.ClientSession | None) -> Distributed:
    installations = installations_from(settings, engine, session)
    return Distributed(
        installations=installations,
        authorize=WorkspaceAuthorize(installations),
        oauth_settings=oauth_settings(settings, engine, installations),
    )
