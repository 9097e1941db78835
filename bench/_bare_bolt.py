"""The floors for Slack ack benchmarks: a bare Bolt app on aiohttp that acks `/cs` at once.

`python bench/_bare_bolt.py PORT` acks with a word; `python bench/_bare_bolt.py PORT sql` first runs
the two statements `/cs wallet` needs (the actor lookup and the one-statement wallet card, through
the project's own query functions on the same kind of pool) and acks with the balance. The second
is the best a wallet ack can do on this machine: Bolt plus the database, with none of the bot's
routing, permission checks or Block Kit rendering.
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

from bot.db import identities, plain, wallet_view


def main() -> None:
    with_sql = sys.argv[2:] == ["sql"]
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    bolt = AsyncApp(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)
    app = web.Application()

    @bolt.command("/cs")
    async def ack_at_once(ack, body) -> None:  # type: ignore[no-untyped-def]
        if not with_sql:
            await ack("ok")
            return
        async with app["pool"].acquire() as conn:
            found = await identities.actor_row(
                plain.PlainConnection(conn), "", body["team_id"], body["user_id"], body["channel_id"]
            )
        assert found is not None and found.memberships, "the bench seeds a linked user with an organisation"
        async with app["pool"].acquire() as conn:
            card = await wallet_view.card_snapshot(
                plain.PlainConnection(conn), found.memberships[0].organization_id, rows=10
            )
        await ack(f"balance {card.balance if card else '?'}")

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
