"""Slack's Block Kit validation, as the emulator applies it to messages, views and menu options.

Each function returns Slack-style problems (``must be less than 3001 characters
[json-pointer:/blocks/0/text/text]``); an empty list means Slack would accept the payload.
``strict=False`` keeps only the envelope checks (a list of typed objects within the block count,
view labels and ids), for callers that opt out of full validation.
"""

from __future__ import annotations

from typing import Any

from bot.emulators.slack.blockkit.blocks import MESSAGE_BLOCKS_MAX, VIEW_BLOCKS_MAX, check_blocks
from bot.emulators.slack.blockkit.elements import ID_MAX, SELECT_OPTIONS_MAX
from bot.emulators.slack.blockkit.objects import option, plain
from bot.emulators.slack.blockkit.schema import Report, array, obj, string
from bot.emulators.slack.blockkit.views import MODAL_LABEL_MAX, PRIVATE_METADATA_MAX, check_view

__all__ = [
    "MESSAGE_BLOCKS_MAX",
    "MESSAGE_TEXT_MAX",
    "VIEW_BLOCKS_MAX",
    "message_problems",
    "options_problems",
    "view_problems",
]
MESSAGE_TEXT_MAX = 40_000  # a message's top-level ``text``; longer is ``msg_too_long``


def message_problems(blocks: Any, *, pointer: str = "/blocks", strict: bool = True) -> list[str]:
    """Problems with a message's ``blocks`` (chat.*, response_url posts, command answers)."""
    report = Report()
    if strict:
        check_blocks(blocks, pointer, report, max_blocks=MESSAGE_BLOCKS_MAX)
    else:
        _envelope(blocks, pointer, report, MESSAGE_BLOCKS_MAX)
    return report.problems


def view_problems(view: Any, kind: str, *, pointer: str = "/view", strict: bool = True) -> list[str]:
    """Problems with a ``modal`` or ``home`` view definition."""
    report = Report()
    if strict:
        check_view(view, kind, pointer, report)
    elif not isinstance(view, dict):
        report.add(pointer, "must provide an object")
    elif view.get("type") != kind:
        report.add(f"{pointer}/type", f"must be '{kind}'")
    else:
        _envelope(view.get("blocks"), f"{pointer}/blocks", report, VIEW_BLOCKS_MAX)
        _view_labels(view, pointer, report)
    return report.problems


def options_problems(answer: Any) -> list[str]:
    """Problems with an options-load answer (``block_suggestion``): at most 100 options or groups."""
    groups = array(
        obj({"label": plain(75), "options": array(option(), max_items=SELECT_OPTIONS_MAX)}),
        max_items=SELECT_OPTIONS_MAX,
    )
    report = Report()
    obj({}, {"options": array(option(), max_items=SELECT_OPTIONS_MAX, min_items=0), "option_groups": groups})(
        answer, "", report
    )
    return report.problems


def _envelope(blocks: Any, pointer: str, report: Report, max_blocks: int) -> None:
    if not isinstance(blocks, list):
        report.add(pointer, "must provide an array")
        return
    if len(blocks) > max_blocks:
        report.add(pointer, f"no more than {max_blocks} items allowed")
    for index, block in enumerate(blocks):
        if not (isinstance(block, dict) and isinstance(block.get("type"), str)):
            report.add(f"{pointer}/{index}", "missing required field: type")


def _view_labels(view: dict[str, Any], pointer: str, report: Report) -> None:
    for name in ("title", "submit", "close"):
        label = view.get(name)
        if isinstance(label, dict) and len(str(label.get("text", ""))) > MODAL_LABEL_MAX:
            report.add(f"{pointer}/{name}/text", f"must be less than {MODAL_LABEL_MAX + 1} characters")
    for name, limit in (("callback_id", ID_MAX), ("external_id", ID_MAX), ("private_metadata", PRIVATE_METADATA_MAX)):
        string(max_len=limit)(view.get(name) or "", f"{pointer}/{name}", report)
