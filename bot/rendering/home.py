"""Block Kit for the App Home dashboard (pure: a snapshot in, a `home` view out)."""

from __future__ import annotations

from typing import Any

from bot.money import format_money
from bot.rendering.escape import code, escape_mrkdwn
from bot.rendering.fit import VIEW_BLOCKS, cap_blocks, capped_sections, clip_user_text, line_sections
from bot.services.home import HomeSnapshot

HOME_LINK_INTRO = (
    "Link your ContainerStacks account to see your organisations, wallet, servers and tickets here, "
    "and to use `{command}` commands."
)
NO_ORGANISATION = "You are not in an organisation yet. Create one with `{command} org create`."
#: Sections one list of the dashboard may take; a longer list ends with "…and N more" and its command.
LIST_SECTIONS = 3
NAME_IN_LINE = 200
STATUS_EMOJI = {
    "running": ":large_green_circle:",
    "stopped": ":red_circle:",
    "offline": ":red_circle:",
    "provisioning": ":large_yellow_circle:",
    "booting": ":large_yellow_circle:",
    "rebooting": ":large_yellow_circle:",
}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def render_home(snapshot: HomeSnapshot, *, command: str, link_url: str | None = None) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [_header("ContainerStacks")]
    if not snapshot.linked:
        blocks.append(_section(HOME_LINK_INTRO.format(command=command)))
        if link_url:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "open_url_home_link",
                            "text": {"type": "plain_text", "text": "Link my account"},
                            "url": link_url,
                            "style": "primary",
                        }
                    ],
                }
            )
        return {"type": "home", "blocks": blocks}

    who = f"Linked as *{escape_mrkdwn(snapshot.name)}* ({escape_mrkdwn(snapshot.email)})"
    blocks.append(_context(who + (" · ContainerStacks staff" if snapshot.is_staff else "")))
    blocks.extend(_organisations(snapshot, command))
    if snapshot.active is not None:
        blocks.extend(_wallet(snapshot))
        blocks.extend(_servers(snapshot, command))
        blocks.extend(_tickets(snapshot, command))
        blocks.extend(_bindings(snapshot, command))
    blocks.append(_context(f"Type `{command} help` anywhere for every command."))
    return {"type": "home", "blocks": cap_blocks(blocks, VIEW_BLOCKS)}


def _organisations(snapshot: HomeSnapshot, command: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "divider"}, _header("Organisations")]
    if not snapshot.organizations and snapshot.active is None:
        return [*blocks, _section(NO_ORGANISATION.format(command=command))]
    lines = []
    for org in snapshot.organizations:
        marker = ":white_check_mark: " if org.active else "• "
        role = f" — {org.role}" if org.role else ""
        lines.append(f"{marker}*{clip_user_text(org.name, NAME_IN_LINE)}* {code(org.slug)}{role}")
    if snapshot.active is not None and not any(o.active for o in snapshot.organizations):
        name = clip_user_text(snapshot.active.name, NAME_IN_LINE)
        lines.insert(0, f":white_check_mark: *{name}* {code(snapshot.active.slug)} — staff")
    blocks += capped_sections(lines, max_blocks=LIST_SECTIONS, how=f"`{command} org list` shows them all")
    if len(snapshot.organizations) > 1:
        blocks.append(_context(f"Switch with `{command} org use <slug>`."))
    return blocks


def _wallet(snapshot: HomeSnapshot) -> list[dict[str, Any]]:
    if snapshot.wallet is None:
        return [_header("Wallet"), _section("This organisation has no wallet yet.")]
    balance = format_money(snapshot.wallet.balance, snapshot.wallet.currency)
    return [{"type": "divider"}, _header("Wallet"), _section(f"Balance: *{balance}*")]


def _servers(snapshot: HomeSnapshot, command: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "divider"}, _header("Servers")]
    if not snapshot.servers:
        return [*blocks, _section("No servers yet.")]
    lines = []
    for server in snapshot.servers:
        status = server.status or "unknown"
        emoji = STATUS_EMOJI.get(status, ":white_circle:")
        ip = f" · {code(server.ip_address)}" if server.ip_address else ""
        lines.append(f"{emoji} *{clip_user_text(server.label, NAME_IN_LINE)}* — {escape_mrkdwn(status)}{ip}")
    if snapshot.more_servers:
        lines.append(f"…and more — `{command} vps` lists them.")
    return [*blocks, *line_sections(lines)]


def _tickets(snapshot: HomeSnapshot, command: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "divider"}, _header("Open tickets")]
    if not snapshot.tickets:
        return [*blocks, _section("No open tickets.")]
    lines = [
        f"• {clip_user_text(t.subject, NAME_IN_LINE)} — {t.status.replace('_', ' ')}, {t.priority} priority "
        f"{code(str(t.id)[:8])}"
        for t in snapshot.tickets
    ]
    return [*blocks, *capped_sections(lines, max_blocks=LIST_SECTIONS, how=f"`{command} ticket list`")]


def _bindings(snapshot: HomeSnapshot, command: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "divider"}, _header("Channels")]
    if not snapshot.bindings:
        return [*blocks, _section(f"No channels bound. In a channel, run `{command} org bind` to get notices there.")]
    lines = []
    for binding in snapshot.bindings:
        kinds = [k for k, on in (("billing", binding.notify_billing), ("vps", binding.notify_vps),
                                 ("tickets", binding.notify_tickets)) if on]  # fmt: skip
        lines.append(f"• <#{binding.channel_id}> — {', '.join(kinds) or 'nothing'}")
    return [*blocks, *capped_sections(lines, max_blocks=LIST_SECTIONS, how=f"`{command} org bindings`")]
