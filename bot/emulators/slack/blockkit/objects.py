"""Composition objects: text, option, option group and confirmation dialog, with Slack's limits.

Limits are those of Slack's Block Kit reference (docs.slack.dev/reference/block-kit): a text
object's ``text`` is at least one character, ``emoji`` belongs to ``plain_text`` only and
``verbatim`` to ``mrkdwn`` only; options carry 75-character labels and 150-character values.
"""

from __future__ import annotations

from typing import Any

from bot.emulators.slack.blockkit.schema import Check, Report, boolean, obj, one_of, string

PLAIN = ("plain_text",)
ANY_TEXT = ("plain_text", "mrkdwn")
URL_MAX = 3000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTION_DESCRIPTION_MAX = 75
OPTION_GROUP_LABEL_MAX = 75
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30
STYLES = ("primary", "danger")


def text(max_len: int, kinds: tuple[str, ...] = ANY_TEXT) -> Check:
    """A text object of 1..``max_len`` characters whose ``type`` is one of ``kinds``."""
    schemas = {
        "plain_text": obj(
            {"type": one_of("plain_text"), "text": string(max_len=max_len, min_len=1)}, {"emoji": boolean()}
        ),
        "mrkdwn": obj({"type": one_of("mrkdwn"), "text": string(max_len=max_len, min_len=1)}, {"verbatim": boolean()}),
    }

    def check(value: Any, pointer: str, report: Report) -> None:
        if not isinstance(value, dict):
            report.add(pointer, "must provide an object")
            return
        kind = value.get("type")
        if kind not in kinds:
            report.add(pointer, "failed to match all allowed schemas")
            report.add(f"{pointer}/type", f"must be one of: {', '.join(kinds)}")
            return
        schemas[kind](value, pointer, report)

    return check


def plain(max_len: int) -> Check:
    return text(max_len, PLAIN)


def option(*, text_kinds: tuple[str, ...] = PLAIN, with_url: bool = False) -> Check:
    """An option of a select, overflow, checkbox group or radio group."""
    optional: dict[str, Check] = {"description": plain(OPTION_DESCRIPTION_MAX)}
    if with_url:
        optional["url"] = string(max_len=URL_MAX, min_len=1)
    required = {
        "text": text(OPTION_TEXT_MAX, text_kinds),
        "value": string(max_len=OPTION_VALUE_MAX, min_len=1),
    }
    return obj(required, optional)


def confirm() -> Check:
    """A confirmation dialog: every label is required and plain text except the body."""
    return obj(
        {
            "title": plain(CONFIRM_TITLE_MAX),
            "text": text(CONFIRM_TEXT_MAX),
            "confirm": plain(CONFIRM_BUTTON_MAX),
            "deny": plain(CONFIRM_BUTTON_MAX),
        },
        {"style": one_of(*STYLES)},
    )


def same_option(a: Any, b: Any) -> bool:
    """Whether two options are the same choice (Slack matches on the label and the value)."""
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return False
    label_a, label_b = a.get("text"), b.get("text")
    text_a = label_a.get("text") if isinstance(label_a, dict) else None
    text_b = label_b.get("text") if isinstance(label_b, dict) else None
    return a.get("value") == b.get("value") and text_a == text_b
