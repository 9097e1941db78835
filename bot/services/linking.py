"""Account linking: a Slack user proves who they are in ContainerStacks (password on the link page,
or a personal API key in a modal) and the bot remembers it.

Domain rules only: plain arguments in, plain results or `UserError`s out. A link is one
transaction: token consumed, identity stored, pending invites accepted, activity written and the
confirmation DM queued, so either all of it happens or none of it does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import bcrypt
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import identities as identities_db
from bot.db import outbox as outbox_db
from bot.db import users as users_db
from bot.db.users import UserRow
from bot.errors import UserError
from bot.panel_passwords import is_known_default
from bot.services import audit, link_tokens, login_throttle
from bot.services.identity import SlackRef
from bot.services.invites import accept_pending_invites
from bot.services.link_tokens import LinkClaims

#: Checked when the email is unknown, so a miss costs as much as a wrong password (cost 12, like
#: the panel's hashes); it is the hash of a random string nobody knows.
DUMMY_PASSWORD_HASH = b"$2b$12$0tadx9JJ3FMcseNiPoIg2uEabcwRJuK.t2sybtsuYLhrkVEWRajKi"
#: bcrypt only reads this many bytes; bcryptjs (the panel) silently truncates, bcrypt 5 refuses.
BCRYPT_MAX_BYTES = 72
CSRF_COOKIE = "csbot_csrf"
_CSRF_COOKIE_MAX = 128
_CSRF_DOMAIN = b"link-csrf|"


class CsrfRejected(UserError):
    """This form could not be verified (it is stale or was not sent from the link page), so nothing
    was changed. Open the link from Slack again and sign in on that page."""


class MissingCredentials(UserError):
    """Enter your ContainerStacks email and password."""


class NotConfirmed(UserError):
    """Tick the box to confirm that this Slack user may act as your ContainerStacks account."""


class BadCredentials(UserError):
    """That email and password don't match an account."""


class DefaultPasswordRefused(UserError):
    """A published default password proves nothing about who is signing in."""

    def __init__(self) -> None:
        super().__init__(
            "This account still has a published default password, so nothing was linked: "
            "change this password in the panel first, then sign in here again."
        )


class BadApiKey(UserError):
    """That key doesn't match an active ContainerStacks API key. Check that you copied the whole key,
    or create a new one in the panel."""


@dataclass(frozen=True)
class SlackNames:
    """The linked Slack user and workspace as the account's owner will recognise them."""

    user: str  # "@name" (or the user id)
    workspace: str  # the workspace's name (or domain, or id)


#: The panel pushes notifications live only for a few event types (its notify trigger); a sign-in is one.
LINK_NOTICE_EVENT = "auth.login"
LINK_NOTICE = (
    "Slack user {user} in workspace {workspace} was linked to your account and can now act as you from Slack"
    " ({via}). If this was not you, change your password and contact support."
)


@dataclass(frozen=True)
class LinkedAccount:
    """The result of a successful link."""

    slack: SlackRef
    user_id: uuid.UUID
    name: str
    email: str
    method: str  # 'password' or 'api_key'
    joined: tuple[tuple[str, str], ...]  # (organisation, role) newly joined from invites


#: Renders the confirmation DM queued with a link (Block Kit lives in `bot.rendering`, not here).
ConfirmationMessage = Callable[[LinkedAccount], dict[str, Any]]


@dataclass(frozen=True)
class LinkStatus:
    user_id: uuid.UUID
    name: str
    email: str
    linked_via: str


# -- the link page: token and CSRF ----------------------------------------------------------------


async def open_link_page(engine: AsyncEngine, secret: str, token: str, now: datetime | None = None) -> LinkClaims:
    """The token's claims if the page may be shown: signed, unexpired, issued by us and unused."""
    claims = link_tokens.verify_token(secret, token, now or datetime.now(UTC))
    async with engine.connect() as conn:
        await link_tokens.ensure_unused(conn, claims)
    return claims


def new_csrf_cookie(existing: str | None = None) -> str:
    """Keep a well-formed cookie (other open link tabs stay valid), else make a new random one."""
    if existing and 32 <= len(existing) <= _CSRF_COOKIE_MAX and existing.isascii() and existing.isprintable():
        return existing
    return secrets.token_urlsafe(32)


def csrf_token(secret: str, nonce: str, cookie: str) -> str:
    """The form's hidden value: bound to this link (nonce) and this browser (cookie)."""
    mac = hmac.new(secret.encode(), _CSRF_DOMAIN + nonce.encode() + b"|" + cookie.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def check_csrf(secret: str, nonce: str, cookie: str | None, submitted: str | None) -> None:
    """Double-submit check: the cookie and the hidden field must both be there and agree."""
    if not cookie or not submitted or len(cookie) > _CSRF_COOKIE_MAX:
        raise CsrfRejected
    if not hmac.compare_digest(submitted.encode(), csrf_token(secret, nonce, cookie).encode()):
        raise CsrfRejected


# -- credentials ------------------------------------------------------------------------------------


async def password_matches(password: str, password_hash: str | None) -> bool:
    """bcrypt ($2a$/$2b$) in a worker thread; with no hash, a dummy check so timing reveals nothing."""
    candidate = password.encode()[:BCRYPT_MAX_BYTES]
    stored = password_hash.encode() if password_hash else DUMMY_PASSWORD_HASH

    def check() -> bool:
        try:
            return bcrypt.checkpw(candidate, stored)
        except ValueError:  # not a bcrypt hash: such an account cannot sign in with a password
            bcrypt.checkpw(candidate, DUMMY_PASSWORD_HASH)
            return False

    matched = await asyncio.to_thread(check)
    return matched and password_hash is not None


def api_key_hash(key: str) -> str:
    """How the panel stores keys: plain base64 (standard alphabet, padded) of the whole key."""
    return base64.b64encode(key.encode()).decode()


# -- linking ----------------------------------------------------------------------------------------


async def check_link_form(
    engine: AsyncEngine,
    *,
    secret: str,
    token: str,
    csrf_cookie: str | None,
    csrf_submitted: str | None,
    now: datetime | None = None,
) -> LinkClaims:
    """The link page's POST, before anything else: a valid unused token and a matching CSRF pair."""
    claims = link_tokens.verify_token(secret, token, now or datetime.now(UTC))
    check_csrf(secret, claims.nonce, csrf_cookie, csrf_submitted)
    async with engine.connect() as conn:
        await link_tokens.ensure_unused(conn, claims)
    return claims


async def link_with_password(
    engine: AsyncEngine,
    claims: LinkClaims,
    *,
    email: str,
    password: str,
    confirmed: bool,
    names: SlackNames,
    client_ip: str | None,
    confirmation: ConfirmationMessage,
) -> LinkedAccount:
    """A checked form (`check_link_form`): the explicit confirmation, throttle, password, then the one
    linking transaction (which consumes the token, so a second use fails there)."""
    email = email.strip()
    if not email or not password:
        raise MissingCredentials
    if not confirmed:
        raise NotConfirmed
    limits = (login_throttle.email_limit(email), login_throttle.ip_limit(client_ip))
    await login_throttle.charge(engine, limits)
    async with engine.connect() as conn:
        user = await users_db.find_by_email(conn, email)
    if not await password_matches(password, user.password_hash if user else None) or user is None:
        raise BadCredentials
    if is_known_default(password):  # whoever read the panel's docs could link it: not a proof of anything
        await _record_default_password_refusal(engine, claims.slack, user)
        raise DefaultPasswordRefused
    await login_throttle.succeeded(engine, clear=limits[:1], refund=limits[1:])
    return await _complete_link(
        engine, claims.slack, user, "password", names=names, confirmation=confirmation, claims=claims
    )


async def _record_default_password_refusal(engine: AsyncEngine, slack: SlackRef, user: UserRow) -> None:
    async with engine.begin() as conn:
        await audit.record(
            conn,
            user_id=user.id,
            slack=slack,
            event_type="slack.link_refused",
            entity_type="user",
            entity_id=str(user.id),
            status="warning",
            message=f"Refused to link Slack account {slack.user_id}: this account still has a default password",
            metadata={"reason": "default_password"},
        )


async def link_with_api_key(
    engine: AsyncEngine, slack: SlackRef, key: str, *, names: SlackNames, confirmation: ConfirmationMessage
) -> LinkedAccount:
    """The API-key modal: active, unexpired key whose base64 equals `key_hash`, throttled per Slack user."""
    key = key.strip()
    if not key:
        raise BadApiKey
    limit = login_throttle.slack_limit(slack)
    await login_throttle.charge(engine, [limit])
    presented = api_key_hash(key)
    async with engine.connect() as conn:
        found = await users_db.find_active_api_key(conn, presented)
    if found is None or not hmac.compare_digest(found.key_hash.encode(), presented.encode()):
        raise BadApiKey
    await login_throttle.succeeded(engine, clear=[limit])
    return await _complete_link(engine, slack, found.user, "api_key", names=names, confirmation=confirmation)


async def _complete_link(
    engine: AsyncEngine,
    slack: SlackRef,
    user: UserRow,
    method: str,
    *,
    names: SlackNames,
    confirmation: ConfirmationMessage,
    claims: LinkClaims | None = None,
) -> LinkedAccount:
    async with engine.begin() as conn:
        if claims is not None:
            await link_tokens.consume(conn, claims)  # a concurrent second use of the token stops here
        previous = await identities_db.get_identity(conn, slack.enterprise_id, slack.team_id, slack.user_id)
        await identities_db.link_identity(
            conn,
            enterprise_id=slack.enterprise_id,
            team_id=slack.team_id,
            slack_user_id=slack.user_id,
            user_id=user.id,
            linked_via=method,
        )
        accepted = await accept_pending_invites(conn, slack, user.id)
        joined = tuple((invite.organization_name, invite.role) for invite in accepted if invite.added)
        metadata: dict[str, str] = {"method": method}
        if previous is not None and previous.user_id != user.id:
            metadata["previous_user_id"] = str(previous.user_id)
        via = "API key" if method == "api_key" else "password"
        await audit.record(
            conn,
            user_id=user.id,
            slack=slack,
            event_type="slack.link",
            entity_type="user",
            entity_id=str(user.id),
            message=f"Linked Slack account {slack.user_id} ({via})",
            metadata=metadata,
            is_read=True,  # the notice below is what the owner is shown; this row is the audit trail
        )
        await _notify_owner(conn, slack, user, names, via=via, method=method)
        account = LinkedAccount(slack, user.id, user.name, user.email, method, joined)
        await outbox_db.enqueue(conn, slack.user_id, confirmation(account))  # a user id as channel: a DM
    return account


async def _notify_owner(
    conn: AsyncConnection, slack: SlackRef, user: UserRow, names: SlackNames, *, via: str, method: str
) -> None:
    """Tell the panel account's owner, in the panel's notifications, which Slack user now acts as them."""
    await audit.record(
        conn,
        user_id=user.id,
        slack=slack,
        event_type=LINK_NOTICE_EVENT,
        entity_type="user",
        entity_id=str(user.id),
        status="warning",
        message=LINK_NOTICE.format(user=names.user, workspace=names.workspace, via=via),
        metadata={
            "email": user.email,
            "method": method,
            "slack_user_name": names.user,
            "slack_workspace": names.workspace,
        },
    )


# -- status and unlinking ---------------------------------------------------------------------------


async def link_status(engine: AsyncEngine, slack: SlackRef) -> LinkStatus | None:
    async with engine.connect() as conn:
        identity = await identities_db.get_identity(conn, slack.enterprise_id, slack.team_id, slack.user_id)
    return _status(identity)


async def unlink(engine: AsyncEngine, slack: SlackRef, channel_id: str | None = None) -> LinkStatus | None:
    """Forget this Slack identity's link (with an activity row); None if it was not linked."""
    async with engine.begin() as conn:
        identity = await identities_db.get_identity(conn, slack.enterprise_id, slack.team_id, slack.user_id)
        removed = await identities_db.unlink_identity(conn, slack.enterprise_id, slack.team_id, slack.user_id)
        if identity is None or removed is None:
            return None
        await audit.record(
            conn,
            user_id=removed,
            slack=slack,
            event_type="slack.unlink",
            entity_type="user",
            entity_id=str(removed),
            message=f"Unlinked Slack account {slack.user_id}",
            channel_id=channel_id,
        )
    return _status(identity)


def _status(identity: identities_db.IdentityRow | None) -> LinkStatus | None:
    if identity is None:
        return None
    return LinkStatus(identity.user_id, identity.name, identity.email, identity.linked_via)
