"""`GET /slack/install` and `GET /slack/oauth_redirect` (distributed mode): Bolt's OAuth flow.

"Add to Slack" starts at the first (a state cookie, then Slack's consent page); Slack sends the
browser back to the second with a code and the state. Single-workspace mode answers 404.
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.app_keys import BOLT, INSTALLATIONS

NOT_DISTRIBUTED = "This bot serves one Slack workspace; there is nothing to install here.\n"


def _request(request: web.Request) -> AsyncBoltRequest:
    return AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))


async def slack_install(request: web.Request) -> web.StreamResponse:
    flow = request.app[BOLT].oauth_flow
    if INSTALLATIONS not in request.app or flow is None:
        return web.Response(status=404, text=NOT_DISTRIBUTED)
    return await to_aiohttp_response(await flow.handle_installation(_request(request)))


async def slack_oauth_redirect(request: web.Request) -> web.StreamResponse:
    flow = request.app[BOLT].oauth_flow
    if INSTALLATIONS not in request.app or flow is None:
        return web.Response(status=404, text=NOT_DISTRIBUTED)
    return await to_aiohttp_response(await flow.handle_callback(_request(request)))
