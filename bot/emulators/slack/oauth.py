"""The app's OAuth v2 credentials, its consent screen and the one-time codes it hands out.

``/oauth/v2/authorize`` is read as Slack reads it: an unknown ``client_id`` or a ``redirect_uri``
outside the app's registered redirect URLs is an error page (HTTP 400), never a redirect. Approving
issues a code valid once for 10 minutes; ``oauth.v2.access`` must then name the same
``redirect_uri`` the authorize request did (``bad_redirect_uri`` otherwise).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from bot.emulators.slack.errors import SlackError
from bot.emulators.slack.state import Clock

CODE_TTL_SECONDS = 600.0


class ConsentError(Exception):
    """The authorize request is one Slack shows an error page for (no redirect happens)."""

    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


@dataclass(frozen=True)
class AuthorizeRequest:
    scopes: tuple[str, ...]
    user_scopes: tuple[str, ...]
    redirect_uri: str
    """Where the browser goes back to: the one sent, else the app's first registered URL."""
    sent_redirect_uri: str | None
    state: str
    team: str | None


@dataclass
class AuthCode:
    code: str
    request: AuthorizeRequest
    team_id: str
    enterprise_id: str | None
    enterprise_install: bool
    user_id: str
    issued_at: float
    used: bool = False


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def with_query(url: str, **params: str) -> str:
    joiner = "&" if urlsplit(url).query else "?"
    return url + joiner + urlencode(params)


class OAuthApp:
    """Client credentials, registered redirect URLs and the codes of pending installs."""

    def __init__(self, client_id: str, client_secret: str, redirect_urls: Iterable[str], clock: Clock) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_urls = list(redirect_urls)
        self._clock = clock
        self._codes: dict[str, AuthCode] = {}

    # --- the consent screen ------------------------------------------------------------------

    def read_authorize(self, url_or_query: str | Mapping[str, str]) -> AuthorizeRequest:
        """The authorize request in a URL (or its parsed query), checked as Slack checks it."""
        if isinstance(url_or_query, str):
            query = dict(parse_qsl(urlsplit(url_or_query).query, keep_blank_values=True))
        else:
            query = dict(url_or_query)
        if query.get("client_id") != self.client_id:
            raise ConsentError("invalid_client_id")
        sent = query.get("redirect_uri") or None
        if sent is not None and self.redirect_urls and not any(sent.startswith(u) for u in self.redirect_urls):
            raise ConsentError("bad_redirect_uri")
        redirect_uri = sent or (self.redirect_urls[0] if self.redirect_urls else None)
        if redirect_uri is None:
            raise ConsentError("no_redirect_uri")
        scopes, user_scopes = _split(query.get("scope")), _split(query.get("user_scope"))
        if not scopes and not user_scopes:
            raise ConsentError("invalid_scope")
        return AuthorizeRequest(scopes, user_scopes, redirect_uri, sent, query.get("state", ""), query.get("team"))

    def approve(
        self,
        request: AuthorizeRequest,
        *,
        team_id: str,
        enterprise_id: str | None,
        enterprise_install: bool,
        user_id: str,
    ) -> str:
        """The redirect after the user pressed Allow: ``redirect_uri?code=…&state=…``."""
        code = f"{secrets.randbelow(10**12)}.{secrets.randbelow(10**12)}.{secrets.token_hex(32)}"
        self._codes[code] = AuthCode(code, request, team_id, enterprise_id, enterprise_install, user_id, self._clock())
        return with_query(request.redirect_uri, code=code, state=request.state)

    @staticmethod
    def deny(request: AuthorizeRequest) -> str:
        return with_query(request.redirect_uri, error="access_denied", state=request.state)

    # --- oauth.v2.access -----------------------------------------------------------------------

    def check_client(self, args: Mapping[str, object], authorization: str) -> None:
        """Client credentials by HTTP Basic auth or as form fields."""
        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization.removeprefix("Basic ").strip()).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id:
            raise SlackError("invalid_client_id")
        if not secrets.compare_digest(str(client_secret or ""), self.client_secret):
            raise SlackError("bad_client_secret")

    def redeem(self, code: str, redirect_uri: str | None) -> AuthCode:
        """Spend a code: unknown, used or older than 10 minutes → ``invalid_code``."""
        found = self._codes.get(code)
        if found is None or found.used or self._clock() - found.issued_at > CODE_TTL_SECONDS:
            raise SlackError("invalid_code")
        if found.request.sent_redirect_uri is not None and redirect_uri != found.request.sent_redirect_uri:
            raise SlackError("bad_redirect_uri")
        found.used = True
        return found
