"""Modal and Home tab view objects, as views.open/push/update/publish and ``response_action`` take them.

A modal needs a title (24 characters, like its submit and close labels) and a ``submit`` as soon
as it holds an input block; ``private_metadata`` is at most 3,000 characters and ``callback_id``
and ``external_id`` at most 255. Echoed fields (``id``, ``hash``, ``state``) are not part of a view
definition, so sending them back is an additional property.
"""

from __future__ import annotations

from typing import Any

from bot.emulators.slack.blockkit.blocks import VIEW_BLOCKS_MAX, check_blocks, has_input_block
from bot.emulators.slack.blockkit.elements import ID_MAX
from bot.emulators.slack.blockkit.objects import plain
from bot.emulators.slack.blockkit.schema import Check, Report, boolean, obj, one_of, string

MODAL_LABEL_MAX = 24
PRIVATE_METADATA_MAX = 3000


def _blocks(value: Any, pointer: str, report: Report) -> None:
    check_blocks(value, pointer, report, max_blocks=VIEW_BLOCKS_MAX)


def _submit_with_inputs(view: dict[str, Any], pointer: str, report: Report) -> None:
    if has_input_block(view.get("blocks")) and "submit" not in view:
        report.add(pointer, "missing required field: submit")


_COMMON: dict[str, Check] = {
    "private_metadata": string(max_len=PRIVATE_METADATA_MAX),
    "callback_id": string(max_len=ID_MAX),
    "external_id": string(max_len=ID_MAX),
}

VIEWS: dict[str, Check] = {
    "modal": obj(
        {"type": one_of("modal"), "title": plain(MODAL_LABEL_MAX), "blocks": _blocks},
        {
            **_COMMON,
            "submit": plain(MODAL_LABEL_MAX),
            "close": plain(MODAL_LABEL_MAX),
            "clear_on_close": boolean(),
            "notify_on_close": boolean(),
        },
        rules=(_submit_with_inputs,),
    ),
    "home": obj({"type": one_of("home"), "blocks": _blocks}, _COMMON),
}


def check_view(view: Any, kind: str, pointer: str, report: Report) -> None:
    """Validate ``view`` as a view of ``kind`` (``modal`` or ``home``)."""
    if not isinstance(view, dict):
        report.add(pointer, "must provide an object")
        return
    if view.get("type") != kind:
        report.add(f"{pointer}/type", f"must be '{kind}'")
        return
    VIEWS[kind](view, pointer, report)
