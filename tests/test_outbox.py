"""The durable Slack outbox against a real PostgreSQL and the Slack emulator.

Workers here are the real `OutboxWorker` with the real slack-sdk client; the emulator enforces
Slack's per-channel pace and injects 429/5xx/disconnect faults.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackApiError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.outbox import enqueue
from bot.emulators.slack import SlackEmulator
from bot.jobs.housekeeping import housekeeping
from bot.jobs.outbox import OutboxPolicy, OutboxWorker
from bot.metrics import Metrics
from bot.services import notices
from bot.slack.client import outbox_client
from tests.conftest import BOT_TOKEN

pytestmark = pytest.mark.usefixtures("clean_outbox")

FAST = OutboxPolicy(pace_seconds=0.2, backoff_base=0.02, backoff_cap=0.1, idle_poll_seconds=0.02, max_attempts=4)


def make_worker(engine: AsyncEngine, slack: SlackEmulator, policy: OutboxPolicy = FAST) -> OutboxWorker:
    return OutboxWorker(engine, outbox_client(BOT_TOKEN, slack.api_url), Metrics(), policy)


async def enqueue_all(engine: AsyncEngine, messages: Sequence[tuple[str, str]]) -> list[int]:
    ids = []
    async with engine.begin() as conn:
        for channel, body in messages:
            ids.append(await enqueue(conn, channel, {"text": body}))
    return [i for i in ids if i is not None]


async def drain(engine: AsyncEngine, workers: Sequence[OutboxWorker], *, timeout: float = 30.0) -> None:
    """Run the workers until nothing is pending (or fail after `timeout`)."""
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        async with asyncio.timeout(timeout):
            while await count(engine, "status IN ('pending', 'sending')"):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def count(engine: AsyncEngine, where: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM bot_outbox WHERE {where}"))).scalar_one())


def texts(slack: SlackEmulator, channel: str) -> list[str]:
    return [m["text"] for m in slack.channel_messages(channel)]


def post_times(slack: SlackEmulator, channel: str) -> list[float]:
    return [c.at for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == channel and c.status == 200]


async def test_messages_are_delivered_in_order_per_channel(engine: AsyncEngine, slack: SlackEmulator) -> None:
    slack.add_channel("C0BILLING", name="billing")
    await enqueue_all(engine, [("C0GENERAL", f"g{i}") for i in range(4)] + [("C0BILLING", f"b{i}") for i in range(3)])
    await drain(engine, [make_worker(engine, slack)])
    assert texts(slack, "C0GENERAL") == ["g0", "g1", "g2", "g3"]
    assert texts(slack, "C0BILLING") == ["b0", "b1", "b2"]
    assert await count(engine, "status = 'delivered' AND result->>'ts' IS NOT NULL") == 7


async def test_each_channel_is_paced_while_channels_proceed_in_parallel(
    engine: AsyncEngine, slack: SlackEmulator
) -> None:
    channels = [f"C0PACE{i}" for i in range(5)]
    for channel in channels:
        slack.add_channel(channel, name=channel.lower())
    await enqueue_all(engine, [(c, f"{c}-{n}") for n in range(3) for c in channels])
    await drain(engine, [make_worker(engine, slack)])
    for channel in channels:
        times = post_times(slack, channel)
        assert len(times) == 3
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= FAST.pace_seconds * 0.9, gaps
    assert slack.rate_limited_count == 0


async def test_rate_limit_honours_retry_after_without_spending_attempts(
    engine: AsyncEngine, slack: SlackEmulator
) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=1, times=3)
    await enqueue_all(engine, [("C0GENERAL", "after the storm")])
    await drain(engine, [make_worker(engine, slack)])
    assert texts(slack, "C0GENERAL") == ["after the storm"]
    attempts = [c.at for c in slack.calls_to("chat.postMessage")]
    assert attempts[-1] - attempts[0] >= 2.5  # three Retry-After: 1 waits
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, attempts FROM bot_outbox"))).one()
    assert row.status == "delivered" and row.attempts == 1


async def test_server_error_storm_is_retried_with_backoff_until_delivered(
    engine: AsyncEngine, slack: SlackEmulator
) -> None:
    slack.fail("chat.postMessage", status=500, times=2)
    slack.fail("chat.postMessage", disconnect=True, times=1)
    await enqueue_all(engine, [("C0GENERAL", "one"), ("C0GENERAL", "two")])
    await drain(engine, [make_worker(engine, slack)])
    assert texts(slack, "C0GENERAL") == ["one", "two"]


async def test_a_message_that_keeps_failing_goes_dead_and_the_channel_moves_on(
    engine: AsyncEngine, slack: SlackEmulator
) -> None:
    slack.fail("chat.postMessage", status=503, times=FAST.max_attempts)
    await enqueue_all(engine, [("C0GENERAL", "doomed"), ("C0GENERAL", "survivor")])
    await drain(engine, [make_worker(engine, slack)])
    assert texts(slack, "C0GENERAL") == ["survivor"]
    async with engine.connect() as conn:
        dead = (
            await conn.execute(text("SELECT payload, attempts, last_error FROM bot_outbox WHERE status = 'dead'"))
        ).one()
    assert dead.payload == {"text": "doomed"}
    assert dead.attempts == FAST.max_attempts
    assert "transient" in dead.last_error


async def test_permanent_slack_errors_go_dead_at_once(engine: AsyncEngine, slack: SlackEmulator) -> None:
    await enqueue_all(engine, [("C0MISSING", "nobody home")])
    await drain(engine, [make_worker(engine, slack)])
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, attempts, last_error FROM bot_outbox"))).one()
    assert (row.status, row.attempts) == ("dead", 1)
    assert "channel_not_found" in row.last_error


async def test_several_workers_deliver_each_message_once_in_order(engine: AsyncEngine, slack: SlackEmulator) -> None:
    channels = [f"C0REPL{i}" for i in range(6)]
    for channel in channels:
        slack.add_channel(channel, name=channel.lower())
    slack.fail("chat.postMessage", status=500, times=4)
    slack.fail("chat.postMessage", status=429, retry_after=1, times=2)
    await enqueue_all(engine, [(c, f"{c}-{n}") for n in range(4) for c in channels])
    await drain(engine, [make_worker(engine, slack) for _ in range(3)])
    for channel in channels:
        assert texts(slack, channel) == [f"{channel}-{n}" for n in range(4)]


async def test_user_ids_are_delivered_as_direct_messages(engine: AsyncEngine, slack: SlackEmulator) -> None:
    slack.add_user("U0ALICE", name="alice", email="alice@example.com")
    await enqueue_all(engine, [("U0ALICE", "hello in private")])
    await drain(engine, [make_worker(engine, slack)])
    assert [m["text"] for m in slack.dms("U0ALICE")] == ["hello in private"]


async def test_dedupe_key_enqueues_a_message_only_once(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await enqueue(conn, "C0GENERAL", {"text": "daily"}, dedupe_key="summary:2026-11-24")
        second = await enqueue(conn, "C0GENERAL", {"text": "daily"}, dedupe_key="summary:2026-11-24")
    assert first is not None and second is None


async def test_enqueue_is_part_of_the_callers_transaction(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await enqueue(conn, "C0GENERAL", {"text": "never"})
            raise RuntimeError("the change that caused the message failed")
    assert await count(engine, "true") == 0


async def test_an_expired_lease_is_taken_over_after_a_crash(engine: AsyncEngine, slack: SlackEmulator) -> None:
    await enqueue_all(engine, [("C0GENERAL", "orphan")])
    async with engine.begin() as conn:  # a worker claimed it and died mid-send
        await conn.execute(
            text("UPDATE bot_outbox SET status='sending', attempts=1, locked_until=now() - interval '1 second'")
        )
    await drain(engine, [make_worker(engine, slack)])
    assert texts(slack, "C0GENERAL") == ["orphan"]


async def test_a_reaction_is_delivered_once_and_already_reacted_counts_as_done(
    engine: AsyncEngine, slack: SlackEmulator
) -> None:
    """A ✓ queued twice (a retry whose first answer was lost looks the same to Slack) reacts once and
    settles both rows as delivered: `already_reacted` means the reaction is there."""
    message = slack.add_message("C0GENERAL", user="U0PERSON1", text="Thanks, that fixed it")
    async with engine.begin() as conn:
        for key in ("first", "again"):
            reaction = {"timestamp": message["ts"], "name": "white_check_mark"}
            await enqueue(conn, "C0GENERAL", reaction, kind="reaction", dedupe_key=f"tick:{key}")
    await drain(engine, [make_worker(engine, slack)])
    [reaction] = slack.message("C0GENERAL", message["ts"])["reactions"]  # type: ignore[index]
    assert (reaction["name"], reaction["count"]) == ("white_check_mark", 1)
    assert await count(engine, "kind = 'reaction' AND status = 'delivered'") == 2
    assert [c.response["error"] for c in slack.calls_to("reactions.add") if not c.ok] == ["already_reacted"]


async def test_refused_blocks_are_delivered_as_plain_text_and_the_reason_kept(
    engine: AsyncEngine, slack: SlackEmulator
) -> None:
    """Slack answers invalid_blocks: the words arrive without blocks instead of the message going dead."""
    slack.fail("chat.postMessage", error="invalid_blocks", extra={"errors": ["something Slack disliked"]})
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "Server *web-1* was created"}}
    async with engine.begin() as conn:
        await enqueue(conn, "C0GENERAL", {"text": "Server web-1 was created", "blocks": [section]})
    await drain(engine, [make_worker(engine, slack)])
    (message,) = slack.channel_messages("C0GENERAL")
    assert message["text"] == "Server web-1 was created\nServer *web-1* was created"
    assert not message.get("blocks")
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, attempts, plain_fallback FROM bot_outbox"))).one()
    assert (row.status, row.attempts, row.plain_fallback) == ("delivered", 1, "invalid_blocks")


async def test_a_payload_really_over_slacks_limits_still_arrives(engine: AsyncEngine, slack: SlackEmulator) -> None:
    """A section over 3,000 characters and a fallback over 40,000: Slack refuses both; the plain version fits."""
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "a" * 3500}}
    async with engine.begin() as conn:
        await enqueue(conn, "C0GENERAL", {"text": "blocks too long", "blocks": [long_section]})
        await enqueue(conn, "C0GENERAL", {"text": "b" * 45_000})
    await drain(engine, [make_worker(engine, slack)])
    first, second = slack.channel_messages("C0GENERAL")
    assert first["text"] == "blocks too long\n" + "a" * 3500
    assert len(second["text"]) == 40_000 and second["text"].startswith("bbb")
    assert await count(engine, "status = 'dead'") == 0
    assert await count(engine, "plain_fallback = 'msg_too_long'") == 1
    assert await count(engine, "plain_fallback = 'invalid_blocks'") == 1


async def test_an_update_refused_for_its_blocks_drops_the_old_blocks(engine: AsyncEngine, slack: SlackEmulator) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "first version"}}
    async with engine.begin() as conn:
        await enqueue(conn, "C0GENERAL", {"text": "first", "blocks": [section]})
    await drain(engine, [make_worker(engine, slack)])
    (posted,) = slack.channel_messages("C0GENERAL")
    slack.fail("chat.update", error="invalid_blocks")
    async with engine.begin() as conn:
        await enqueue(conn, "C0GENERAL", {"ts": posted["ts"], "text": "second", "blocks": [section]}, kind="update")
    await drain(engine, [make_worker(engine, slack)])
    (updated,) = slack.channel_messages("C0GENERAL")
    assert updated["text"].startswith("second") and not updated.get("blocks")


async def test_a_notice_an_older_replica_buried_is_queued_again_by_housekeeping_and_delivered(
    engine: AsyncEngine, slack: SlackEmulator
) -> None:
    """During a rolling upgrade a replica of the previous release may claim a queued notice: it sends
    the row as it is, Slack answers `no_text`, and it marks the row dead. Housekeeping revives it."""
    notice = notices.server_deleted("web-1", "U0ADMIN")
    async with engine.begin() as conn:
        notice_id = await enqueue(conn, "C0GENERAL", notice)
        other_id = await enqueue(conn, "C0GENERAL", {"text": "dead for its own reason"})
    with (  # what the previous release sent (slack-sdk warns, Slack refuses)
        pytest.warns(UserWarning, match="`text` argument is missing"),
        pytest.raises(SlackApiError) as refused,
    ):
        await outbox_client(BOT_TOKEN, slack.api_url).chat_postMessage(channel="C0GENERAL", **notice)
    buried = f"invalid: {refused.value.response['error']}"
    async with engine.begin() as conn:
        for row_id, error in ((notice_id, buried), (other_id, "invalid: invalid_blocks")):
            await conn.execute(
                text("UPDATE bot_outbox SET status = 'dead', last_error = :e WHERE id = :i"), {"e": error, "i": row_id}
            )

    await housekeeping(engine, datetime.now(UTC))
    await drain(engine, [make_worker(engine, slack)])
    assert texts(slack, "C0GENERAL")[-1] == ":wastebasket: Server *web-1* was deleted by <@U0ADMIN>."
    assert await count(engine, f"id = {other_id} AND status = 'dead'") == 1
