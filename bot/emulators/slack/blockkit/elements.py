"""Block elements (buttons, menus, inputs, images) and where each may stand.

Each element is an exact schema: a ``static_select`` may not carry ``min_query_length`` and an
``external_select`` may not carry ``options``, as Slack refuses additional properties. Limits come
from the element pages of Slack's Block Kit reference.
"""

from __future__ import annotations

from typing import Any

from bot.emulators.slack.blockkit.objects import (
    ANY_TEXT,
    OPTION_GROUP_LABEL_MAX,
    STYLES,
    URL_MAX,
    confirm,
    option,
    plain,
    same_option,
    text,
)
from bot.emulators.slack.blockkit.schema import (
    Check,
    Report,
    Rule,
    anything,
    array,
    boolean,
    integer,
    obj,
    one_of,
    string,
    typed,
)

ID_MAX = 255
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
PLACEHOLDER_MAX = 150
SELECT_OPTIONS_MAX = 100
OVERFLOW_OPTIONS_MAX = 5
CHOICE_OPTIONS_MAX = 10  # checkboxes and radio buttons
INPUT_LENGTH_MAX = 3000
ALT_TEXT_MAX = 2000

_ACTION_ID = {"action_id": string(max_len=ID_MAX, min_len=1)}
_FOCUS = {"focus_on_load": boolean()}
_PLACEHOLDER = {"placeholder": plain(PLACEHOLDER_MAX)}


def _kind(name: str) -> dict[str, Check]:
    return {"type": one_of(name)}


def _options_of(value: dict[str, Any]) -> list[Any]:
    options = value.get("options")
    if isinstance(options, list):
        return options
    groups = value.get("option_groups")
    if isinstance(groups, list):
        return [o for g in groups if isinstance(g, dict) for o in (g.get("options") or [])]
    return []


def _initial_among_options(value: dict[str, Any], pointer: str, report: Report) -> None:
    """``initial_option(s)`` must exactly match options the element offers."""
    options = _options_of(value)
    if "initial_option" in value and not any(same_option(value["initial_option"], o) for o in options):
        report.add(f"{pointer}/initial_option", "must match one of the provided options")
    initial = value.get("initial_options")
    for index, chosen in enumerate(initial if isinstance(initial, list) else []):
        if not any(same_option(chosen, o) for o in options):
            report.add(f"{pointer}/initial_options/{index}", "must match one of the provided options")


def _options_or_groups(value: dict[str, Any], pointer: str, report: Report) -> None:
    if ("options" in value) == ("option_groups" in value):
        report.add(pointer, "must provide exactly one of `options` or `option_groups`")


def _min_not_above_max(value: dict[str, Any], pointer: str, report: Report) -> None:
    low, high = value.get("min_length"), value.get("max_length")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        report.add(f"{pointer}/min_length", "must be less than or equal to max_length")


_OPTION_GROUP = obj(
    {
        "label": plain(OPTION_GROUP_LABEL_MAX),
        "options": array(option(), max_items=SELECT_OPTIONS_MAX),
    }
)


def _select(name: str, multi: bool, own: dict[str, Check], rules: tuple[Rule, ...] = ()) -> Check:
    """A menu: its ``own`` fields, the shared ones and a single or multiple initial choice."""
    optional: dict[str, Check] = {**_ACTION_ID, **_FOCUS, **_PLACEHOLDER, "confirm": confirm(), **own}
    if multi:
        optional["initial_options"] = array(option(), max_items=SELECT_OPTIONS_MAX)
        optional["max_selected_items"] = integer(low=1)
    else:
        optional["initial_option"] = option()
    return obj(_kind(name), optional, rules=rules)


def _static_select(name: str, multi: bool) -> Check:
    own = {
        "options": array(option(), max_items=SELECT_OPTIONS_MAX),
        "option_groups": array(_OPTION_GROUP, max_items=SELECT_OPTIONS_MAX),
    }
    return _select(name, multi, own, rules=(_options_or_groups, _initial_among_options))


def _external_select(name: str, multi: bool) -> Check:
    return _select(name, multi, {"min_query_length": integer(low=0)})


def _entity_select(name: str, initial: str, extra: dict[str, Check]) -> Check:
    """users/conversations/channels menus, single or multi (``initial`` names the preset field)."""
    multi = name.startswith("multi_")
    optional: dict[str, Check] = {**_ACTION_ID, **_FOCUS, **_PLACEHOLDER, "confirm": confirm(), **extra}
    if multi:
        optional[initial + "s"] = array(string(min_len=1), max_items=SELECT_OPTIONS_MAX)
        optional["max_selected_items"] = integer(low=1)
    else:
        optional[initial] = string(min_len=1)
    return obj(_kind(name), optional)


_CONVERSATION_EXTRA = {
    "default_to_current_conversation": boolean(),
    "response_url_enabled": boolean(),
    "filter": anything(),
}

BUTTON = obj(
    {**_kind("button"), "text": plain(BUTTON_TEXT_MAX)},
    {
        **_ACTION_ID,
        "url": string(max_len=URL_MAX, min_len=1),
        "value": string(max_len=BUTTON_VALUE_MAX, min_len=1),
        "style": one_of(*STYLES),
        "confirm": confirm(),
        "accessibility_label": string(max_len=BUTTON_TEXT_MAX, min_len=1),
    },
)
IMAGE = obj(
    {**_kind("image"), "alt_text": string(max_len=ALT_TEXT_MAX, min_len=1)},
    {"image_url": string(max_len=URL_MAX, min_len=1), "slack_file": anything()},
)
OVERFLOW = obj(
    {**_kind("overflow"), "options": array(option(with_url=True), max_items=OVERFLOW_OPTIONS_MAX)},
    {**_ACTION_ID, "confirm": confirm()},
)
CHECKBOXES = obj(
    {**_kind("checkboxes"), "options": array(option(text_kinds=ANY_TEXT), max_items=CHOICE_OPTIONS_MAX)},
    {
        **_ACTION_ID,
        **_FOCUS,
        "initial_options": array(option(text_kinds=ANY_TEXT), max_items=CHOICE_OPTIONS_MAX),
        "confirm": confirm(),
    },
    rules=(_initial_among_options,),
)
RADIO_BUTTONS = obj(
    {**_kind("radio_buttons"), "options": array(option(text_kinds=ANY_TEXT), max_items=CHOICE_OPTIONS_MAX)},
    {**_ACTION_ID, **_FOCUS, "initial_option": option(text_kinds=ANY_TEXT), "confirm": confirm()},
    rules=(_initial_among_options,),
)
DATEPICKER = obj(
    _kind("datepicker"), {**_ACTION_ID, **_FOCUS, **_PLACEHOLDER, "initial_date": string(), "confirm": confirm()}
)
TIMEPICKER = obj(
    _kind("timepicker"),
    {**_ACTION_ID, **_FOCUS, **_PLACEHOLDER, "initial_time": string(), "timezone": string(), "confirm": confirm()},
)
DATETIMEPICKER = obj(
    _kind("datetimepicker"), {**_ACTION_ID, **_FOCUS, "initial_date_time": integer(low=0), "confirm": confirm()}
)
PLAIN_TEXT_INPUT = obj(
    _kind("plain_text_input"),
    {
        **_ACTION_ID,
        **_FOCUS,
        **_PLACEHOLDER,
        "initial_value": string(),
        "multiline": boolean(),
        "min_length": integer(low=0, high=INPUT_LENGTH_MAX),
        "max_length": integer(low=1, high=INPUT_LENGTH_MAX),
        "dispatch_action_config": anything(),
    },
    rules=(_min_not_above_max,),
)
_TEXTISH_INPUT = {
    **_ACTION_ID,
    **_FOCUS,
    **_PLACEHOLDER,
    "initial_value": string(),
    "dispatch_action_config": anything(),
}
NUMBER_INPUT = obj(
    {**_kind("number_input"), "is_decimal_allowed": boolean()},
    {**_TEXTISH_INPUT, "min_value": string(), "max_value": string()},
)

ELEMENTS: dict[str, Check] = {
    "button": BUTTON,
    "image": IMAGE,
    "overflow": OVERFLOW,
    "checkboxes": CHECKBOXES,
    "radio_buttons": RADIO_BUTTONS,
    "datepicker": DATEPICKER,
    "timepicker": TIMEPICKER,
    "datetimepicker": DATETIMEPICKER,
    "plain_text_input": PLAIN_TEXT_INPUT,
    "number_input": NUMBER_INPUT,
    "email_text_input": obj(_kind("email_text_input"), _TEXTISH_INPUT),
    "url_text_input": obj(_kind("url_text_input"), _TEXTISH_INPUT),
    "rich_text_input": obj(_kind("rich_text_input"), {**_TEXTISH_INPUT, "initial_value": anything()}),
    "file_input": obj(_kind("file_input"), {**_ACTION_ID, "filetypes": anything(), "max_files": integer(low=1)}),
    "static_select": _static_select("static_select", multi=False),
    "multi_static_select": _static_select("multi_static_select", multi=True),
    "external_select": _external_select("external_select", multi=False),
    "multi_external_select": _external_select("multi_external_select", multi=True),
    "users_select": _entity_select("users_select", "initial_user", {}),
    "multi_users_select": _entity_select("multi_users_select", "initial_user", {}),
    "conversations_select": _entity_select("conversations_select", "initial_conversation", _CONVERSATION_EXTRA),
    "multi_conversations_select": _entity_select(
        "multi_conversations_select", "initial_conversation", _CONVERSATION_EXTRA
    ),
    "channels_select": _entity_select("channels_select", "initial_channel", {"response_url_enabled": boolean()}),
    "multi_channels_select": _entity_select("multi_channels_select", "initial_channel", {}),
}

_MENUS = {name for name in ELEMENTS if name.endswith("_select")}
_PICKERS = {"checkboxes", "radio_buttons", "datepicker", "timepicker", "datetimepicker"}
ACCESSORY_TYPES = {"button", "image", "overflow", *_MENUS, *_PICKERS}
ACTIONS_TYPES = {"button", "overflow", *_MENUS, *_PICKERS, "rich_text_input"}
INPUT_TYPES = {
    *_MENUS,
    *_PICKERS,
    "plain_text_input",
    "number_input",
    "email_text_input",
    "url_text_input",
    "rich_text_input",
    "file_input",
}


def element(allowed: set[str]) -> Check:
    """An element of one of the ``allowed`` types; any other element is an unsupported type here."""
    return typed({name: ELEMENTS[name] for name in allowed})


def context_element() -> Check:
    """Context blocks hold images and text objects only."""
    return typed({"image": IMAGE, "plain_text": text(3000), "mrkdwn": text(3000)})
