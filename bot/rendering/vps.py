"""Block Kit for servers: lists, one server, plans, the create and delete modals, confirmations,
progress and notices (pure: no I/O). Labels and names pass through ``escape_mrkdwn``."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.money import format_money, format_rate
from bot.panel_links import PanelLinks
from bot.rendering.dates import local_time
from bot.rendering.escape import code, escape_mrkdwn, mrkdwn
from bot.rendering.fit import (
    CONFIRM_TEXT,
    IN_PANEL,
    INPUT_HINT,
    MESSAGE_BLOCKS,
    SECTION_TEXT,
    capped_sections,
    clip,
    clip_user_text,
    lines_message,
)
from bot.rendering.paging import Pager, page_buttons, page_context, page_range
from bot.rendering.panel import panel_button
from bot.rendering.pickers import is_searchable, menu
from bot.rendering.status import server_status
from bot.services.choices import Choice
from bot.services.server_states import ServerState, allowed_actions, state_of

if TYPE_CHECKING:
    from bot.services.vps import PlanView, ServerList, ServerView
    from bot.services.vps_actions import ResizePreview
    from bot.services.vps_create import CreateCatalogue, CreateForm

# Interactive ids, each bound by exactly one listener (handlers/actions/vps.py, handlers/views/vps.py).
POWER_ACTION_IDS = {"start": "vps_power_start", "stop": "vps_power_stop", "reboot": "vps_power_reboot"}
CREATE_OPEN_ACTION_ID = "vps_create_open"
REBUILD_PICK_ACTION_ID = "vps_rebuild_pick"
REBUILD_IMAGE_ACTION_ID = "vps_rebuild_image"
REBUILD_CONFIRM_ACTION_ID = "vps_rebuild_confirm"
RESIZE_PICK_ACTION_ID = "vps_resize_pick"
RESIZE_PLAN_ACTION_ID = "vps_resize_plan"
RESIZE_CONFIRM_ACTION_ID = "vps_resize_confirm"
DELETE_OPEN_ACTION_ID = "vps_delete_open"
CANCEL_ACTION_ID = "vps_cancel"
REFRESH_ACTION_ID = "vps_refresh"
#: Block ids of a server's buttons: on a row of the list, or on the card of one server.
LIST_ROW_BLOCK_PREFIX = "vps_row_"
CARD_BLOCK_PREFIX = "vps_actions_"
CREATE_CALLBACK_ID = "vps_create_modal"
DELETE_CALLBACK_ID = "vps_delete_modal"
SERVER_PAGER = Pager(previous_id="vps_list_previous", next_id="vps_list_next", noun="Servers")
VALUE = "value"  # the action id of every input inside the modals (but searched menus)
#: The action id of the create form's menus too long to list (their options endpoint dispatches on the block).
CREATE_SEARCH_ACTION_ID = "vps_create_search"
MENU_PLACEHOLDERS = {
    "plan": "Choose a plan",
    "region": "Choose a region",
    "image": "Choose an image",
    "stackscript": "None, or choose a StackScript",
}

#: Modal block ids by the field names the services use in FieldErrors.
FIELD_BLOCKS = {
    "label": "vps_label",
    "plan": "vps_plan",
    "region": "vps_region",
    "image": "vps_image",
    "stackscript": "vps_stackscript",
    "stackscript_data": "vps_stackscript_data",
    "ssh_key": "vps_ssh_key",
    "backups": "vps_backups",
    "confirm": "vps_delete_confirm",
}
#: Linode's field names (400 answers) mapped to our modal fields.
LINODE_FIELDS = {
    "label": "label",
    "type": "plan",
    "region": "region",
    "image": "image",
    "authorized_keys": "ssh_key",
    "stackscript_id": "stackscript",
    "stackscript_data": "stackscript_data",
}

NO_SERVERS = "No servers yet."
CANCELLED = "Cancelled; nothing was changed."


def hourly(amount: Decimal, currency: str = "USD") -> str:
    """`$0.0342/h`: four decimals, since hourly prices are fractions of a cent."""
    return f"{format_rate(amount, currency)}/h"


def _section(text: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if accessory:
        block["accessory"] = accessory
    return block


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, value: str, style: str | None = None, **extra: Any) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    button.update(extra)
    return button


def _message(text: str, blocks: list[dict[str, Any]], *, replace: bool | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"response_type": "ephemeral", "text": text, "blocks": blocks}
    if replace is not None:
        message["replace_original"] = replace
    return message


def _status(status: str) -> str:
    return server_status(status)


def _server_line(server: ServerView, note: RowNote | None = None) -> str:
    plan = escape_mrkdwn(server.plan_name or server.plan_id)
    parts = [
        f"*{escape_mrkdwn(server.label)}*",
        _status(server.status),
        plan,
        escape_mrkdwn(server.region or "?"),
        code(server.ip_address) if server.ip_address else "no IP yet",
        hourly(server.hourly),
    ]
    return " · ".join(parts) + (f"\n{note.text}" if note else "")


@dataclass(frozen=True)
class RowNote:
    """What is happening to one server, shown under its row (or card) where the click was."""

    text: str  # mrkdwn, already escaped
    busy: bool  # while it runs the row offers no buttons (it cannot be clicked twice)


def doing_note(doing: str) -> RowNote:
    return RowNote(f":hourglass_flowing_sand: {escape_mrkdwn(doing)}…", busy=True)


def done_note(done: str) -> RowNote:
    return RowNote(f":white_check_mark: {escape_mrkdwn(done)}", busy=False)


def failed_note(message: str) -> RowNote:
    return RowNote(f":no_entry_sign: {escape_mrkdwn(message)}", busy=False)


#: The button each allowed verb gets (text, action id, style); the state rule is in `server_states`.
VERB_BUTTONS = {
    "start": ("Start", POWER_ACTION_IDS["start"], None),
    "stop": ("Stop", POWER_ACTION_IDS["stop"], None),
    "reboot": ("Reboot", POWER_ACTION_IDS["reboot"], None),
    "rebuild": ("Rebuild…", REBUILD_PICK_ACTION_ID, None),
    "resize": ("Resize…", RESIZE_PICK_ACTION_ID, None),
    "delete": ("Delete…", DELETE_OPEN_ACTION_ID, "danger"),
}
STOP_CONFIRM = (
    "{label} shuts down until someone starts it again. A stopped server is still billed by the hour, "
    "as Linode bills it; delete it to stop paying."
)
REBOOT_CONFIRM = "{label} restarts: whatever runs on it is down for a minute or two."


def power_confirm(verb: str, label: str) -> dict[str, Any]:
    """Slack's own confirmation dialog in front of Stop and Reboot (text ≤ 300 characters)."""
    template = STOP_CONFIRM if verb == "stop" else REBOOT_CONFIRM
    text = clip(template.format(label=f"*{clip_user_text(label, 80)}*"), CONFIRM_TEXT)
    word = VERB_BUTTONS[verb][0]
    return {
        "title": _plain(f"{word} the server?"),
        "text": {"type": "mrkdwn", "text": text},
        "confirm": _plain(word),
        "deny": _plain("Cancel"),
        **({"style": "danger"} if verb == "stop" else {}),
    }


def server_buttons(server: ServerView, *, in_list: bool = False) -> dict[str, Any]:
    """Only what the server's state allows (running: Stop/Reboot…; stopped: Start…; busy: Refresh)."""
    value = str(server.id)
    elements = []
    for verb in allowed_actions(server.status):
        text, action_id, style = VERB_BUTTONS[verb]
        extra = {"confirm": power_confirm(verb, server.label)} if verb in ("stop", "reboot") else {}
        elements.append(_button(text, action_id, value, style=style, **extra))
    if state_of(server.status) in (ServerState.BUSY, ServerState.OTHER):
        elements.append(_button("Refresh", REFRESH_ACTION_ID, value))
    prefix = LIST_ROW_BLOCK_PREFIX if in_list else CARD_BLOCK_PREFIX
    return {"type": "actions", "block_id": f"{prefix}{server.id.hex[:12]}", "elements": elements}


def _row(server: ServerView, text: str, panel: PanelLinks | None) -> dict[str, Any]:
    return _section(text, panel_button(panel.server(server.id), "server") if panel else None)


def render_server_list(
    listing: ServerList, command: str, *, notes: dict[uuid.UUID, RowNote] | None = None,
    panel: PanelLinks | None = None, replace: bool | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One page of servers, each with the buttons its state allows (a page fits Slack's 50 blocks), and
    Previous/Next; `notes` mark rows an action is running on (shown in place, without their buttons)."""
    notes = notes or {}
    title = f"Servers of {escape_mrkdwn(listing.organization)}"
    blocks: list[dict[str, Any]] = [_section(f"*{title}*")]
    if not listing.servers:
        blocks.append(_section(NO_SERVERS))
    else:
        blocks.append(page_context(SERVER_PAGER, listing.span))
    for server in listing.servers:
        note = notes.get(server.id)
        blocks.append(_row(server, _server_line(server, note), panel))
        if listing.can_manage and not (note and note.busy):
            blocks.append(server_buttons(server, in_list=True))
    blocks += page_buttons(SERVER_PAGER, listing.span, listing.organization_id)
    if listing.can_manage:
        create = _button("Create server", CREATE_OPEN_ACTION_ID, str(listing.organization_id), style="primary")
        blocks.append({"type": "actions", "elements": [create]})
    blocks.append(_context(f"{code(f'{command} vps <label>')} shows one · `{command} vps plans` lists prices"))
    shown = page_range(SERVER_PAGER, listing.span) if listing.servers else NO_SERVERS
    return _message(f"{title}: {shown}", blocks, replace=replace)


def render_server(
    server: ServerView, *, can_manage: bool, note: RowNote | None = None, panel: PanelLinks | None = None,
    replace: bool | None = None,
) -> dict[str, Any]:  # fmt: skip
    lines = [
        f"*{escape_mrkdwn(server.label)}* {_status(server.status)}",
        f"Plan: {escape_mrkdwn(server.plan_name or server.plan_id)} · {hourly(server.hourly)}",
        f"Region: {escape_mrkdwn(server.region or '?')} · Image: {escape_mrkdwn(server.image or '?')}",
        f"IPv4: {code(server.ip_address) if server.ip_address else 'not assigned yet'}",
    ]
    lines.append(f"Created {local_time(server.created_at)}")
    if server.last_billed_at:
        lines.append(f"Billed up to {local_time(server.last_billed_at)}")
    if note:
        lines.append(note.text)
    blocks = [_row(server, "\n".join(lines), panel)]
    if can_manage and not (note and note.busy):
        blocks.append(server_buttons(server))
    text = mrkdwn("Server {label}: {status}", label=server.label, status=server.status)
    return _message(text, blocks, replace=replace)


def render_plans(plans: list[PlanView]) -> dict[str, Any]:
    if not plans:
        return _message("No plans are offered right now.", [_section("No plans are offered right now.")])
    lines = [
        f"*{clip_user_text(p.name, 200)}* ({code(p.linode_type)}) · {hourly(p.hourly)} · "
        f"{format_money(p.monthly)}/month" + (f" · {clip_user_text(p.region, 100)}" if p.region else "")
        for p in plans
    ]
    blocks = [_section("*Server plans*"), *capped_sections(lines, max_blocks=MESSAGE_BLOCKS - 2, how=IN_PANEL)]
    blocks.append(_context("Hourly = monthly price / 730. The first hour is charged when a server is created."))
    return _message(f"{len(plans)} server plan(s)", blocks)


def render_problem(message: str, *, replace: bool = True) -> dict[str, Any]:
    text = f":no_entry_sign: {clip_user_text(message, SECTION_TEXT - 20)}"
    return _message(text, [_section(text)], replace=replace)


def _progress_prefix(done: bool) -> str:
    """A tick once done; until then the status's own emoji shows progress (one hourglass, not two)."""
    return ":white_check_mark: " if done else ""


def render_progress(label: str, doing: str, status: str, *, done: bool = False) -> dict[str, Any]:
    text = f"{_progress_prefix(done)}{escape_mrkdwn(doing)} *{escape_mrkdwn(label)}* — {_status(status)}"
    return _message(text, [_section(text)], replace=True)


PROGRESS_POINTER = "{doing} *{label}*: its progress is in our direct messages (this app's Messages tab)."


def render_progress_pointer(label: str, doing: str) -> dict[str, Any]:
    """Where a typed action's one progress message is, when it was typed outside the DM with the bot."""
    text = ":hourglass_flowing_sand: " + PROGRESS_POINTER.format(doing=escape_mrkdwn(doing), label=escape_mrkdwn(label))
    return _message(text, [_section(text)])


# --- rebuild and resize ------------------------------------------------------------------------


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value[:150]}


def rebuild_choices(server_id: str, images: list[tuple[str, str]]) -> list[Choice]:
    """The images a server can be rebuilt from; each value names the server too (`<server id>|<image>`)."""
    return [Choice(f"{server_id}|{image}", name) for image, name in images]


def render_rebuild_picker(
    server_id: str, label: str, images: list[tuple[str, str]], *, chosen: str | None = None, error: str | None = None
) -> dict[str, Any]:
    """The image picker; after Linode refused a rebuild, with that image still chosen and Linode's words under it."""
    text = f"Rebuild *{escape_mrkdwn(label)}*: choose the image to reinstall from."
    choices = rebuild_choices(server_id, images)
    return _picker_message(mrkdwn("Rebuild {label}", label=label), text, choices, REBUILD_IMAGE_ACTION_ID,
                           "Choose an image", server_id=server_id, chosen=chosen, error=error)  # fmt: skip


def _picker_message(
    fallback: str, text: str, choices: list[Choice], action_id: str, placeholder: str, *, server_id: str,
    chosen: str | None, error: str | None,
) -> dict[str, Any]:  # fmt: skip
    """A server's one-menu picker with Cancel; `chosen` (the part after `<server id>|`) is preselected and
    `error` sits right under the menu."""
    initial = next((c for c in choices if c.value == f"{server_id}|{chosen}"), None) if chosen else None
    select = menu(choices, action_id=action_id, placeholder=placeholder, initial=initial)
    blocks = [{**_section(text, select), "block_id": server_block(action_id, server_id)}]
    if error:
        blocks.append(_context(f":warning: {clip_user_text(error, 2000)}"))
    blocks.append({"type": "actions", "elements": [_button("Cancel", CANCEL_ACTION_ID, "x")]})
    return _message(fallback, blocks, replace=True)


def server_block(action_id: str, server_id: str) -> str:
    """The block id of a server's picker: a search from it names the server (its options are that server's)."""
    return f"{action_id}:{server_id}"


def searched_server(block_id: str) -> str:
    """The server id in a picker's block id (see `server_block`), or "" if it is not one."""
    return block_id.partition(":")[2]


def render_rebuild_confirm(server_id: str, label: str, image: str) -> dict[str, Any]:
    text = (
        f":warning: Rebuild *{escape_mrkdwn(label)}* from {code(image)}? This *erases all data on its disks* and "
        "sets a new root password (stored encrypted; the panel's console can use it). The price does not change."
    )
    confirm = {
        "title": {"type": "plain_text", "text": "Rebuild server?"},
        "text": {"type": "mrkdwn", "text": f"All data on {clip_user_text(label, 200)} will be erased."},
        "confirm": {"type": "plain_text", "text": "Rebuild"},
        "deny": {"type": "plain_text", "text": "Keep it"},
        "style": "danger",
    }
    elements = [
        _button("Rebuild", REBUILD_CONFIRM_ACTION_ID, f"{server_id}|{image}", style="danger", confirm=confirm),
        _button("Cancel", CANCEL_ACTION_ID, "x"),
    ]
    return _message(mrkdwn("Rebuild {label} from {image}?", label=label, image=image),
                    [_section(text), {"type": "actions", "elements": elements}], replace=True)  # fmt: skip


def resize_choices(server_id: str, plans: list[PlanView]) -> list[Choice]:
    """The plans a server can move to; each value names the server too (`<server id>|<plan id>`)."""
    return [Choice(f"{server_id}|{p.id}", f"{p.name} · {hourly(p.hourly)} · {format_money(p.monthly)}/mo")
            for p in plans]  # fmt: skip


def render_resize_picker(
    server_id: str, label: str, plans: list[PlanView], *, chosen: str | None = None, error: str | None = None
) -> dict[str, Any]:
    """The plan picker; after Linode refused a resize, with that plan still chosen and Linode's words under it."""
    text = f"Resize *{escape_mrkdwn(label)}*: choose the new plan."
    choices = resize_choices(server_id, plans)
    return _picker_message(mrkdwn("Resize {label}", label=label), text, choices, RESIZE_PLAN_ACTION_ID,
                           "Choose a plan", server_id=server_id, chosen=chosen, error=error)  # fmt: skip


def signed(amount: Decimal, *, per_hour: bool) -> str:
    sign = "+" if amount >= 0 else "-"
    if per_hour:
        return sign + hourly(abs(amount))
    return sign + format_money(abs(amount)) + "/month"


def render_resize_confirm(preview: ResizePreview) -> dict[str, Any]:
    text = (
        f":warning: Resize *{escape_mrkdwn(preview.label)}* from {escape_mrkdwn(preview.current_plan or '?')} "
        f"({hourly(preview.current_hourly)}) to *{escape_mrkdwn(preview.new_plan)}* ({hourly(preview.new_hourly)})?\n"
        f"Price difference: *{signed(preview.hourly_difference, per_hour=True)}* "
        f"({signed(preview.monthly_difference, per_hour=False)}). The server is powered off while Linode migrates it."
    )
    confirm = {
        "title": {"type": "plain_text", "text": "Resize server?"},
        "text": {"type": "mrkdwn", "text": "The server restarts on the new plan."},
        "confirm": {"type": "plain_text", "text": "Resize"},
        "deny": {"type": "plain_text", "text": "Keep it"},
        "style": "danger",
    }
    value = f"{preview.server_id}|{preview.new_plan_id}"
    elements = [
        _button("Resize", RESIZE_CONFIRM_ACTION_ID, value, style="danger", confirm=confirm),
        _button("Cancel", CANCEL_ACTION_ID, "x"),
    ]
    return _message(mrkdwn("Resize {label}?", label=preview.label),
                    [_section(text), {"type": "actions", "elements": elements}], replace=True)  # fmt: skip


def parse_pair(value: str) -> tuple[str, str] | None:
    server_id, sep, choice = value.partition("|")
    return (server_id, choice) if sep and server_id and choice else None


# --- modals ------------------------------------------------------------------------------------


def _modal(title: str, blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": blocks}
    view.update(extra)
    return view


def loading_modal(title: str = "Create a server") -> dict[str, Any]:
    return _modal(title, [_section(":hourglass_flowing_sand: Loading plans, regions and images…")],
                  close={"type": "plain_text", "text": "Close"})  # fmt: skip


def message_modal(title: str, message: str) -> dict[str, Any]:
    """A modal saying one thing; `message` is plain text (a refusal, what the user typed), escaped here."""
    return _note_modal(title, clip_user_text(message, SECTION_TEXT))


def _note_modal(title: str, text: str) -> dict[str, Any]:
    return _modal(title, [_section(text)], close={"type": "plain_text", "text": "Close"})


def _input(
    field: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str | None = None
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": FIELD_BLOCKS[field],
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": VALUE, **element},
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": clip(hint, INPUT_HINT)}
    return block


def create_modal(
    form: CreateForm, *, metadata: str, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The create form; `values` (a refused submission, as `parse_create_submission` read it) fill it in
    again, and each of `errors` sits right under the field it concerns."""
    errors, given = errors or {}, values or {}
    choices = create_choices(form)
    blocks: list[dict[str, Any]] = [
        _context(
            f"Organisation *{escape_mrkdwn(form.organization)}* · wallet *{format_money(form.balance, form.currency)}*."
            " The first hour is charged when the server is created; then hourly. A strong root password is"
            " generated and stored encrypted."
        ),
        _input("label", "Label", _typed(given, "label", {"type": "plain_text_input", "max_length": 64,
                                                          "placeholder": _plain("web-1")})),
    ]  # fmt: skip
    if choices["plan"]:
        blocks.append(_input("plan", "Plan (hourly · monthly)", _create_menu("plan", choices, given)))
    else:
        blocks.append(_section("No plans are offered right now."))
    blocks.append(_input("region", "Region", _create_menu("region", choices, given),
                         hint="Plans with a fixed region always use it."))  # fmt: skip
    blocks.append(_input("image", "Image", _create_menu("image", choices, given)))
    if form.stackscripts:
        script_menu = _create_menu("stackscript", choices, given)
        blocks.append(_input("stackscript", "StackScript", script_menu, optional=True))
        hint = " | ".join(
            f"{s.label}: " + (", ".join(_udf_hint(f) for f in s.fields) or "no fields") for s in form.stackscripts
        )
        blocks.append(_input("stackscript_data", "StackScript fields (NAME=value per line)",
                             _typed(given, "stackscript_data", {"type": "plain_text_input", "multiline": True}),
                             optional=True, hint=hint))  # fmt: skip
    key_input = {"type": "plain_text_input", "multiline": True, "placeholder": _plain(SSH_KEY_PLACEHOLDER)}
    blocks.append(_input("ssh_key", "SSH public key", _typed(given, "ssh_key", key_input), optional=True,
                         hint="Optional; the contents of your .pub file."))  # fmt: skip
    backups = _option("Enable Linode backups", "on")
    boxes: dict[str, Any] = {"type": "checkboxes", "options": [backups]}
    if given.get("backups"):
        boxes["initial_options"] = [backups]
    blocks.append(_input("backups", "Backups", boxes, optional=True))
    return _modal(
        "Create a server",
        _errors_under_fields(blocks, errors),
        callback_id=CREATE_CALLBACK_ID,
        private_metadata=metadata,
        submit={"type": "plain_text", "text": "Create"},
        close={"type": "plain_text", "text": "Cancel"},
    )


SSH_KEY_PLACEHOLDER = "ssh-ed25519 AAAA… you@laptop"


def _typed(given: dict[str, Any], field: str, element: dict[str, Any]) -> dict[str, Any]:
    """A text input with what was typed in it before (a text input's value is at most 3,000 characters)."""
    value = str(given.get(field) or "")
    return {**element, "initial_value": value[:3000]} if value else element


def _errors_under_fields(blocks: list[dict[str, Any]], errors: dict[str, str]) -> list[dict[str, Any]]:
    """Each error as a warning right under its field's input (a modal shown again cannot use Slack's own
    field errors: those only answer a submission); errors for fields the form lacks come last."""
    placed: list[dict[str, Any]] = []
    unplaced = dict(errors)
    for block in blocks:
        placed.append(block)
        field = next((f for f in unplaced if FIELD_BLOCKS.get(f) == block.get("block_id")), None)
        if field is not None:
            placed.append(_field_error(field, unplaced.pop(field)))
    return placed + [_field_error(field, message) for field, message in unplaced.items()]


def _field_error(field: str, message: str) -> dict[str, Any]:
    return _context(f":warning: *{escape_mrkdwn(field.replace('_', ' '))}*: {clip_user_text(message, 2000)}")


def create_choices(catalogue: CreateCatalogue) -> dict[str, list[Choice]]:
    """The create form's menus by field, as the form shows them and its options endpoint searches them."""
    return {
        "plan": [Choice(str(p.id), f"{p.name} · {hourly(p.hourly)} · {format_money(p.monthly)}/mo")
                 for p in catalogue.plans],
        "region": [Choice(rid, f"{name} ({rid})") for rid, name in catalogue.regions],
        "image": [Choice(iid, name) for iid, name in catalogue.images],
        "stackscript": [Choice(str(s.id), s.label) for s in catalogue.stackscripts],
    }  # fmt: skip


def _create_menu(field: str, choices: dict[str, list[Choice]], given: dict[str, Any]) -> dict[str, Any]:
    """A field's menu: static while it fits, else searched through `CREATE_SEARCH_ACTION_ID`; with the
    choice made before (a refused submission) still chosen."""
    searchable = is_searchable(len(choices[field]))
    action_id = CREATE_SEARCH_ACTION_ID if searchable else VALUE
    chosen = given.get(field)
    initial = next((c for c in choices[field] if c.value == chosen), None) if chosen else None
    return menu(
        choices[field], action_id=action_id, placeholder=MENU_PLACEHOLDERS[field], searchable=searchable,
        initial=initial,
    )  # fmt: skip


def searched_field(block_id: str) -> str | None:
    """Which create-form menu a search came from (its input block), or None."""
    return next((f for f in MENU_PLACEHOLDERS if FIELD_BLOCKS[f] == block_id), None)


def _udf_hint(field: dict[str, Any]) -> str:
    name = str(field.get("name"))
    if field.get("oneOf"):
        return f"{name} (one of {field['oneOf']})"
    return name if "default" in field else f"{name} (required)"


def parse_create_submission(values: dict[str, Any]) -> dict[str, Any]:
    """The create modal's state as plain values keyed by field name."""

    def state(field: str) -> dict[str, Any]:
        block = values.get(FIELD_BLOCKS[field]) or {}
        return block.get(VALUE) or block.get(CREATE_SEARCH_ACTION_ID) or {}

    def selected(field: str) -> str | None:
        option = state(field).get("selected_option")
        return str(option["value"]) if option else None

    return {
        "label": state("label").get("value") or "",
        "plan": selected("plan"),
        "region": selected("region"),
        "image": selected("image"),
        "stackscript": selected("stackscript"),
        "stackscript_data": state("stackscript_data").get("value") or "",
        "ssh_key": state("ssh_key").get("value") or "",
        "backups": bool(state("backups").get("selected_options")),
    }


def field_errors(errors: dict[str, str]) -> dict[str, str]:
    """``response_action: errors`` payload: messages on the modal's input blocks."""
    return {FIELD_BLOCKS.get(field, FIELD_BLOCKS["label"]): message[:150] for field, message in errors.items()}


def create_progress_view(label: str, status: str, *, done: bool = False, ip: str | None = None) -> dict[str, Any]:
    lines = [f"{_progress_prefix(done)}*{escape_mrkdwn(label)}* — {_status(status)}"]
    if ip:
        lines.append(f"IPv4: {code(ip)}")
    if not done:
        lines.append("You can close this window; the server keeps being created.")
    return _note_modal("Create a server", "\n".join(lines))


def delete_modal(server_id: str, label: str, metadata: dict[str, Any]) -> dict[str, Any]:
    text = (
        f":warning: Deleting *{escape_mrkdwn(label)}* destroys the server and all its data at Linode. "
        "Hours used after the paid-up time are charged; a prepaid partial hour costs nothing more."
    )
    blocks = [
        _section(text),
        _input("confirm", f"Type {label} to confirm"[:2000], {"type": "plain_text_input"}),
    ]
    return _modal(
        "Delete server",
        blocks,
        callback_id=DELETE_CALLBACK_ID,
        private_metadata=json.dumps({**metadata, "server_id": server_id}),
        submit={"type": "plain_text", "text": "Delete"},
        close={"type": "plain_text", "text": "Cancel"},
    )


def submitted_confirmation(values: dict[str, Any]) -> str:
    return str(((values.get(FIELD_BLOCKS["confirm"]) or {}).get(VALUE) or {}).get("value") or "")


def create_metadata(channel_id: str | None, response_url: str | None, *, organization_id: object = None) -> str:
    """The create modal's private_metadata: the organisation the form is bound to (it creates there or
    nowhere) and where to report. What the form offered is checked again at submit, from the database
    and Linode's catalogue, never from here."""
    bound = {"organization_id": str(organization_id) if organization_id else None}
    return json.dumps({**bound, "channel_id": channel_id, "response_url": response_url})


def read_metadata(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def deleted_view(label: str, charge: Decimal | None, hours: int) -> dict[str, Any]:
    extra = " Nothing more was charged."
    if charge:
        extra = f" The last {hours} hour(s) were charged: {format_money(charge)}."
    return _note_modal("Delete server", f":wastebasket: *{escape_mrkdwn(label)}* was deleted.{extra}")


# --- notices -----------------------------------------------------------------------------------


def _notice(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [_section(text), _context("ContainerStacks servers")]}


def created_notice(label: str, ip: str | None, rate: Decimal) -> dict[str, Any]:
    where = f" at {code(ip)}" if ip else ""
    return _notice(f":rocket: Server *{escape_mrkdwn(label)}* was created{where} ({hourly(rate)}).")


def action_notice(label: str, done: str, slack_user: str) -> dict[str, Any]:
    return _notice(f"Server *{escape_mrkdwn(label)}* was {escape_mrkdwn(done)} by <@{slack_user}>.")


def deleted_notice(label: str, slack_user: str) -> dict[str, Any]:
    return _notice(f":wastebasket: Server *{escape_mrkdwn(label)}* was deleted by <@{slack_user}>.")


def missing_notice(label: str, final_charge: Decimal) -> dict[str, Any]:
    charged = f" Its last hours were charged ({format_money(final_charge)})." if final_charge > 0 else ""
    return _notice(
        f":warning: Server *{escape_mrkdwn(label)}* no longer exists at Linode, so it was removed here too.{charged}"
    )


def abandoned_notice(label: str, refunded: Decimal | None) -> dict[str, Any]:
    money = f" Its first hour ({format_money(refunded)}) was refunded." if refunded else " Nothing was charged."
    return _notice(f"Server *{escape_mrkdwn(label)}* was never created at Linode and was removed.{money}")


def staff_alert(title: str, lines: list[str]) -> dict[str, Any]:
    body = "\n".join(f"• {clip_user_text(line, SECTION_TEXT // 2)}" for line in lines)
    message = lines_message(
        f":rotating_light: *{clip_user_text(title, 200)}*\n{body}", context="ContainerStacks servers"
    )
    return {**message, "text": clip_user_text(title, 200)}
