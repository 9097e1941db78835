"""`POST /webhooks/paypal`: raw bytes in, verified and stored before the 200 (processing is async)."""

from __future__ import annotations

from aiohttp import web

from bot.app_keys import METRICS, SERVICES
from bot.services.paypal_webhooks import Receipt, receive

ANSWERS = {
    Receipt.STORED: {"status": "received"},
    Receipt.DUPLICATE: {"status": "received"},
    Receipt.INVALID: {"status": "rejected"},
    Receipt.UNAVAILABLE: {"status": "unavailable"},
}


async def paypal_webhook(request: web.Request) -> web.Response:
    body = await request.read()  # the exact bytes PayPal signed; never re-encoded
    receipt = await receive(request.app[SERVICES], request.headers, body, remote=request.remote)
    request.app[METRICS].paypal_webhooks.labels(result=receipt.name.lower()).inc()
    return web.json_response(ANSWERS[receipt], status=receipt.value)
