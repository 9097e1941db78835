"""`POST /slack/events`: every Slack request (commands, interactivity, options, events) into Bolt."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.app_keys import BOLT


async def slack_events(request: web.Request) -> web.Response:
    """Bolt verifies the signature over the raw body, acks within 3 s and runs listeners after."""
    bolt_request = await to_bolt_request(request)
    bolt_response = await request.app[BOLT].async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)
