"""Tickets end to end through the real app and emulator: Slack intake, triage card, thread sync both ways."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulators.slack import SlackEmulator, SlackRequestFactory
from bot.manifest import TICKET_SHORTCUT_CALLBACK
from bot.rendering import tickets as render
from bot.rendering.identity import LINK_BUTTON
from tests.factories import make_org
from tests.ticket_fixtures import (
    Desk,
    activity,
    bot_replies,
    channel_id,
    desk,
    eventually,
    flat,
    latest_ticket_of,
    open_ticket_from_slack,
    panel_reply,
    panel_ticket,
    person,
    replies_text,
    root_of,
    say_in_thread,
    send_ok,
    stored_replies,
    ticket_messages,
    ticket_row,
    unpaced_slack,  # noqa: F401 - overrides conftest's paced `slack` fixture
)

NEW_TICKET_VALUES = {
    "subject": {"value": "VPS <web-1> is down"},
    "category": {"value": "technical"},
    "priority": {"value": {"type": "static_select", "selected_option": {"value": "high"}}},
    "message": {"value": "It stopped answering on port 443 & SSH this morning."},
}


async def test_ticket_from_slack_reaches_triage_and_replies_flow_both_ways(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id = await open_ticket_from_slack(d, engine, slack, slack_requests, NEW_TICKET_VALUES)
        row = await ticket_row(engine, ticket_id)
        assert (row.subject, row.priority, row.category, row.status) == (
            "VPS <web-1> is down",
            "high",
            "technical",
            "open",
        )
        assert (row.created_by, row.organization_id) == (d.customer.user.id, d.org.id)
        assert len(await activity(engine, ticket_id, "ticket.create")) == 1

        card = await root_of(slack, d.triage, ticket_id, "triage")
        body = flat(card["blocks"])
        assert "VPS &lt;web-1&gt; is down" in body and "Acme &lt;Hosting&gt; &amp; Co" in body
        assert d.customer.user.name in body and "technical" in body and "high" in body and "_unassigned_" in body
        requester = await root_of(slack, d.customer_channel, ticket_id, "requester")

        await say_in_thread(
            d.bot, slack_requests, d.staff.slack_id, d.triage, card["ts"], "We are on it, rebooting now."
        )
        await eventually(
            lambda: "We are on it, rebooting now." in flat(replies_text(slack, d.customer_channel, requester["ts"]))
        )
        replies = await stored_replies(engine, ticket_id)
        assert [(r.user_id, r.message, r.is_staff_reply) for r in replies] == [
            (d.staff.user.id, "We are on it, rebooting now.", True)
        ]
        logged = await activity(engine, ticket_id, "ticket_reply")
        assert logged[0].user_id == d.customer.user.id  # as the panel: the creator is notified
        assert logged[0].status == "info" and logged[0].entity_type == "support_ticket"
        assert (
            logged[0].metadata["reply_preview"] == "We are on it, rebooting now."
            and logged[0].metadata["is_staff_reply"]
        )
        assert (await ticket_row(engine, ticket_id)).has_staff_reply

        await say_in_thread(
            d.bot, slack_requests, d.customer.slack_id, d.customer_channel, requester["ts"], "Thanks, it works again."
        )
        await eventually(lambda: "Thanks, it works again." in flat(replies_text(slack, d.triage, card["ts"])))
        replies = await stored_replies(engine, ticket_id)
        assert [(r.user_id, r.is_staff_reply) for r in replies][-1] == (d.customer.user.id, False)
        # Nobody sees their own words echoed back into the thread they wrote them in.
        assert "We are on it" not in flat(bot_replies(slack, d.triage, card["ts"]))
        assert "Thanks, it works" not in flat(bot_replies(slack, d.customer_channel, requester["ts"]))
        assert (await ticket_row(engine, ticket_id)).updated_at > row.updated_at


async def carded_panel_ticket(d: Desk, engine: AsyncEngine, slack: SlackEmulator) -> tuple[uuid.UUID, dict[str, Any]]:
    ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject="Billing <question>")
    return ticket_id, await root_of(slack, d.triage, ticket_id, "triage")


# --- messages in the triage thread ---------------------------------------------------------------------------


async def test_duplicate_event_deliveries_store_one_reply(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded_panel_ticket(d, engine, slack)
        first = slack_requests.message_event(d.staff.slack_id, d.triage, "Refund issued.", thread_ts=card["ts"])
        await send_ok(d.bot, first)
        await send_ok(d.bot, first)  # Slack's retry: same event id
        event = json.loads(first.body)["event"]
        same_message = slack_requests.message_event(
            d.staff.slack_id, d.triage, "Refund issued.", ts=event["ts"], thread_ts=card["ts"]
        )
        await send_ok(d.bot, same_message)  # the same message under another event id
        await eventually(lambda: stored_replies(engine, ticket_id))
        await _settle()
        assert [r.message for r in await stored_replies(engine, ticket_id)] == ["Refund issued."]


async def test_internal_note_stays_in_slack(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded_panel_ticket(d, engine, slack)
        await say_in_thread(
            d.bot, slack_requests, d.staff.slack_id, d.triage, card["ts"], "Note: customer is on legacy"
        )
        await say_in_thread(d.bot, slack_requests, d.staff.slack_id, d.triage, card["ts"], "Public answer here.")
        await eventually(lambda: stored_replies(engine, ticket_id))
        await _settle()
        assert [r.message for r in await stored_replies(engine, ticket_id)] == ["Public answer here."]
        assert slack.ephemerals(d.staff.slack_id, d.triage) == []


async def test_non_staff_in_triage_thread_is_not_stored_and_gets_a_hint(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded_panel_ticket(d, engine, slack)
        stranger = await person(engine, slack, linked=False)
        slack.add_channel(d.triage, name=d.triage.lower(), members=[stranger.slack_id])
        await say_in_thread(d.bot, slack_requests, d.customer.slack_id, d.triage, card["ts"], "Any news??")
        await say_in_thread(d.bot, slack_requests, stranger.slack_id, d.triage, card["ts"], "I can help!")
        hint = await eventually(lambda: slack.ephemerals(d.customer.slack_id, d.triage))
        assert hint[0]["text"] == render.NOTE_HINT_STAFF_ONLY.format(prefix="note:")
        assert hint[0]["thread_ts"] == card["ts"]
        unlinked = await eventually(lambda: slack.ephemerals(stranger.slack_id, d.triage))
        assert unlinked[0]["text"] == render.NOTE_HINT_UNLINKED
        assert await stored_replies(engine, ticket_id) == []


async def test_bot_messages_never_become_replies(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded_panel_ticket(d, engine, slack)
        bot_user = slack.identity.bot_user_id
        await say_in_thread(d.bot, slack_requests, bot_user, d.triage, card["ts"], "our own post", bot_id="B0CSBOT")
        await say_in_thread(
            d.bot, slack_requests, d.staff.slack_id, d.triage, card["ts"], "other bot", bot_id="B0OTHER"
        )
        await say_in_thread(
            d.bot, slack_requests, d.staff.slack_id, d.triage, card["ts"], "legacy", subtype="bot_message"
        )
        await _settle()
        assert await stored_replies(engine, ticket_id) == []


async def test_broadcast_is_a_reply_and_edits_or_deletions_do_not_add_replies(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded_panel_ticket(d, engine, slack)
        broadcast = slack_requests.message_event(
            d.staff.slack_id, d.triage, "Fixed for everyone.", thread_ts=card["ts"], subtype="thread_broadcast"
        )
        await send_ok(d.bot, broadcast)
        await eventually(lambda: stored_replies(engine, ticket_id))
        ts = json.loads(broadcast.body)["event"]["ts"]
        edited = {
            "type": "message",
            "subtype": "message_changed",
            "channel": d.triage,
            "hidden": True,
            "ts": ts,
            "message": {
                "type": "message",
                "user": d.staff.slack_id,
                "text": "Fixed for everyone!!",
                "ts": ts,
                "thread_ts": card["ts"],
                "edited": {"user": d.staff.slack_id, "ts": ts},
            },
            "previous_message": {"type": "message", "user": d.staff.slack_id, "text": "Fixed for everyone.", "ts": ts},
        }
        await send_ok(d.bot, slack_requests.event(edited))
        note = await eventually(lambda: slack.ephemerals(d.staff.slack_id, d.triage))
        assert note[0]["text"] == render.EDIT_NOT_SYNCED
        deleted = {
            "type": "message",
            "subtype": "message_deleted",
            "channel": d.triage,
            "hidden": True,
            "deleted_ts": ts,
            "ts": ts,
            "previous_message": edited["previous_message"],
        }
        await send_ok(d.bot, slack_requests.event(deleted))
        await _settle()
        assert [(r.message, r.is_staff_reply) for r in await stored_replies(engine, ticket_id)] == [
            ("Fixed for everyone.", True)
        ]


async def _settle(seconds: float = 0.4) -> None:
    """Give work the bot does after its ack time to (wrongly) happen before asserting it did not."""
    await asyncio.sleep(seconds)


# --- card controls -------------------------------------------------------------------------------------------


def _click(
    slack_requests: SlackRequestFactory, who: str, card: dict[str, Any], channel: str, action: dict[str, Any]
) -> Any:
    block_id = next(b["block_id"] for b in card["blocks"] if b["type"] == "actions")
    message = {**card, "channel": channel}
    return slack_requests.block_actions(who, [{"block_id": block_id, **action}], channel_id=channel, message=message)


def _select(action_id: str, value: str) -> dict[str, Any]:
    return {"action_id": action_id, "type": "static_select", "selected_option": {"value": value}}


async def test_card_controls_change_the_ticket_and_update_the_card_in_place(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded_panel_ticket(d, engine, slack)
        tid = str(ticket_id)

        await send_ok(
            d.bot,
            _click(
                slack_requests, d.staff.slack_id, card, d.triage, {"action_id": render.ACTION_ASSIGN_ME, "value": tid}
            ),
        )
        await eventually(lambda: f"<@{d.staff.slack_id}>" in flat(slack.message(d.triage, card["ts"])))
        await send_ok(
            d.bot,
            _click(slack_requests, d.staff.slack_id, card, d.triage, _select(render.ACTION_PRIORITY, f"{tid}:urgent")),
        )
        await eventually(lambda: ":red_circle: urgent" in flat(slack.message(d.triage, card["ts"])))
        await send_ok(
            d.bot,
            _click(
                slack_requests, d.staff.slack_id, card, d.triage, _select(render.ACTION_STATUS, f"{tid}:in_progress")
            ),
        )
        await eventually(lambda: "In progress" in flat(slack.message(d.triage, card["ts"])["blocks"][1]))
        await eventually(lambda: any("Status changed" in t for t in bot_replies(slack, d.triage, card["ts"])))
        await send_ok(
            d.bot,
            _click(slack_requests, d.staff.slack_id, card, d.triage, {"action_id": render.ACTION_CLOSE, "value": tid}),
        )
        closed = await eventually(lambda: _closed_card(slack.message(d.triage, card["ts"])))

        row = await ticket_row(engine, ticket_id)
        assert (row.status, row.priority) == ("closed", "urgent")
        assert closed["ts"] == card["ts"] and len(ticket_messages(slack, d.triage, ticket_id, "triage")) == 1
        assert all(c.args["ts"] == card["ts"] for c in slack.calls_to("chat.update"))
        assert len(await activity(engine, ticket_id, "ticket.assign")) == 1
        assert [a.metadata["new_status"] for a in await activity(engine, ticket_id, "ticket.status")] == [
            "in_progress",
            "closed",
        ]
        # the card update and the thread note are separate outbox messages: wait for the note too
        await eventually(
            lambda: len([t for t in bot_replies(slack, d.triage, card["ts"]) if "Status changed" in t]) == 2
        )
        notes = [t for t in bot_replies(slack, d.triage, card["ts"]) if "Status changed" in t]
        assert len(notes) == 2 and d.staff.user.name in notes[0]


def _closed_card(message: dict[str, Any] | None) -> dict[str, Any] | None:
    if message and "Closed" in flat(message["blocks"]) and not any(b["type"] == "actions" for b in message["blocks"]):
        return message
    return None


async def test_card_controls_refuse_non_staff(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded_panel_ticket(d, engine, slack)
        await send_ok(
            d.bot,
            _click(
                slack_requests,
                d.customer.slack_id,
                card,
                d.triage,
                _select(render.ACTION_STATUS, f"{ticket_id}:resolved"),
            ),
        )
        refusal = await eventually(lambda: slack.ephemerals(d.customer.slack_id, d.triage))
        assert "Only ContainerStacks staff" in refusal[0]["text"]
        assert (await ticket_row(engine, ticket_id)).status == "open"


# --- the message shortcut and commands ------------------------------------------------------------------------


async def test_message_shortcut_prefills_the_form_and_links_back_to_the_message(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        said = slack.add_message(
            d.customer_channel,
            user=d.customer.slack_id,
            text="Backups failing since Monday\nError code 42 on every run.",
        )
        shortcut = slack_requests.message_shortcut(
            d.customer.slack_id, TICKET_SHORTCUT_CALLBACK, channel_id=d.customer_channel, message=said
        )
        assert await send_ok(d.bot, shortcut) == ""
        view = slack.open_views(d.customer.slack_id)[-1]
        inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
        assert inputs["subject"]["initial_value"] == "Backups failing since Monday"
        assert inputs["message"]["initial_value"] == said["text"]
        values = {
            "subject": {"value": inputs["subject"]["initial_value"]},
            "category": {"value": "technical"},
            "priority": {"value": {"type": "static_select", "selected_option": {"value": "medium"}}},
            "message": {"value": said["text"]},
        }
        await send_ok(d.bot, slack_requests.view_submission(d.customer.slack_id, view, values=values))
        ticket_id = await eventually(lambda: latest_ticket_of(engine, d.org))
        permalink = f"https://containerstacks.slack.com/archives/{d.customer_channel}/p{said['ts'].replace('.', '')}"
        assert permalink in (await ticket_row(engine, ticket_id)).message
        root = await root_of(slack, d.customer_channel, ticket_id, "requester")
        assert f"<{permalink}|this message>" in flat(root["blocks"])


async def test_ticket_list_and_conversation_show_the_organisations_tickets(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack, listen=False, periodic=False) as d:
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject="Slow <disk>")
        await panel_reply(engine, ticket_id, d.staff.user, "Moved you to NVMe.", staff=True)
        listing = await send_ok(d.bot, slack_requests.slash_command(d.customer.slack_id, "ticket list"))
        assert "Slow &lt;disk&gt;" in flat(listing) and str(ticket_id)[:8] in flat(listing)
        alone = await send_ok(d.bot, slack_requests.slash_command(d.customer.slack_id, "ticket"))
        assert alone == listing  # `/cs ticket` alone shows the list, not an error
        shown = await send_ok(d.bot, slack_requests.slash_command(d.customer.slack_id, f"ticket {str(ticket_id)[:8]}"))
        assert "Moved you to NVMe." in flat(shown) and "(support)" in flat(shown)
        outsider = await person(engine, slack)
        await make_org(engine, outsider.user)
        hidden = await send_ok(d.bot, slack_requests.slash_command(outsider.slack_id, f"ticket {str(ticket_id)[:8]}"))
        assert "can't find that ticket" in hidden["text"]


async def test_reply_command_opens_a_form_whose_submission_is_a_customer_reply(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded_panel_ticket(d, engine, slack)
        words = f"ticket reply {str(ticket_id)[:8]}"
        assert await send_ok(d.bot, slack_requests.slash_command(d.customer.slack_id, words)) == ""
        view = slack.open_views(d.customer.slack_id)[-1]
        await send_ok(
            d.bot,
            slack_requests.view_submission(
                d.customer.slack_id, view, values={"message": {"value": "Here are the logs."}}
            ),
        )
        await eventually(lambda: "Here are the logs." in flat(bot_replies(slack, d.triage, card["ts"])))
        assert [(r.message, r.is_staff_reply) for r in await stored_replies(engine, ticket_id)] == [
            ("Here are the logs.", False)
        ]


async def test_staff_set_the_support_channel_where_new_cards_go(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        other = channel_id("C0NEW")
        slack.add_channel(other, name=other.lower(), members=[d.staff.slack_id, d.customer.slack_id])
        refused = await send_ok(
            d.bot, slack_requests.slash_command(d.customer.slack_id, "admin support-channel", channel_id=other)
        )
        assert "Only ContainerStacks staff" in refused["text"]
        try:
            done = await send_ok(
                d.bot, slack_requests.slash_command(d.staff.slack_id, "admin support-channel", channel_id=other)
            )
            assert done["text"] == render.SUPPORT_CHANNEL_SET.format(channel=other)
            ticket_id = await panel_ticket(engine, d.org, d.customer.user)
            await root_of(slack, other, ticket_id, "triage")
            assert ticket_messages(slack, d.triage, ticket_id, "triage") == []
        finally:
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM bot_settings WHERE key = 'support_channel'"))


async def test_assign_to_someone_else_and_reply_button_from_the_card(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded_panel_ticket(d, engine, slack)
        colleague = await person(engine, slack, role="admin")
        pick = {"action_id": render.ACTION_ASSIGN_USER, "type": "users_select", "selected_user": colleague.slack_id}
        await send_ok(d.bot, _click(slack_requests, d.staff.slack_id, card, d.triage, pick))
        await eventually(lambda: f"<@{colleague.slack_id}>" in flat(slack.message(d.triage, card["ts"])))
        not_staff = {**pick, "selected_user": d.customer.slack_id}
        await send_ok(d.bot, _click(slack_requests, d.staff.slack_id, card, d.triage, not_staff))
        refusal = await eventually(lambda: slack.ephemerals(d.staff.slack_id, d.triage))
        assert "only be assigned to ContainerStacks staff" in refusal[0]["text"]

        reply_button = {"action_id": render.ACTION_REPLY, "value": str(ticket_id)}
        await send_ok(d.bot, _click(slack_requests, d.staff.slack_id, card, d.triage, reply_button))
        view = slack.open_views(d.staff.slack_id)[-1]
        assert view["callback_id"] == render.REPLY_CALLBACK_ID
        values = {"message": {"value": "Answer typed in the modal."}}
        await send_ok(d.bot, slack_requests.view_submission(d.staff.slack_id, view, values=values))
        await eventually(lambda: stored_replies(engine, ticket_id))
        assert [(r.user_id, r.is_staff_reply) for r in await stored_replies(engine, ticket_id)] == [
            (d.staff.user.id, True)
        ]
        await eventually(lambda: "Answer typed in the modal." in flat(bot_replies(slack, d.triage, card["ts"])))


async def test_ticket_opened_in_a_dm_gets_its_requester_thread_in_the_dm(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        dm = slack.dm_channel_id(d.customer.slack_id)
        request = slack_requests.slash_command(d.customer.slack_id, "ticket new", channel_id=dm)
        assert await send_ok(d.bot, request) == ""
        view = slack.open_views(d.customer.slack_id)[-1]
        await send_ok(d.bot, slack_requests.view_submission(d.customer.slack_id, view, values=NEW_TICKET_VALUES))
        ticket_id = await eventually(lambda: latest_ticket_of(engine, d.org))
        root = await root_of(slack, dm, ticket_id, "requester")
        card = await root_of(slack, d.triage, ticket_id, "triage")
        await say_in_thread(d.bot, slack_requests, d.staff.slack_id, d.triage, card["ts"], "Answer for the DM.")
        await eventually(lambda: "Answer for the DM." in flat(bot_replies(slack, dm, root["ts"])))
        await send_ok(
            d.bot,
            slack_requests.message_event(
                d.customer.slack_id, dm, "Reply from my DM.", thread_ts=root["ts"], channel_type="im"
            ),
        )
        await eventually(lambda: "Reply from my DM." in flat(bot_replies(slack, d.triage, card["ts"])))


async def test_staff_change_ticket_settings_and_the_note_prefix_follows(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    async with desk(database_url, engine, slack) as d:
        ticket_id, card = await carded_panel_ticket(d, engine, slack)
        refused = await send_ok(d.bot, slack_requests.slash_command(d.customer.slack_id, "admin ticket-settings"))
        assert "Only ContainerStacks staff" in refused["text"]
        try:
            shown = await send_ok(
                d.bot, slack_requests.slash_command(d.staff.slack_id, "admin ticket-settings note-prefix internal:")
            )
            assert "`internal:`" in shown["text"] and "urgent 1 h, high 4 h, medium 24 h, low 72 h" in shown["text"]
            shown = await send_ok(
                d.bot, slack_requests.slash_command(d.staff.slack_id, "admin ticket-settings sla low 48")
            )
            assert "low 48 h" in shown["text"]
            bad = await send_ok(
                d.bot, slack_requests.slash_command(d.staff.slack_id, "admin ticket-settings sla low x")
            )
            assert "Change one setting at a time" in bad["text"]
            await say_in_thread(d.bot, slack_requests, d.staff.slack_id, d.triage, card["ts"], "internal: VIP customer")
            await say_in_thread(d.bot, slack_requests, d.staff.slack_id, d.triage, card["ts"], "note: now public")
            await eventually(lambda: stored_replies(engine, ticket_id))
            await _settle()
            assert [r.message for r in await stored_replies(engine, ticket_id)] == ["note: now public"]
        finally:
            async with engine.begin() as conn:
                await conn.execute(
                    text("DELETE FROM bot_settings WHERE key IN ('ticket_note_prefix', 'ticket_sla_hours')")
                )


# --- who may use the card's controls ---------------------------------------------------------------------

SECRET_SUBJECT = "Secret merger plan"
#: What a member of another organisation is told (bot.services.access.NotInOrganisation).
NOT_A_MEMBER = "This belongs to an organisation you are not (or no longer) a member of"


async def test_the_triage_reply_button_shows_no_ticket_to_an_unlinked_or_foreign_user(
    database_url: str, engine: AsyncEngine, slack: SlackEmulator, slack_requests: SlackRequestFactory
) -> None:
    """The issue's case: Reply opened a modal with another organisation's ticket subject."""
    async with desk(database_url, engine, slack) as d:
        ticket_id = await panel_ticket(engine, d.org, d.customer.user, subject=SECRET_SUBJECT)
        card = await root_of(slack, d.triage, ticket_id, "triage")
        [reply] = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["action_id"] == render.ACTION_REPLY]  # fmt: skip
        stranger = await person(engine, slack, linked=False)
        outsider = await person(engine, slack)
        await make_org(engine, outsider.user)
        for who, expected in ((stranger, LINK_BUTTON), (outsider, NOT_A_MEMBER)):
            slack.add_channel(d.triage, name=d.triage.lower(), members=[who.slack_id])
            click = slack_requests.block_actions(who.slack_id, [reply], channel_id=d.triage, message=card)
            status, body = await d.bot.send(click)
            assert (status, body) == (200, "")
            [post] = await eventually(lambda w=who: [r for r in slack.responses if r.user_id == w.slack_id])
            assert expected in json.dumps(post.payload, ensure_ascii=False)
            assert SECRET_SUBJECT not in json.dumps(post.payload) and post.payload["replace_original"] is False
        assert slack.calls_to("views.open") == []
        assert slack.message(d.triage, card["ts"])["blocks"] == card["blocks"]  # the card is untouched

        staff_click = slack_requests.block_actions(d.staff.slack_id, [reply], channel_id=d.triage, message=card)
        assert await d.bot.send(staff_click) == (200, "")
        [opened] = await slack.wait_for("views.open")
        assert SECRET_SUBJECT in json.dumps(opened.args["view"], ensure_ascii=False)
