"""HTTP wire details of Slack's Web API that the emulator must reproduce for real clients.

slack-sdk sends JSON for some methods, query strings for others and forms from other clients;
throttled answers need an integer ``Retry-After``; a dropped connection must look like one.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, NoReturn

from aiohttp import web

from bot.emulators.slack.errors import SlackError

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_args(request: web.Request) -> dict[str, Any]:
    """Query string, form and JSON body merged, as Slack accepts any of them."""
    args: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return args
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(body, dict):
            raise SlackError("invalid_json")
        args.update(body)
    elif request.content_type in _FORM_TYPES:
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    return args


def retry_after_header(seconds: float | None) -> dict[str, str]:
    return {"Retry-After": str(max(0, math.ceil(1 if seconds is None else seconds)))}


def drop_connection(request: web.Request) -> NoReturn:
    """Close the socket without answering; the client sees a server disconnect.

    aiohttp treats a ``CancelledError`` from a handler as a premature disconnection and drops the
    connection quietly, which is exactly the fault being simulated.
    """
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError
