"""Block Kit for one server's page and what it leads to: statistics, backups (turn on with the price
first, turn off behind a confirmation, schedule, snapshot, restore behind a typed label), Cloud
Firewalls (attach, detach behind a confirmation) and the hostname. Pure: no I/O. Everything that
came from users, Linode or the panel passes through ``escape_mrkdwn`` (plain_text stays raw).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from bot.money import format_money
from bot.panel_links import PanelLinks
from bot.rendering import vps as vps_render
from bot.rendering.dates import local_clock, local_time
from bot.rendering.escape import Mrkdwn, code, escape_mrkdwn, mrkdwn
from bot.rendering.fit import OPTION_TEXT, fallback, line_sections
from bot.rendering.panel import panel_button
from bot.rendering.status import server_status

if TYPE_CHECKING:
    from bot.services.server_backups import BackupList, Offer
    from bot.services.server_network import FirewallChoice
    from bot.services.server_page import BackupPrice, ServerPage
    from bot.services.server_stats import Stats

# Interactive ids, each bound by exactly one listener (handlers/actions/vps_page.py, handlers/views/vps_page.py).
STATS_ACTION_ID = "vps_page_stats"
BACKUPS_ACTION_ID = "vps_page_backups"
FIREWALLS_ACTION_ID = "vps_page_firewalls"
REFRESH_ACTION_ID = "vps_page_refresh"
BACKUPS_ON_ACTION_ID = "vps_backups_on"
BACKUPS_ON_CONFIRM_ACTION_ID = "vps_backups_on_confirm"
BACKUPS_OFF_ACTION_ID = "vps_backups_off"
SNAPSHOT_OPEN_ACTION_ID = "vps_backups_snapshot_open"
SCHEDULE_OPEN_ACTION_ID = "vps_backups_schedule_open"
RESTORE_OPEN_ACTION_ID = "vps_backups_restore_open"
FIREWALL_ATTACH_ACTION_ID = "vps_firewall_attach"
FIREWALL_DETACH_ACTION_ID = "vps_firewall_detach"
HOSTNAME_OPEN_ACTION_ID = "vps_hostname_open"
#: Buttons members may use (they show); the others change the server (admins and owners).
VIEW_ACTION_IDS = (STATS_ACTION_ID, BACKUPS_ACTION_ID, FIREWALLS_ACTION_ID, REFRESH_ACTION_ID)
MANAGE_ACTION_IDS = (
    BACKUPS_ON_ACTION_ID, BACKUPS_ON_CONFIRM_ACTION_ID, BACKUPS_OFF_ACTION_ID, SNAPSHOT_OPEN_ACTION_ID,
    SCHEDULE_OPEN_ACTION_ID, RESTORE_OPEN_ACTION_ID, FIREWALL_ATTACH_ACTION_ID, FIREWALL_DETACH_ACTION_ID,
    HOSTNAME_OPEN_ACTION_ID,
)  # fmt: skip
SNAPSHOT_CALLBACK_ID = "vps_snapshot_modal"
SCHEDULE_CALLBACK_ID = "vps_schedule_modal"
RESTORE_CALLBACK_ID = "vps_restore_modal"
HOSTNAME_CALLBACK_ID = "vps_hostname_modal"
VALUE = "value"
FIELD_BLOCKS = {"name": "vps_page_name", "day": "vps_page_day", "window": "vps_page_window",
                "confirm": "vps_page_confirm", "hostname": "vps_page_hostname"}  # fmt: skip
DAYS = ("auto", "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
WINDOWS = ("auto", *(f"W{h}" for h in range(0, 24, 2)))


def _section(text: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text or " "}}
    if accessory:
        block["accessory"] = accessory
    return block


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, value: str, style: str | None = None, **extra: Any) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text[:75]},
                              "action_id": action_id, "value": value}  # fmt: skip
    if style:
        button["style"] = style
    button.update(extra)
    return button


def _confirm(title: str, text: str, yes: str) -> dict[str, Any]:
    return {"title": {"type": "plain_text", "text": title[:100]}, "text": {"type": "mrkdwn", "text": text[:300]},
            "confirm": {"type": "plain_text", "text": yes}, "deny": {"type": "plain_text", "text": "Keep it"},
            "style": "danger"}  # fmt: skip


def _message(text: str, blocks: list[dict[str, Any]], *, replace: bool | None = True) -> dict[str, Any]:
    message: dict[str, Any] = {"response_type": "ephemeral", "text": fallback(text), "blocks": blocks[:50]}
    if replace is not None:
        message["replace_original"] = replace
    return message


def pair(server_id: object, choice: object) -> str:
    return f"{server_id}|{choice}"


def _when(value: str | None) -> str:
    """Linode's zone-less UTC time (`2025-10-27T14:03:12`) in the reader's own time zone."""
    if not value:
        return "never"
    try:
        return local_time(datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC))
    except ValueError:
        return escape_mrkdwn(value)


def _one_ip(address: str | None) -> str:
    return code(address) if address else "none yet"


def _gb(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)} GB"


def _size(mb: int) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb} MB"


def _age(since: datetime, now: datetime) -> str:
    hours = max(0, int((now - since).total_seconds() // 3600))
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if days else f"{hours} h"


def _window_utc(window: str) -> str:
    """`W2` as `02:00–04:00 UTC`, for plain text (a menu option cannot hold Slack's date token)."""
    start = int(window[1:]) % 24
    return f"{start:02d}:00–{(start + 2) % 24:02d}:00 UTC"


def window_text(window: str | None, *, today: date | None = None) -> str:
    """Linode's two-hour backup window (`W2` = 02:00–04:00 UTC) in the reader's own time zone."""
    if not window or not window.startswith("W") or not window[1:].isdigit():
        return escape_mrkdwn(window or "chosen by Linode")
    start = datetime.combine(today or datetime.now(UTC).date(), time(int(window[1:]) % 24), tzinfo=UTC)
    return f"{local_clock(start)}–{local_clock(start + timedelta(hours=2))}"


def backup_price_text(price: BackupPrice | None) -> str:
    if price is None:
        return "no price quoted (the server has no plan)"
    return f"{format_money(price.monthly)}/month ({vps_render.hourly(price.hourly)}), {escape_mrkdwn(price.source)}"


# --- the page ----------------------------------------------------------------------------------


def page(
    p: ServerPage, command: str, now: datetime, *, loading: bool = False, panel: PanelLinks | None = None
) -> dict[str, Any]:
    s = p.server
    status = s.status if p.linode_status is None else ("stopped" if p.linode_status == "offline" else p.linode_status)
    lines = [
        f"*{escape_mrkdwn(s.label)}* {server_status(status)}",
        f"Plan: {escape_mrkdwn(s.plan_name or s.plan_id)} · {vps_render.hourly(s.hourly)}"
        f" · {p.specs.vcpus} vCPU · {_size(p.specs.memory_mb)} RAM · {_size(p.specs.disk_mb)} disk",
        f"Region: {escape_mrkdwn(s.region or '?')} · Image: {escape_mrkdwn(s.image or '?')}",
        "IPv4: " + (", ".join(code(a) for a in p.ipv4) if p.ipv4 else _one_ip(s.ip_address)),
        f"In service {_age(s.created_at, now)} (since {local_time(s.created_at)}) · this month "
        f"{p.month_hours} h billed, *{format_money(p.month_cost)}*",
    ]  # fmt: skip
    if p.ipv6:
        lines.append(f"IPv6: {code(p.ipv6)}")
    if p.live:
        lines.append(f"Hostname: {code(p.hostname)} · rDNS: {code(p.rdns) if p.rdns else 'default'}")
        if p.transfer is not None:
            t = p.transfer
            lines.append(f"Transfer this month: {_gb(t.used_gb)} of {_gb(t.quota_gb)} ({t.percent:.1f}%)")
        if p.backups is not None:
            b = p.backups
            lines.append(
                f"Backups: *on*, {escape_mrkdwn(b.day or 'any day')} {window_text(b.window)}, last "
                f"{_when(b.last_successful)}" if b.enabled else
                f"Backups: off (would cost {backup_price_text(p.backup_price)})"
            )  # fmt: skip
        names = ", ".join(f"{escape_mrkdwn(f.label)} ({escape_mrkdwn(f.status)})" for f in p.firewalls)
        lines.append(f"Cloud Firewalls: {names or 'none'}")
    elif loading:
        lines.append(":hourglass_flowing_sand: Asking Linode for live details…")
    elif p.problem:
        lines.append(f":warning: Live details unavailable: {escape_mrkdwn(p.problem)}")
    blocks = line_sections(lines)
    if panel is not None:
        blocks[0]["accessory"] = panel_button(panel.server(s.id), "server")
    blocks.extend(page_actions(p, status))
    blocks.append(_context(f"`{command} vps {escape_mrkdwn(s.label)} stats|backups|firewall|hostname` · members see, "
                           "admins change"))  # fmt: skip
    return _message(mrkdwn("Server {label}: {status}", label=s.label, status=status), blocks, replace=None)


def page_actions(p: ServerPage, status: str) -> list[dict[str, Any]]:
    value = str(p.server.id)
    views = [_button("Stats", STATS_ACTION_ID, value), _button("Backups", BACKUPS_ACTION_ID, value),
             _button("Firewalls", FIREWALLS_ACTION_ID, value),
             _button("Refresh", REFRESH_ACTION_ID, value)]  # fmt: skip
    blocks = [{"type": "actions", "block_id": f"vps_page_view_{p.server.id.hex[:12]}", "elements": views}]
    if not p.can_manage:
        return blocks
    # The same rule as the list and the card (`bot.services.server_states`), with Stop/Reboot confirmed.
    shown = vps_render.server_buttons(dataclasses.replace(p.server, status=status))["elements"]
    changes = [
        b for b in shown if b["action_id"] not in (vps_render.REFRESH_ACTION_ID, vps_render.DELETE_OPEN_ACTION_ID)
    ]
    changes.append(_button("Hostname…", HOSTNAME_OPEN_ACTION_ID, value))
    changes += [b for b in shown if b["action_id"] == vps_render.DELETE_OPEN_ACTION_ID]
    blocks.append({"type": "actions", "block_id": f"vps_page_change_{p.server.id.hex[:12]}", "elements": changes})
    return blocks


# --- statistics --------------------------------------------------------------------------------


def stats_card(stats: Stats, summary: str, *, shared_in_channel: bool | None) -> dict[str, Any]:
    """The numbers in words; ``shared_in_channel`` None when the chart could not be shared."""
    if not stats.available:
        text = f":hourglass_flowing_sand: {escape_mrkdwn(summary)}"
        return _message(text, [_section(text)])
    if shared_in_channel is None:
        where = "could not be shared this time (Slack did not take it); the numbers above are complete."
    else:
        where = "is " + ("in this channel" if shared_in_channel else "in your DM with the bot") + "."
    lines = [f":bar_chart: {escape_mrkdwn(summary)}",
             f"The chart (CPU, network in/out, disk I/O, {stats.points} five-minute samples) {where}"]  # fmt: skip
    return _message("\n".join(lines), line_sections(lines))


# --- backups -----------------------------------------------------------------------------------


def backups_card(b: BackupList, command: str) -> dict[str, Any]:
    value = str(b.server_id)
    if not b.enabled:
        lines = [f"*Backups of {escape_mrkdwn(b.label)}*: off.",
                 f"Turning them on costs {backup_price_text(b.price)}."]  # fmt: skip
        blocks = line_sections(lines)
        if b.can_manage:
            blocks.append({"type": "actions", "elements": [_button("Turn on…", BACKUPS_ON_ACTION_ID, value)]})
        return _message(" ".join(lines), blocks)
    lines = [f"*Backups of {escape_mrkdwn(b.label)}*: on · {escape_mrkdwn(b.day or 'any day')} "
             f"{window_text(b.window)} · last successful {_when(b.last_successful)}"]  # fmt: skip
    for e in b.entries[:20]:
        name = f" “{escape_mrkdwn(e.label)}”" if e.label else ""
        lines.append(f"• `{e.id}` {escape_mrkdwn(e.kind)}{name} · {escape_mrkdwn(e.status)} · taken {_when(e.created)}"
                     f" · {_size(e.size_mb)}")  # fmt: skip
    if not b.entries:
        lines.append("No backup has been taken yet.")
    blocks = line_sections(lines)
    if b.can_manage:
        buttons = [_button("Snapshot now…", SNAPSHOT_OPEN_ACTION_ID, value),
                   _button("Schedule…", SCHEDULE_OPEN_ACTION_ID, value)]  # fmt: skip
        restorable = [e for e in b.entries if e.status == "successful"][:20]
        if restorable:
            buttons.append(_restore_select(b, restorable))
        buttons.append(_button("Turn off…", BACKUPS_OFF_ACTION_ID, value, style="danger",
                               confirm=_confirm("Turn backups off?", f"Every backup of {escape_mrkdwn(b.label)} "
                                                "is deleted by Linode.", "Turn off")))  # fmt: skip
        blocks.append({"type": "actions", "elements": buttons})
    blocks.append(_context(f"`{command} vps {escape_mrkdwn(b.label)} backups restore <backup id>` restores one."))
    return _message("\n".join(lines), blocks)


def _restore_select(b: BackupList, entries: list[Any]) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": f"{e.id} {e.kind} {e.created or ''}"[:OPTION_TEXT]},
                "value": pair(b.server_id, e.id)} for e in entries]  # fmt: skip
    return {"type": "static_select", "action_id": RESTORE_OPEN_ACTION_ID, "options": options,
            "placeholder": {"type": "plain_text", "text": "Restore…"}}  # fmt: skip


def enable_offer(offer: Offer) -> dict[str, Any]:
    text = (f"Turn on Linode backups for *{escape_mrkdwn(offer.label)}*? They cost "
            f"{backup_price_text(offer.price)}. Linode then takes daily backups and keeps the last three.")  # fmt: skip
    buttons = [_button("Turn on", BACKUPS_ON_CONFIRM_ACTION_ID, str(offer.server_id), style="primary"),
               _button("Cancel", vps_render.CANCEL_ACTION_ID, "x")]  # fmt: skip
    return _message(text, [_section(text), {"type": "actions", "elements": buttons}])


def done(text: str) -> dict[str, Any]:
    line = f":white_check_mark: {text}"
    return _message(line, [_section(line)])


# --- firewalls ---------------------------------------------------------------------------------


def firewalls_card(label: str, server_id: object, choices: list[FirewallChoice], *, can_manage: bool,
                   command: str) -> dict[str, Any]:  # fmt: skip
    attached = [c for c in choices if c.attached]
    others = [c for c in choices if not c.attached]
    lines = [f"*Cloud Firewalls of {escape_mrkdwn(label)}*: "
             + (", ".join(escape_mrkdwn(c.label) for c in attached) or "none attached")]  # fmt: skip
    blocks = line_sections(lines)
    for c in [*attached, *others][:20]:
        policy = f"inbound policy {escape_mrkdwn(c.inbound_policy)}" if c.inbound_policy else "no policy"
        mark = ":shield:" if c.attached else ":white_small_square:"
        text = f"{mark} *{escape_mrkdwn(c.label)}* · {escape_mrkdwn(c.status)} · {policy} · {c.rules} rule(s)"
        button = None
        if can_manage and c.attached:
            button = _button("Detach", FIREWALL_DETACH_ACTION_ID, pair(server_id, c.id), style="danger",
                             confirm=_confirm("Detach firewall?", f"{escape_mrkdwn(c.label)} stops filtering "
                                              f"{escape_mrkdwn(label)}'s traffic.", "Detach"))  # fmt: skip
        elif can_manage:
            button = _button("Attach", FIREWALL_ATTACH_ACTION_ID, pair(server_id, c.id))
        blocks.append(_section(text, button))
    if not choices:
        blocks.append(_section("No Cloud Firewall is available to this organisation."))
    blocks.append(_context(f"`{command} vps {escape_mrkdwn(label)} firewall attach|detach <firewall>`"))
    return _message(lines[0], blocks[:50])


# --- modals ------------------------------------------------------------------------------------


def _modal(title: str, callback_id: str, server_id: object, blocks: list[dict[str, Any]], submit: str,
           **meta: Any) -> dict[str, Any]:  # fmt: skip
    return {"type": "modal", "callback_id": callback_id, "title": {"type": "plain_text", "text": title[:24]},
            "private_metadata": json.dumps({"server_id": str(server_id), **meta}), "blocks": blocks,
            "submit": {"type": "plain_text", "text": submit},
            "close": {"type": "plain_text", "text": "Cancel"}}  # fmt: skip


def _input(field: str, label: str, element: dict[str, Any], hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": FIELD_BLOCKS[field],
                             "label": {"type": "plain_text", "text": label[:2000]},
                             "element": {**element, "action_id": VALUE}}  # fmt: skip
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint[:2000]}
    return block


def _options(values: tuple[str, ...], describe: Any = str) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": describe(v)[:OPTION_TEXT]}, "value": v} for v in values]


def snapshot_modal(server_id: object, label: str) -> dict[str, Any]:
    blocks = [_section(f"Take a snapshot of *{escape_mrkdwn(label)}* now. It replaces the previous snapshot."),
              _input("name", "Snapshot name", {"type": "plain_text_input", "max_length": 255,
                                                "placeholder": {"type": "plain_text",
                                                                "text": "before-upgrade"}})]  # fmt: skip
    return _modal("Snapshot now", SNAPSHOT_CALLBACK_ID, server_id, blocks, "Take snapshot")


def schedule_modal(server_id: object, label: str) -> dict[str, Any]:
    window_label: Any = lambda w: "Linode chooses" if w == "auto" else f"{w} ({_window_utc(w)})"  # noqa: E731
    day_label: Any = lambda d: "Linode chooses" if d == "auto" else d  # noqa: E731
    blocks = [
        _section(f"When Linode takes *{escape_mrkdwn(label)}*'s weekly backup."),
        _input("day", "Day", {"type": "static_select", "options": _options(DAYS, day_label)}),
        _input("window", "Window (UTC)", {"type": "static_select", "options": _options(WINDOWS, window_label)}),
    ]
    return _modal("Backup schedule", SCHEDULE_CALLBACK_ID, server_id, blocks, "Save")


def restore_modal(server_id: object, label: str, backup_id: int, taken: str | None) -> dict[str, Any]:
    text = (f":warning: Restoring backup `{backup_id}` (taken {_when(taken)}) *overwrites every disk of "
            f"{escape_mrkdwn(label)}*: everything written since then is lost. The server stays off until you "
            "start it.")  # fmt: skip
    blocks = [_section(text), _input("confirm", f"Type {label} to confirm", {"type": "plain_text_input"})]
    return _modal("Restore backup", RESTORE_CALLBACK_ID, server_id, blocks, "Restore", backup_id=backup_id)


def hostname_modal(server_id: object, label: str) -> dict[str, Any]:
    blocks = [_section(f"Rename *{escape_mrkdwn(label)}* (its Linode label and its name here and in the panel)."),
              _input("hostname", "New hostname", {"type": "plain_text_input", "max_length": 64, "initial_value": label},
                     hint="3–64 letters, digits, '.', '_' or '-'; Linode also wants a letter first.")]  # fmt: skip
    return _modal("Hostname", HOSTNAME_CALLBACK_ID, server_id, blocks, "Rename")


def submitted(values: dict[str, Any], field: str) -> str:
    state = (values.get(FIELD_BLOCKS.get(field, field)) or {}).get(VALUE) or {}
    option = state.get("selected_option")
    return str(option["value"] if option else state.get("value") or "")


def field_errors(errors: dict[str, str]) -> dict[str, str]:
    return {FIELD_BLOCKS.get(f, FIELD_BLOCKS["confirm"]): m[:150] for f, m in errors.items()}


def note_modal(title: str, text: str) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title[:24]},
            "close": {"type": "plain_text", "text": "Close"}, "blocks": [_section(escape_mrkdwn(text))]}  # fmt: skip


def progress_modal(title: str, text: Mrkdwn) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title[:24]},
            "close": {"type": "plain_text", "text": "Close"}, "blocks": [_section(text)]}  # fmt: skip
