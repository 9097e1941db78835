"""The floors for Slack ack benchmarks: a bare Bolt app on aiohttp that acks `/cs` at once.

`python bench/_bare_bolt.py PORT` acks with a word; with `sql` it first runs the statement
`/cs wallet` runs (the actor and the wallet card together, through the project's own query function
and `plain.read`, as the bot reads) and acks with the balance: Bolt plus the database, with none of
the bot's routing, permission checks or Block Kit rendering. With `prompt` the app is
built as the bot builds it (`build_bolt_app`: answers on the ack instead of Bolt's 10 ms check),
so the bot can also be compared with a floor that has the same runner.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.db import plain, wallet_view
from bot.slack.bolt_app import build_bolt_app


def main() -> None:
    modes = set(sys.argv[2:])
    with_sql = "sql" in modes
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    secret = os.environ["SLACK_SIGNING_SECRET"]
    bolt = build_bolt_app(secret, client) if "prompt" in modes else AsyncApp(signing_secret=secret, client=client)
    app = web.Application()

    @bolt.command("/cs")
    async def ack_at_once(ack, body) -> None:  # type: ignore[no-untyped-def]
        if not with_sql:
            await ack("ok")
            return
        found = await plain.read(
            app["pool"],
            lambda conn: wallet_view.actor_with_card(
                conn, "", body["team_id"], body["user_id"], body["channel_id"], rows=10
            ),
        )
        assert found is not None and found.card is not None, "the bench seeds a linked user with a wallet"
        await ack(f"balance {found.card.balance}")

    async def pool(application: web.Application):  # type: ignore[no-untyped-def]
        application["pool"] = await plain.create_pool(os.environ["DATABASE_URL"]) if with_sql else None
        yield
        if application["pool"] is not None:
            await application["pool"].close()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app.cleanup_ctx.append(pool)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", lambda _r: web.json_response({"status": "ok"}))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
