"""`GET /paypal/return` and `GET /paypal/cancel`: where PayPal sends the payer's browser back.

Thin by design: read `ref` and `token` from the query, call `bot.services.topup_pages`, render
`bot.rendering.payment_pages`. Status codes: 200 for a page about one of our top-ups, 404 with the
generic page when `ref`/`token` do not prove the top-up (nothing is revealed), 503 when payments are
not configured, 500 with the generic page if something unexpected fails. `ref` is never logged.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.app_keys import SERVICES
from bot.rendering.pages import CONTENT_SECURITY_POLICY
from bot.rendering.payment_pages import render_generic, render_topup_page
from bot.services import topup_pages
from bot.services.topup_pages import PageKind, TopupPage

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
}
STATUS = {PageKind.UNKNOWN: 404, PageKind.UNAVAILABLE: 503}


async def paypal_return(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        page = await topup_pages.handle_return(
            services.engine,
            services.paypal,
            services.settings,
            ref=_param(request, "ref"),
            token=_param(request, "token"),
        )
    except Exception:
        log.exception("paypal_return.failed")
        return _html(render_generic(), 500)
    return _page(request, page)


async def paypal_cancel(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        page = await topup_pages.handle_cancel(
            services.engine, services.settings, ref=_param(request, "ref"), token=_param(request, "token")
        )
    except Exception:
        log.exception("paypal_cancel.failed")
        return _html(render_generic(), 500)
    return _page(request, page)


def _param(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    return value if value and len(value) <= 256 else None


def _page(request: web.Request, page: TopupPage) -> web.Response:
    command = request.app[SERVICES].settings.slack_command
    return _html(render_topup_page(page, command=command), STATUS.get(page.kind, 200))


def _html(html: str, status: int) -> web.Response:
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS)
