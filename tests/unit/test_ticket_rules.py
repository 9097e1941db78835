"""Pure ticket rules and renderers: validation, where requester threads go, escaping, prefill."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from bot.db.tickets import ReplyRow, TicketRow
from bot.rendering import tickets as render
from bot.services.paging import Span
from bot.services.tickets import TicketDraft, TicketList, requester_target, validate_draft
from handlers.shortcuts.tickets import prefill

HOSTILE = "<!channel> & *bold* `tick` <https://evil|x>"


def _ticket(**overrides: object) -> TicketRow:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    values: dict[str, object] = {
        "id": uuid.uuid4(), "organization_id": uuid.uuid4(), "organization_name": HOSTILE, "created_by": uuid.uuid4(),
        "requester_name": HOSTILE, "requester_email": "a@example.com", "subject": HOSTILE, "message": HOSTILE,
        "status": "open", "priority": "high", "category": HOSTILE, "has_staff_reply": False, "created_at": now,
        "updated_at": now, "last_activity": now, "assignee_id": None, "assignee_name": None, "root_hash": "x",
    }  # fmt: skip
    values.update(overrides)
    return TicketRow(**values)  # type: ignore[arg-type]


def test_draft_follows_the_panel_minimum_lengths_priorities_and_categories() -> None:
    assert validate_draft(TicketDraft("VPS", "feature_request", "urgent", "0123456789")) == {}
    errors = validate_draft(TicketDraft("ab", "printers", "critical", "too short"))
    assert set(errors) == {"subject", "category", "priority", "message"}


def test_requester_thread_goes_to_a_channel_bound_for_tickets_or_else_the_persons_dm() -> None:
    assert requester_target("C123", "U9", {"C123"}) == "C123"
    assert requester_target("G123", "U9", {"G123", "C1"}) == "G123"
    assert requester_target("C123", "U9", {"C999"}) == "U9"  # not bound: confirmed privately
    assert requester_target("D123", "U9", {"D123"}) == "U9"
    assert requester_target(None, "U9", ()) == "U9"


def test_card_escapes_everything_the_panel_or_users_typed() -> None:
    card = str(render.render_card(_ticket())["blocks"])
    assert "<!channel>" not in card and "<https://evil|x>" not in card
    assert "&lt;!channel&gt; &amp; *bold*" in card


def test_reply_and_conversation_renderers_escape_text() -> None:
    reply = ReplyRow(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), HOSTILE, HOSTILE, True, datetime.now(UTC))
    assert "<!channel>" not in str(render.render_reply_posts("triage", reply, "1.0")[0]["blocks"])
    assert "<!channel>" not in str(render.render_conversation(_ticket(), [reply], "/cs")["blocks"])
    listing = TicketList(uuid.uuid4(), HOSTILE, [_ticket()], Span(offset=0, limit=15, total=1, count=1))
    assert "<!channel>" not in str(render.render_list(listing, "/cs")["blocks"])
    assert "<!channel>" not in str(render.render_digest({"under_1d": 1, "d1_3": 0, "d3_7": 0, "over_7d": 0},
                                                      [_ticket()])["blocks"])  # fmt: skip


def test_closed_card_has_no_controls_and_open_card_has_all_of_them() -> None:
    open_card = render.render_card(_ticket())
    ids = [e["action_id"] for b in open_card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ids == [render.ACTION_ASSIGN_ME, render.ACTION_ASSIGN_USER, render.ACTION_PRIORITY, render.ACTION_STATUS,
                   render.ACTION_REPLY, render.ACTION_CLOSE]  # fmt: skip
    closed = render.render_card(_ticket(status="closed"))
    assert not [b for b in closed["blocks"] if b["type"] == "actions"]


def test_shortcut_prefill_takes_the_first_line_as_subject() -> None:
    assert prefill({"text": "Disk full\nsince 10:00, please help"}) == (
        "Disk full",
        "Disk full\nsince 10:00, please help",
    )
    subject, _ = prefill({"text": "x" * 200})
    assert len(subject) == 80 and subject.endswith("…")
    assert prefill({}) == ("", "")
