"""`GET|POST /link/{token}`: the browser page where a Slack user signs in to link their account.

Thin by design: parse the request, call `bot.services.linking`, render `bot.rendering.pages`.
The client IP for throttling is the TCP peer (`request.remote`); `X-Forwarded-For` is not trusted.
The token in the path is a bearer secret, so it is never logged.
"""

from __future__ import annotations

import functools
import logging
import math

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bot.app_keys import BOLT, INSTALLATIONS, SERVICES
from bot.errors import UserError
from bot.rendering.identity import render_linked_dm
from bot.rendering.pages import CONTENT_SECURITY_POLICY, render_link_form, render_link_success, render_message
from bot.services import linking
from bot.services.identity import SlackRef
from bot.services.link_tokens import LinkTokenExpired, LinkTokenInvalid, LinkTokenUsed
from bot.services.login_throttle import TooManyAttempts
from bot.slack.client import with_token
from bot.slack.home import refresh_home
from bot.slack.profiles import LinkSubject, link_subject

log = logging.getLogger(__name__)

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
FORM_ERRORS = (
    linking.BadCredentials,
    linking.MissingCredentials,
    linking.NotConfirmed,
    linking.DefaultPasswordRefused,
)
FORM_ERROR_STATUS: dict[type[UserError], int] = {linking.BadCredentials: 401, linking.DefaultPasswordRefused: 403}
NOT_CONFIGURED = "Account linking is not configured on this bot (BOT_SECRET is unset)."


async def link_page(request: web.Request) -> web.Response:
    """Show the sign-in form naming the Slack user being linked (email pre-filled only with their own)."""
    services = request.app[SERVICES]
    secret = _secret(request)
    if secret is None:
        return _page(render_message("Linking unavailable", NOT_CONFIGURED), 503)
    try:
        claims = await linking.open_link_page(services.engine, secret, request.match_info["token"])
    except UserError as refusal:
        return _refusal(refusal)
    cookie = linking.new_csrf_cookie(request.cookies.get(linking.CSRF_COOKIE))
    subject = await link_subject(await _slack_client(request, claims.slack), claims.slack)
    csrf = linking.csrf_token(secret, claims.nonce, cookie)
    response = _page(_form(subject, email=subject.email, csrf=csrf))
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
        claims = await linking.check_link_form(
            services.engine,
            secret=secret,
            token=request.match_info["token"],
            csrf_cookie=request.cookies.get(linking.CSRF_COOKIE),
            csrf_submitted=csrf or None,
        )
    except UserError as refusal:
        return _refusal(refusal)
    client = await _slack_client(request, claims.slack)
    subject = await link_subject(client, claims.slack)
    try:
        account = await linking.link_with_password(
            services.engine,
            claims,
            email=email,
            password=password,
            confirmed=form.get("confirm") == "yes",
            names=linking.SlackNames(subject.user, subject.workspace),
            client_ip=request.remote,
            confirmation=functools.partial(render_linked_dm, command=services.settings.slack_command),
        )
    except FORM_ERRORS as refusal:
        status = FORM_ERROR_STATUS.get(type(refusal), 400)
        return _page(_form(subject, email=email, csrf=csrf, error=refusal.message), status)
    except UserError as refusal:
        return _refusal(refusal)
    log.info("link.linked", extra={"slack_user": account.slack.user_id, "method": account.method})
    await refresh_home(services, client, account.slack)
    success = render_link_success(
        account.name, account.email, account.joined, slack_user=subject.user, workspace=subject.workspace
    )
    return _page(success)


async def _slack_client(request: web.Request, slack: SlackRef) -> AsyncWebClient:
    """The bot's client in the linked user's workspace (in distributed mode, that workspace's token)."""
    configured = request.app[BOLT].client
    if INSTALLATIONS not in request.app:
        return configured
    bot = await request.app[INSTALLATIONS].bot_for(slack.enterprise_id or None, slack.team_id)
    return with_token(configured, bot.bot_token if bot else None)


def _secret(request: web.Request) -> str | None:
    secret = request.app[SERVICES].settings.bot_secret
    return secret.get_secret_value() if secret is not None else None


def _form(subject: LinkSubject, *, email: str, csrf: str, error: str | None = None) -> str:
    return render_link_form(
        slack_user=subject.user, workspace=subject.workspace, email=email, csrf_token=csrf, error=error
    )


def _refusal(refusal: UserError) -> web.Response:
    status, title = REFUSALS.get(type(refusal), (400, "Something is not right"))
    log.info("link.refused", extra={"reason": type(refusal).__name__, "status": status})
    response = _page(render_message(title, refusal.message), status)
    if isinstance(refusal, TooManyAttempts):
        response.headers["Retry-After"] = str(math.ceil(refusal.retry_after.total_seconds()))
    return response


def _page(html: str, status: int = 200) -> web.Response:
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)
