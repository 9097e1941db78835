"""The one pager every long list uses: "Servers 11–20 of 250" and Previous/Next buttons (pure).

A page button carries the list's scope (the organisation it was shown for, when it has one), the
offset and the page size in its value; the listener behind it (`handlers/actions/paging.py`) runs
the gate first, reads that page again and replaces the same message with it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from bot.rendering.escape import escape_mrkdwn
from bot.rendering.fit import BUTTON_VALUE
from bot.services.paging import Span


@dataclass(frozen=True)
class Pager:
    """One paged list: its two buttons' action ids and words, and how a range of it is named."""

    previous_id: str
    next_id: str
    noun: str  # "Servers": "Servers 1–10 of 250"
    previous_label: str = "Previous"
    next_label: str = "Next"
    note: str = ""  # "newest first"
    max_limit: int = 100

    @property
    def action_ids(self) -> tuple[str, str]:
        return (self.previous_id, self.next_id)


@dataclass(frozen=True)
class PageRef:
    """What a page button asks for."""

    scope: uuid.UUID | None
    offset: int
    limit: int


def page_value(scope: uuid.UUID | None, offset: int, limit: int) -> str:
    value = json.dumps({"s": str(scope) if scope else None, "o": offset, "n": limit}, separators=(",", ":"))
    assert len(value) <= BUTTON_VALUE
    return value


def parse_page_value(value: str, *, max_limit: int = 100) -> PageRef | None:
    """The page a button asks for, or None if the value is not a page button's (any more)."""
    try:
        data = json.loads(value)
        scope = uuid.UUID(str(data["s"])) if data["s"] is not None else None
        offset, limit = int(data["o"]), int(data["n"])
    except (ValueError, KeyError, TypeError):
        return None
    if offset < 0 or not 1 <= limit <= max_limit:
        return None
    return PageRef(scope, offset, limit)


def page_range(pager: Pager, span: Span) -> str:
    """ "Servers 11–20 of 250, newest first." (escaped: safe in mrkdwn)."""
    note = f", {escape_mrkdwn(pager.note)}" if pager.note else ""
    return f"{escape_mrkdwn(pager.noun)} {span.first}–{span.last} of {span.total:,}{note}."


def page_context(pager: Pager, span: Span) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": page_range(pager, span)}]}


def page_buttons(pager: Pager, span: Span, scope: uuid.UUID | None) -> list[dict[str, Any]]:
    """An actions block with Previous and/or Next, or nothing when the list fits one page."""
    buttons = []
    if span.has_previous:
        buttons.append(_button(pager.previous_label, pager.previous_id, page_value(scope, span.previous_offset,
                                                                                   span.limit)))  # fmt: skip
    if span.has_next:
        buttons.append(_button(pager.next_label, pager.next_id, page_value(scope, span.next_offset, span.limit)))
    return [{"type": "actions", "elements": buttons}] if buttons else []


def _button(label: str, action_id: str, value: str) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}, "value": value}
