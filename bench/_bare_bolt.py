"""The floor for Slack ack benchmarks: a bare Bolt app on aiohttp that acks `/cs` at once."""

from __future__ import annotations

import os
import sys

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def main() -> None:
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    bolt = AsyncApp(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)

    @bolt.command("/cs")
    async def ack_at_once(ack) -> None:  # type: ignore[no-untyped-def]
        await ack("ok")

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", lambda _r: web.json_response({"status": "ok"}))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
