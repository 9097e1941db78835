"""HTTP wire details of Slack's Web API that the emulator must reproduce for real clients.

slack-sdk sends JSON for some methods, query strings for others and forms from other clients, so
the arguments of all three are merged as Slack does.
"""

from __future__ import annotations

from typing import Any

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
