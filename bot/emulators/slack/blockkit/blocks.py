"""Layout blocks and block lists: per-block limits plus the rules that span several blocks.

``block_id`` is unique within one message or view, and ``action_id`` within one block; both are at
most 255 characters. A message holds at most 50 blocks, a modal or Home tab at most 100.
"""

from __future__ import annotations

from typing import Any

from bot.emulators.slack.blockkit.elements import (
    ACCESSORY_TYPES,
    ACTIONS_TYPES,
    ALT_TEXT_MAX,
    ID_MAX,
    INPUT_TYPES,
    context_element,
    element,
)
from bot.emulators.slack.blockkit.objects import URL_MAX, plain, text
from bot.emulators.slack.blockkit.schema import Check, Report, anything, array, boolean, obj, one_of, string, typed

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
INPUT_LABEL_MAX = 2000
INPUT_HINT_MAX = 2000
IMAGE_TITLE_MAX = 2000

_BLOCK_ID = {"block_id": string(max_len=ID_MAX, min_len=1)}


def _kind(name: str) -> dict[str, Check]:
    return {"type": one_of(name)}


def _text_or_fields(block: dict[str, Any], pointer: str, report: Report) -> None:
    if "text" not in block and "fields" not in block:
        report.add(pointer, "must define either `text` or `fields`")


def report_duplicates(items: Any, field: str, pointer: str, report: Report) -> None:
    """Report every entry of ``items`` whose ``field`` repeats an earlier entry's."""
    seen: set[str] = set()
    for index, item in enumerate(items if isinstance(items, list) else []):
        value = item.get(field) if isinstance(item, dict) else None
        if isinstance(value, str):
            if value in seen:
                report.add(f"{pointer}/{index}/{field}", f"duplicate {field}: {value}")
            seen.add(value)


def _unique_action_ids(block: dict[str, Any], pointer: str, report: Report) -> None:
    report_duplicates(block.get("elements"), "action_id", f"{pointer}/elements", report)


BLOCKS: dict[str, Check] = {
    "section": obj(
        _kind("section"),
        {
            **_BLOCK_ID,
            "text": text(SECTION_TEXT_MAX),
            "fields": array(text(SECTION_FIELD_TEXT_MAX), max_items=SECTION_FIELDS_MAX),
            "accessory": element(ACCESSORY_TYPES),
            "expand": boolean(),
        },
        rules=(_text_or_fields,),
    ),
    "divider": obj(_kind("divider"), _BLOCK_ID),
    "header": obj({**_kind("header"), "text": plain(HEADER_TEXT_MAX)}, _BLOCK_ID),
    "context": obj(
        {**_kind("context"), "elements": array(context_element(), max_items=CONTEXT_ELEMENTS_MAX)}, _BLOCK_ID
    ),
    "actions": obj(
        {**_kind("actions"), "elements": array(element(ACTIONS_TYPES), max_items=ACTIONS_ELEMENTS_MAX)},
        _BLOCK_ID,
        rules=(_unique_action_ids,),
    ),
    "input": obj(
        {**_kind("input"), "label": plain(INPUT_LABEL_MAX), "element": element(INPUT_TYPES)},
        {**_BLOCK_ID, "hint": plain(INPUT_HINT_MAX), "optional": boolean(), "dispatch_action": boolean()},
    ),
    "image": obj(
        {**_kind("image"), "alt_text": string(max_len=ALT_TEXT_MAX, min_len=1)},
        {
            **_BLOCK_ID,
            "image_url": string(max_len=URL_MAX, min_len=1),
            "slack_file": anything(),
            "title": plain(IMAGE_TITLE_MAX),
        },
    ),
    # Blocks the bot does not render are accepted with their block_id checked only.
    "rich_text": obj({**_kind("rich_text"), "elements": anything()}, _BLOCK_ID),
    "markdown": obj({**_kind("markdown"), "text": string(max_len=12_000, min_len=1)}, _BLOCK_ID),
}

_BLOCK = typed(BLOCKS, what="block type")


def check_blocks(blocks: Any, pointer: str, report: Report, *, max_blocks: int) -> None:
    """A list of at most ``max_blocks`` valid blocks with unique ``block_id``s."""
    array(_BLOCK, max_items=max_blocks, min_items=0)(blocks, pointer, report)
    report_duplicates(blocks, "block_id", pointer, report)


def has_input_block(blocks: Any) -> bool:
    return isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
