"""`/cs admin payments`: staff see PayPal events and replay failures; nobody else can."""

from __future__ import annotations

import asyncio
import json
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.rendering.admin_payments import REPLAY_ACTION_ID
from tests.conftest import RunningBot
from tests.factories import add_slack_user, link_slack, make_org, make_user

REPLAY_AUDITS = text("SELECT count(*) FROM activity_logs WHERE event_type = 'payment.event.replay' AND entity_id = :e")


async def store_event(engine: AsyncEngine, *, status: str, error: str | None = None) -> str:
    event_id = f"WH-TEST-{uuid.uuid4().hex[:12].upper()}"
    body = json.dumps({"id": event_id, "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {}}).encode()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO bot_paypal_events (event_id, event_type, raw_body, headers, status, attempts, "
                "last_error, next_attempt_at) "
                "VALUES (:e, 'PAYMENT.CAPTURE.COMPLETED', :b, '{}', :s, 3, :err, now() + interval '1 day')"
            ),
            {"e": event_id, "b": body, "s": status, "err": error},
        )
    return event_id


async def staff_member(engine: AsyncEngine, slack: SlackEmulator) -> str:
    staff = await make_user(engine, role="admin")
    slack_id = add_slack_user(slack)
    await link_slack(engine, slack_id, staff)
    return slack_id


async def test_staff_see_recent_events_and_failures_with_replay_buttons(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    dead = await store_event(engine, status="dead", error="MalformedResource: capture without id")
    staff = await staff_member(engine, slack)
    status, body = await bot.send(slack_requests.slash_command(staff, "admin payments"))
    assert status == 200
    answer = json.loads(body)
    assert dead in json.dumps(answer["blocks"])
    replay_buttons = [
        b["accessory"] for b in answer["blocks"] if b.get("accessory", {}).get("action_id") == REPLAY_ACTION_ID
    ]
    assert dead in [b["value"] for b in replay_buttons]
    assert "MalformedResource" in body


async def test_members_and_admins_of_an_organisation_are_refused(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    owner = await make_user(engine)
    await make_org(engine, owner)
    slack_id = add_slack_user(slack)
    await link_slack(engine, slack_id, owner)
    status, body = await bot.send(slack_requests.slash_command(slack_id, "admin payments"))
    assert status == 200
    assert "Only ContainerStacks staff" in body


async def test_replay_by_command_requeues_a_failed_event_and_audits_it(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    failed = await store_event(engine, status="failed", error="PayPalError")
    staff = await staff_member(engine, slack)
    status, body = await bot.send(slack_requests.slash_command(staff, f"admin payments replay {failed}"))
    assert status == 200 and "queued again" in body
    async with engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT status, attempts FROM bot_paypal_events WHERE event_id=:e"), {"e": failed})
        ).one()
        audit = (
            await conn.execute(REPLAY_AUDITS, {"e": failed})
        ).scalar_one()  # fmt: skip
    assert row.status in {"pending", "processing", "processed", "failed", "dead"} and row.attempts <= 1
    assert audit == 1
    status, body = await bot.send(slack_requests.slash_command(staff, "admin payments replay WH-NOPE"))
    assert "No failed PayPal event has that id" in body


async def test_replay_button_requeues_the_event(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    dead = await store_event(engine, status="dead", error="boom")
    staff = await staff_member(engine, slack)
    click = slack_requests.block_actions(
        staff,
        [{"action_id": REPLAY_ACTION_ID, "block_id": "b", "type": "button", "value": dead}],
        channel_id="C0GENERAL",
    )
    status, _ = await bot.send(click)
    assert status == 200
    async with asyncio.timeout(5):
        while not any("queued again" in json.dumps(r.payload) for r in slack.responses):
            await asyncio.sleep(0.05)
    assert any("queued again" in json.dumps(r.payload) for r in slack.responses)
    async with engine.connect() as conn:
        audit = (
            await conn.execute(REPLAY_AUDITS, {"e": dead})
        ).scalar_one()  # fmt: skip
    assert audit == 1


async def test_the_used_replay_button_is_replaced_by_its_outcome_in_the_same_message(
    bot: RunningBot, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    dead = await store_event(engine, status="dead", error="boom")
    staff = await staff_member(engine, slack)
    _, body = await bot.send(slack_requests.slash_command(staff, "admin payments"))
    shown = slack.show_answer("C0GENERAL", staff, json.loads(body))
    [button] = [b["accessory"] for b in shown["blocks"] if (b.get("accessory") or {}).get("value") == dead]
    click = slack_requests.block_actions(staff, [{**button, "block_id": "b"}], channel_id="C0GENERAL", message=shown)
    assert (await bot.send(click))[0] == 200

    async with asyncio.timeout(5):
        while "queued again" not in json.dumps(slack.ephemerals(staff, "C0GENERAL")):
            await asyncio.sleep(0.05)
    [message] = slack.ephemerals(staff, "C0GENERAL")
    assert message["ts"] == shown["ts"]  # edited in place, not a second message
    replays = [b for b in message["blocks"] if (b.get("accessory") or {}).get("value") == dead]
    assert replays == []  # no second click on a used button
