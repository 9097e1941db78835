"""Block Kit for the App Home dashboard (pure): one function per section, each a list of blocks.

The Home is built section by section (`bot/slack/home.py`): a section that could not be read or
drawn is replaced by `render_section_failed`, so the rest still shows. Lists show their first few
items and how many there are in all ("10 of 250 servers"), with the command that shows every one.
"""

from __future__ import annotations

from typing import Any

from bot.db.home import WalletRow
from bot.db.identities import MembershipRow
from bot.money import format_money
from bot.rendering.escape import code, escape_mrkdwn
from bot.rendering.fit import VIEW_BLOCKS, cap_blocks, clip_user_text, line_sections
from bot.rendering.pickers import menu
from bot.rendering.status import server_status, ticket_status
from bot.rendering.tickets import NEW_OPEN_ACTION_ID
from bot.rendering.vps import CREATE_OPEN_ACTION_ID
from bot.rendering.wallet import TOPUP_OPEN_ACTION_ID
from bot.services.choices import Choice
from bot.services.home import BindingSummary, HomeButtons, OrgSwitcher, ServerSummary, TicketSummary
from bot.services.identity import Actor

#: The organisation switcher (a menu in the Home; searched through the options endpoint when long).
SWITCH_ACTION_ID = "home_org_switch"
#: Starts with `open_url_`, so the generic URL-button listener acks the click.
PANEL_ACTION_ID = "open_url_home_panel"
HOME_LINK_INTRO = (
    "Link your ContainerStacks account to see your organisations, wallet, servers and tickets here, "
    "and to use `{command}` commands."
)
NO_ORGANISATION = "You are not in an organisation yet. Create one with `{command} org create`."
#: Characters of one name in a dashboard line, escaped (a line must never fill a section alone).
NAME_IN_LINE = 200
SECTION_FAILED = ":warning: Couldn't load {section} right now (ref `{ref}`). The rest of this page is current."
SUBJECT_CHARS = 100


def _section(text: str, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if accessory:
        block["accessory"] = accessory
    return block


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _titled(title: str) -> list[dict[str, Any]]:
    return [{"type": "divider"}, _header(title)]


def _counted(shown: int, total: int, noun: str, command: str) -> list[dict[str, Any]]:
    """ "10 of 250 servers — `/cs vps` for all", when some are not shown."""
    if total <= shown:
        return []
    return [_context(f"{shown} of {total:,} {noun} — `{command}` for all")]


def render_unlinked_home(command: str, link_url: str | None) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [_header("ContainerStacks"), _section(HOME_LINK_INTRO.format(command=command))]
    if link_url:
        button = {"type": "button", "action_id": "open_url_home_link", "style": "primary", "url": link_url,
                  "text": {"type": "plain_text", "text": "Link my account"}}  # fmt: skip
        blocks.append({"type": "actions", "elements": [button]})
    return {"type": "home", "blocks": blocks}


def render_identity(actor: Actor) -> list[dict[str, Any]]:
    who = f"Linked as *{escape_mrkdwn(actor.name)}* ({escape_mrkdwn(actor.email)})"
    return [_header("ContainerStacks"), _context(who + (" · ContainerStacks staff" if actor.is_staff else ""))]


def render_switcher(switcher: OrgSwitcher, command: str) -> list[dict[str, Any]]:
    """The organisation commands act in, with a menu to switch (searchable when there are many)."""
    active = switcher.active
    if active is None and not switcher.is_staff:
        return [_section(NO_ORGANISATION.format(command=command))]
    if active is None:  # staff outside every organisation: they may act in any
        text, current = "Choose an organisation to act in.", None
    else:
        role = escape_mrkdwn(switcher.role or "staff")
        text = f"Acting in *{escape_mrkdwn(active.name)}* {code(active.slug)} — {role}"
        current = Choice(str(active.id), f"{active.name} ({active.slug})")
    if switcher.total <= 1 and not switcher.is_staff:
        return [_section(text)]
    choices = switcher_choices(switcher.organizations)
    picker = menu(choices, action_id=SWITCH_ACTION_ID, placeholder="Switch organisation", initial=current,
                  searchable=switcher.total > len(choices))  # fmt: skip
    where = "every organisation" if switcher.is_staff else f"your {switcher.total:,} organisations"
    return [_section(text, picker), _context(f"Switch to any of {where} here or with `{command} org use <slug>`.")]


def switcher_choices(organizations: list[MembershipRow]) -> list[Choice]:
    """The switcher's options (the menu's own, and its searches')."""
    return [Choice(str(o.organization_id), f"{o.name} ({o.slug})") for o in organizations]


def render_buttons(buttons: HomeButtons) -> list[dict[str, Any]]:
    """Top up, Create server, New ticket (each the same flow as its command) and Open in panel."""
    org = str(buttons.organization_id)
    elements = []
    if buttons.top_up:
        elements.append(_button("Top up", TOPUP_OPEN_ACTION_ID, org, style="primary"))
    if buttons.create_server:
        elements.append(_button("Create server", CREATE_OPEN_ACTION_ID, org))
    elements.append(_button("New ticket", NEW_OPEN_ACTION_ID, org))
    if buttons.panel_url:
        elements.append({"type": "button", "action_id": PANEL_ACTION_ID, "url": buttons.panel_url,
                         "text": {"type": "plain_text", "text": "Open in panel"}})  # fmt: skip
    return [{"type": "actions", "elements": elements}]


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": label}, "value": value}
    return {**button, "style": style} if style else button


def render_wallet(wallet: WalletRow | None) -> list[dict[str, Any]]:
    if wallet is None:
        return [*_titled("Wallet"), _section("This organisation has no wallet yet.")]
    balance = format_money(wallet.balance, wallet.currency)
    owed = " — owed: the next top-up repays it first" if wallet.balance < 0 else ""
    return [*_titled("Wallet"), _section(f"Balance: *{balance}*{owed}")]


def render_servers(summary: ServerSummary, command: str) -> list[dict[str, Any]]:
    if not summary.servers:
        return [*_titled("Servers"), _section("No servers yet.")]
    lines = []
    for server in summary.servers:
        ip = f" · {code(server.ip_address)}" if server.ip_address else ""
        lines.append(f"*{clip_user_text(server.label, NAME_IN_LINE)}* — {server_status(server.status)}{ip}")
    counted = _counted(len(summary.servers), summary.total, "servers", f"{command} vps")
    return [*_titled("Servers"), *line_sections(lines), *counted]


def render_tickets(summary: TicketSummary, command: str) -> list[dict[str, Any]]:
    if not summary.tickets:
        return [*_titled("Open tickets"), _section("No open tickets.")]
    lines = [
        f"• {clip_user_text(t.subject, SUBJECT_CHARS)} — {ticket_status(t.status)}, "
        f"{escape_mrkdwn(t.priority)} priority {code(str(t.id)[:8])}"
        for t in summary.tickets
    ]
    counted = _counted(len(summary.tickets), summary.total, "open tickets", f"{command} ticket list")
    return [*_titled("Open tickets"), *line_sections(lines), *counted]


def render_bindings(summary: BindingSummary, command: str) -> list[dict[str, Any]]:
    if not summary.bindings:
        text = f"No channels bound. In a channel, run `{command} org bind` to get notices there."
        return [*_titled("Channels"), _section(text)]
    lines = []
    for binding in summary.bindings:
        kinds = [k for k, on in (("billing", binding.notify_billing), ("vps", binding.notify_vps),
                                 ("tickets", binding.notify_tickets)) if on]  # fmt: skip
        lines.append(f"• <#{binding.channel_id}> — {', '.join(kinds) or 'nothing'}")
    counted = _counted(len(summary.bindings), summary.total, "channels", f"{command} org bindings")
    return [*_titled("Channels"), *line_sections(lines), *counted]


def render_section_failed(section: str, ref: str) -> list[dict[str, Any]]:
    """What stands in for a section that could not be read or drawn (the log line has the same ref)."""
    return [_context(SECTION_FAILED.format(section=escape_mrkdwn(section), ref=escape_mrkdwn(ref)))]


def render_home(sections: list[list[dict[str, Any]]], command: str) -> dict[str, Any]:
    """The Home view from its sections, within Slack's 100 blocks."""
    blocks = [block for section in sections for block in section]
    blocks.append(_context(f"Type `{command} help` anywhere for every command."))
    return {"type": "home", "blocks": cap_blocks(blocks, VIEW_BLOCKS)}
