"""Account-link tokens: HMAC-signed with BOT_SECRET, bound to one Slack user, valid 15 minutes,
usable once (the nonce is recorded and consumed with a conditional update)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import link_tokens as tokens_db
from bot.errors import UserError
from bot.services.identity import SlackRef

TOKEN_LIFETIME = timedelta(minutes=15)
_VERSION = 1
#: Slack's team, user and enterprise ids: capital letters and digits, about a dozen characters. The
#: bot's tables store them in VARCHAR(32), so anything else is refused before it is written.
_SLACK_ID = re.compile(r"[A-Z0-9]{1,32}")


class SlackIdsInvalid(UserError):
    """Your Slack workspace or user id is not in Slack's format, so it cannot be linked. Nothing was changed."""


def check_slack_ids(slack: SlackRef) -> None:
    """Refuse ids Slack would never send (checked where requests arrive, and again before a write)."""
    ids = (slack.team_id, slack.user_id, *((slack.enterprise_id,) if slack.enterprise_id else ()))
    if not all(_SLACK_ID.fullmatch(value) for value in ids):
        raise SlackIdsInvalid


class LinkTokenInvalid(UserError):
    """This link is not valid. Run the link command in Slack again to get a fresh one."""


class LinkTokenExpired(UserError):
    """This link has expired (links are valid for 15 minutes). Run the link command in Slack again."""


class LinkTokenUsed(UserError):
    """This link has already been used. Run the link command in Slack again if you need a new one."""


@dataclass(frozen=True)
class LinkClaims:
    nonce: str
    slack: SlackRef
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _mac(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), b"link-token|" + payload.encode(), hashlib.sha256).digest())


def sign_token(secret: str, claims: LinkClaims) -> str:
    payload = _b64(
        json.dumps(
            {
                "v": _VERSION,
                "n": claims.nonce,
                "e": claims.slack.enterprise_id,
                "t": claims.slack.team_id,
                "u": claims.slack.user_id,
                "x": int(claims.expires_at.timestamp()),
            },
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{_mac(secret, payload)}"


def verify_token(secret: str, token: str, now: datetime) -> LinkClaims:
    """Check the signature and expiry (not single use: that needs the database)."""
    payload, _, mac = token.partition(".")
    if not payload or not mac or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise LinkTokenInvalid
    try:
        data = json.loads(_unb64(payload))
        claims = LinkClaims(
            nonce=str(data["n"]),
            slack=SlackRef(enterprise_id=str(data["e"]), team_id=str(data["t"]), user_id=str(data["u"])),
            expires_at=datetime.fromtimestamp(int(data["x"]), UTC),
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise LinkTokenInvalid from exc
    if data.get("v") != _VERSION:
        raise LinkTokenInvalid
    if now >= claims.expires_at:
        raise LinkTokenExpired
    return claims


async def issue_token(conn: AsyncConnection, secret: str, slack: SlackRef, now: datetime) -> str:
    check_slack_ids(slack)
    claims = LinkClaims(nonce=secrets.token_urlsafe(24), slack=slack, expires_at=now + TOKEN_LIFETIME)
    await tokens_db.remember(
        conn,
        nonce=claims.nonce,
        enterprise_id=slack.enterprise_id,
        team_id=slack.team_id,
        slack_user_id=slack.user_id,
        expires_at=claims.expires_at,
    )
    await tokens_db.prune(conn)
    return sign_token(secret, claims)


async def link_url(engine: AsyncEngine, secret: str, public_url: str, slack: SlackRef) -> str:
    """A fresh single-use link-page URL for this Slack user."""
    async with engine.begin() as conn:
        token = await issue_token(conn, secret, slack, datetime.now(UTC))
    return f"{public_url.rstrip('/')}/link/{token}"


async def ensure_unused(conn: AsyncConnection, claims: LinkClaims) -> None:
    """Refuse a token whose nonce we never issued or that was already used."""
    state = await tokens_db.state(conn, claims.nonce)
    if state is None:
        raise LinkTokenInvalid
    if state.used:
        raise LinkTokenUsed


async def consume(conn: AsyncConnection, claims: LinkClaims) -> None:
    """Mark the token used inside the linking transaction; a concurrent second use fails here."""
    if not await tokens_db.consume(conn, claims.nonce):
        raise LinkTokenUsed
