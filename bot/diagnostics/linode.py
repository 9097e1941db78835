"""Linode: the token the bot will use works, and has the scopes the bot's calls need."""

from __future__ import annotations

import aiohttp
from sqlalchemy.exc import SQLAlchemyError

from bot import crypto
from bot.db import servers as servers_db
from bot.diagnostics.findings import Context, Finding, failed, passed, skipped

#: What the bot does at Linode: create/boot/shut down/rebuild/resize/delete instances (linodes), set
#: reverse DNS (ips) and read StackScripts. Regions, types and images are public.
NEEDED_SCOPES = ("linodes:read_write", "ips:read_write", "stackscripts:read_only")
NEW_ACCESS_KEY_ADVICE = (
    "create a personal access token with Linodes and IPs read/write and StackScripts read-only "
    "(docs/linode-setup.md) and set LINODE_API_TOKEN"
)


async def _token(ctx: Context) -> tuple[str | None, str]:
    """The token the bot will use (LINODE_API_TOKEN, else the panel's provider row) and where it is from."""
    settings = ctx.settings
    if settings.linode_api_token is not None:
        return settings.linode_api_token.get_secret_value(), "LINODE_API_TOKEN"
    if ctx.engine is None:
        return None, "LINODE_API_TOKEN not set and no database to read the panel's provider from"
    try:
        async with ctx.engine.connect() as conn:
            stored = await servers_db.linode_provider_key(conn)
    except SQLAlchemyError as exc:
        return None, f"cannot read the panel's provider: {type(exc).__name__}"
    if not stored:
        return None, "LINODE_API_TOKEN not set and the panel has no active linode provider: VPS features are off"
    secret = settings.ssh_cred_secret.get_secret_value() if settings.ssh_cred_secret else None
    try:
        return crypto.decrypt_or_plaintext(stored, secret), "the panel's linode provider"
    except crypto.EnvelopeError:
        return None, "the panel's provider token does not open with SSH_CRED_SECRET (reported above)"


def granted(header: str | None) -> set[str]:
    """X-OAuth-Scopes as a set: `*` is everything; entries are separated by spaces or commas."""
    return {part for part in (header or "").replace(",", " ").split() if part}


def covers(scopes: set[str], needed: str) -> bool:
    area, _, level = needed.partition(":")
    return "*" in scopes or needed in scopes or (level == "read_only" and f"{area}:read_write" in scopes)


async def token(ctx: Context) -> Finding:
    value, source = await _token(ctx)
    if value is None:
        return skipped("linode", source)
    url = ctx.settings.linode_api_url.rstrip("/") + "/profile"
    try:
        async with ctx.http.get(url, headers={"Authorization": f"Bearer {value}"}) as response:
            body = await response.json(content_type=None) if response.status == 200 else {}
            scopes_header = response.headers.get("X-OAuth-Scopes")
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        return failed("linode", f"cannot reach {url}: {type(exc).__name__}", "check LINODE_API_URL and egress")
    if status in (401, 403):
        return failed(
            "linode",
            f"Linode refused the token from {source} (HTTP {status}: expired or revoked?)",
            NEW_ACCESS_KEY_ADVICE,
        )
    if status != 200:
        return failed("linode", f"GET /profile answered HTTP {status}", "try again; https://status.linode.com")
    missing = [scope for scope in NEEDED_SCOPES if not covers(granted(scopes_header), scope)]
    who = f"token from {source} (user {body.get('username', '?')})"
    if missing:
        return failed("linode", f"{who} lacks {', '.join(missing)}", NEW_ACCESS_KEY_ADVICE)
    return passed("linode", f"{who} has the scopes the bot needs")
