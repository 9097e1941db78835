"""Files shared through the outbox: in order with the channel's messages, drawn at delivery, retried
when Slack fails part-way, dead at once when the channel refuses them."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.outbox import enqueue
from bot.emulators.slack import SlackEmulator
from bot.services.deliveries import share_file
from tests.png_reader import read_png
from tests.test_outbox import count, drain, make_worker

pytestmark = pytest.mark.usefixtures("clean_outbox")
CHART = {"kind": "bars", "title": "Spend", "unit": "USD", "categories": ["10-01", "10-02"],
         "series": [{"name": "web-1", "values": ["0.65", "0.10"]}]}  # fmt: skip


async def test_a_chart_is_drawn_at_delivery_and_follows_the_message_queued_before_it(
    engine: AsyncEngine, slack: SlackEmulator
) -> None:
    slack.add_channel("C0UPLOADS", name="uploads")
    async with engine.begin() as conn:
        await enqueue(conn, "C0UPLOADS", {"text": "Summary first"})
        await share_file(conn, "C0UPLOADS", filename="spend.png", title="Spend", comment="The picture", chart=CHART)
    slack.fail("files.completeUploadExternal", status=500)  # the first delivery fails after the bytes went up
    await drain(engine, [make_worker(engine, slack)])

    messages = slack.channel_messages("C0UPLOADS")
    assert [m["text"] for m in messages] == ["Summary first", "The picture"]
    [shared] = slack.files("C0UPLOADS")
    assert read_png(shared.data or b"").plotted["series"] == CHART["series"]
    assert len(slack.calls_to("files.getUploadURLExternal")) == 2  # retried whole, shared once


async def test_a_channel_that_refuses_the_file_makes_the_upload_dead_at_once(
    engine: AsyncEngine, slack: SlackEmulator
) -> None:
    slack.add_channel("C0CLOSED", name="closed", is_private=True, bot_is_member=False)
    async with engine.begin() as conn:
        await share_file(conn, "C0CLOSED", filename="invoice.html", title="Invoice", comment="x",
                         content_text="<html></html>")  # fmt: skip
    await drain(engine, [make_worker(engine, slack)])
    assert await count(engine, "status = 'dead' AND kind = 'upload' AND last_error LIKE 'channel:%'") == 1
    assert slack.files("C0CLOSED") == []
