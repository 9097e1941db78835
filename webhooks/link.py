"""`GET|POST /link/{token}`: the browser page where a Slack user signs in to link their account.

Thin by design: parse the request, call `bot.services.linking`, render `bot.rendering.pages`.
The client IP for throttling is the TCP peer (`request.remote`); `X-Forwarded-For` is not trusted.
The token in the path is a bearer secret, so it is never logged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app_keys import BOLT, SERVICES
from bot.errors import UserError
from bot.rendering.identity import render_linked_dm
from bot.rendering.pages import CONTENT_SECURITY_POLICY, render_link_form, render_link_success, render_message
from bot.services import linking
from bot.services.link_tokens import LinkTokenExpired, LinkTokenInvalid, LinkTokenUsed
from bot.services.login_throttle import TooManyAttempts
from bot.slack.home import refresh_home

log = logging.getLogger(__name__)

#: users.info only pre-fills the email field; the page never waits long for it.
PROFILE_LOOKUP_SECONDS = 2.0
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
}
#: Refusals that end the flow: HTTP status and page title.
REFUSALS: dict[type[UserError], tuple[int, str]] = {
    LinkTokenInvalid: (400, "This link is not valid"),
    LinkTokenExpired: (410, "This link has expired"),
    LinkTokenUsed: (410, "This link was already used"),
    linking.CsrfRejected: (403, "Form not accepted"),
    TooManyAttempts: (429, "Too many attempts"),
}
#: Refusals that re-show the form (the link stays usable): their HTTP status, 400 unless listed.
FORM_ERRORS = (linking.BadCredentials, linking.MissingCredentials, linking.DefaultPasswordRefused)
FORM_ERROR_STATUS: dict[type[UserError], int] = {linking.BadCredentials: 401, linking.DefaultPasswordRefused: 403}
NOT_CONFIGURED = "Account linking is not configured on this bot (BOT_SECRET is unset)."


async def link_page(request: web.Request) -> web.Response:
    """Show the sign-in form (email pre-filled from the Slack profile when we can read it)."""
    services = request.app[SERVICES]
    secret = _secret(request)
    if secret is None:
        return _page(render_message("Linking unavailable", NOT_CONFIGURED), 503)
    try:
        claims = await linking.open_link_page(services.engine, secret, request.match_info["token"])
    except UserError as refusal:
        return _refusal(refusal)
    cookie = linking.new_csrf_cookie(request.cookies.get(linking.CSRF_COOKIE))
    email = await _profile_email(request.app[BOLT].client, claims.slack.user_id)
    response = _page(render_link_form(email=email, csrf_token=linking.csrf_token(secret, claims.nonce, cookie)))
    secure = services.settings.public_url.startswith("https://")
    response.set_cookie(linking.CSRF_COOKIE, cookie, path="/link", httponly=True, samesite="Strict", secure=secure)
    return response


async def submit_link(request: web.Request) -> web.Response:
    """Check the form and link; wrong credentials re-show the form (email kept, password not)."""
    services = request.app[SERVICES]
    secret = _secret(request)
    if secret is None:
        return _page(render_message("Linking unavailable", NOT_CONFIGURED), 503)
    try:
        form = await request.post()
    except (ValueError, IndexError):  # the stdlib's Content-Type parser raises IndexError on some values
        return _page(render_message("Not a form", "That request was not a form submission."), 400)
    email, password, csrf = (str(form.get(name) or "") for name in ("email", "password", "csrf"))
    try:
        account = await linking.link_with_password(
            services.engine,
            secret=secret,
            token=request.match_info["token"],
            csrf_cookie=request.cookies.get(linking.CSRF_COOKIE),
            csrf_submitted=csrf or None,
            email=email,
            password=password,
            client_ip=request.remote,
            confirmation=functools.partial(render_linked_dm, command=services.settings.slack_command),
        )
    except FORM_ERRORS as refusal:
        status = FORM_ERROR_STATUS.get(type(refusal), 400)
        return _page(render_link_form(email=email, csrf_token=csrf, error=refusal.message), status)
    except UserError as refusal:
        return _refusal(refusal)
    log.info("link.linked", extra={"slack_user": account.slack.user_id, "method": account.method})
    await refresh_home(services, request.app[BOLT].client, account.slack)
    return _page(render_link_success(account.name, account.email, account.joined))


def _secret(request: web.Request) -> str | None:
    secret = request.app[SERVICES].settings.bot_secret
    return secret.get_secret_value() if secret is not None else None


async def _profile_email(client: AsyncWebClient, slack_user_id: str) -> str:
    """The Slack profile email (users:read.email) as a suggestion only; '' when unavailable."""
    try:
        async with asyncio.timeout(PROFILE_LOOKUP_SECONDS):
            response = await client.users_info(user=slack_user_id)
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        log.info("link.profile_email_unavailable", extra={"error": type(exc).__name__})
        return ""
    email = ((response.get("user") or {}).get("profile") or {}).get("email")
    return email if isinstance(email, str) else ""


def _refusal(refusal: UserError) -> web.Response:
    status, title = REFUSALS.get(type(refusal), (400, "Something is not right"))
    log.info("link.refused", extra={"reason": type(refusal).__name__, "status": status})
    response = _page(render_message(title, refusal.message), status)
    if isinstance(refusal, TooManyAttempts):
        response.headers["Retry-After"] = str(math.ceil(refusal.retry_after.total_seconds()))
    return response


def _page(html: str, status: int = 200) -> web.Response:
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)
