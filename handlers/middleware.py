"""Global Bolt middleware: each request's log scope is set first, then Events API redeliveries are
dropped after the first copy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.services.container import Services
from bot.services.slack_events import is_first_delivery
from bot.slack.log_scope import RequestDescriber, enter_request
from handlers.commands import build_table


class ScopeLogs(AsyncMiddleware):
    """Before anything else runs (listeners, their tasks, the error handler, Bolt's own logging):
    declare what the user typed as private, so no log line of this request can carry it."""

    def __init__(self) -> None:
        self.describe = RequestDescriber(build_table())

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        enter_request(self.describe(req.body))
        return await next()


class DropDuplicateEvents(AsyncMiddleware):
    """A repeated `event_id` is answered 200 at once (Slack stops retrying) and reaches no listener.

    A middleware class rather than `@app.middleware` on a function: Bolt builds a function's
    keyword arguments on every request, and every slash command, click and form passes through here.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        body = req.body
        if body.get("type") == "event_callback":
            event_type = (body.get("event") or {}).get("type")
            if not await is_first_delivery(self.services.engine, body.get("event_id"), event_type):
                self.services.metrics.slack_events_duplicate.inc()
                return BoltResponse(status=200, body="")
        return await next()


def register(app: AsyncApp, services: Services) -> None:
    app.use(ScopeLogs())
    app.use(DropDuplicateEvents(services))
