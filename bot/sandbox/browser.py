"""The person's web browser in the sandbox: the account-link page and PayPal's checkout pages.

Everything goes over real HTTP: the bot's pages are fetched, the link form is submitted with its
CSRF token and cookie exactly as a browser would, and PayPal's Pay/Cancel buttons are the
emulator's own checkout endpoints, whose redirect is then followed back to the bot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

import aiohttp

from bot.services.linking import CSRF_COOKIE

_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "li", "br", "tr", "form", "section", "main", "title", "button"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head"}:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"}:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(body: str) -> str:
    """What a person reads on an HTML page: visible text, one block per line."""
    parser = _TextExtractor()
    parser.feed(body)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class Visit:
    url: str
    status: int
    text: str


class BrowserError(RuntimeError):
    """A page did not behave like the flow expects (the message says what the browser saw)."""


async def complete_link(url: str, email: str, password: str) -> Visit:
    """Open the link page, then submit it (confirmation ticked) with the CSRF token and cookie it handed out."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.get(url) as response:
            body = await response.text()
            morsel = response.cookies.get(CSRF_COOKIE)
            if response.status != 200:
                return Visit(url, response.status, page_text(body))
        match = _CSRF.search(body)
        if match is None:
            raise BrowserError("the link page has no sign-in form:\n" + page_text(body))
        headers = {"Cookie": f"{CSRF_COOKIE}={morsel.value}"} if morsel else {}
        form = {"csrf": match.group(1), "email": email, "password": password, "confirm": "yes"}
        async with session.post(url, data=form, headers=headers) as response:
            return Visit(url, response.status, page_text(await response.text()))


async def paypal_checkout(paypal_base_url: str, order_id: str, action: str) -> Visit:
    """Press Pay now (``approve``) or Cancel on PayPal's page; follow the redirect to the bot."""
    async with aiohttp.ClientSession() as session:
        checkout = f"{paypal_base_url}/checkoutnow/{action}?token={order_id}"
        async with session.post(checkout, allow_redirects=False) as response:
            if response.status != 303:
                return Visit(checkout, response.status, page_text(await response.text()))
            target = response.headers["Location"]
        async with session.get(target) as response:
            return Visit(str(response.url), response.status, page_text(await response.text()))


async def install_app(bot_url: str, approve: Callable[[str], str]) -> Visit:
    """ "Add to Slack": open the bot's install link, let ``approve`` press Allow on Slack's consent page
    (it returns Slack's redirect), and follow that back to the bot with the state cookie."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.get(f"{bot_url}/slack/install", allow_redirects=False) as response:
            if response.status != 302:
                return Visit(f"{bot_url}/slack/install", response.status, page_text(await response.text()))
            authorize, cookie = response.headers["Location"], response.headers.get("Set-Cookie", "")
        redirect = approve(authorize)
        headers = {"Cookie": cookie.split(";")[0]} if cookie else {}
        async with session.get(redirect, headers=headers, allow_redirects=False) as response:
            return Visit(redirect.split("?")[0], response.status, page_text(await response.text()))
