"""Block Kit for organisations, members and channel bindings (pure: values in, message dicts out).

Every name, email and slug passes through `escape_mrkdwn`; every message carries a top-level
`text` for notifications and screen readers.
"""

from __future__ import annotations

import json
from typing import Any

from bot.money import format_money
from bot.rendering.escape import code, escape_mrkdwn
from bot.rendering.fit import fallback, line_sections
from bot.rendering.identity import render_link_prompt
from bot.rendering.paging import Pager, page_buttons, page_context
from bot.services.bindings import BindingList, BindOutcome, UnbindOutcome, kinds_of
from bot.services.identity import OrgContext
from bot.services.orgs import (
    NAME_MAX_CHARS,
    CreatedOrg,
    InviteOutcome,
    MemberList,
    OrgCard,
    OrgListing,
    Removal,
    RemovalPlan,
    RoleChange,
)

# Interactive ids (each is bound by exactly one listener in handlers/).
CREATE_BUTTON_ACTION_ID = "org_create_open"
CREATE_CALLBACK_ID = "org_create"
NAME_BLOCK_ID = "org_name"
NAME_ACTION_ID = "name"
REMOVE_CONFIRM_ACTION_ID = "org_remove_confirm"
REMOVE_CANCEL_ACTION_ID = "org_remove_cancel"
ORG_PAGER = Pager(previous_id="org_list_previous", next_id="org_list_next", noun="Organisations")
MEMBER_PAGER = Pager(previous_id="org_members_previous", next_id="org_members_next", noun="Members")
BINDING_PAGER = Pager(previous_id="org_bindings_previous", next_id="org_bindings_next", noun="Channels")

NO_ORGANISATION = "You are not in an organisation yet. Create one to get a wallet, servers and support in Slack."
NO_ORGANISATION_HINT = "You are not in an organisation yet. Create one with `{command} org create [name]`."
CREATE_BUTTON = "Create an organisation"
MODAL_TITLE = "New organisation"
MODAL_SUBMIT = "Create"
NAME_LABEL = "Organisation name"
NAME_HINT = "You become its owner; it starts with an empty USD wallet."
CREATED_DM = "Your organisation *{name}* ({slug}) is ready and is now your active organisation. You are its owner."
ADDED_DM = "<@{inviter}> added you to *{org}* as {role}. Type `{command} org` to see it."
INVITED_DM = (
    "<@{inviter}> invited you to join *{org}* on ContainerStacks as {role}. "
    "Link your ContainerStacks account and you join automatically."
)
INVITED_DM_NO_LINK = INVITED_DM + " Type `{command} org` to get a link."
INVITE_LINK_NOTE = " The button is yours alone and expires in 15 minutes; type `{command} org` later for a fresh one."
ADDED_REPLY = "Added <@{invitee}> to *{org}* as {role}. I've let them know."
INVITED_REPLY = (
    "<@{invitee}> hasn't linked a ContainerStacks account yet. I sent them an invitation to *{org}* as {role}; "
    "they join as soon as they link."
)
ROLE_CHANGED = "<@{target}> is now {new} of *{org}* (was {old})."
REMOVE_QUESTION = "Remove <@{target}> ({name}, {role}) from *{org}*?"
LEAVE_QUESTION = "Leave *{org}*? You will lose access to its wallet, servers and tickets."
REMOVE_BUTTON = "Remove"
LEAVE_BUTTON = "Leave"
CANCEL_BUTTON = "Cancel"
REMOVED = "Removed {name} ({role}) from *{org}*."
LEFT = "You left *{org}*."
REMOVE_CANCELLED = "Cancelled: nobody was removed."
CHOSEN = "Now using *{org}* {slug} for your commands."
CHOSEN_CHANNEL_NOTE = "In channels bound to another of your organisations, commands there use that organisation."
STAFF_NOTE = "As ContainerStacks staff you can act in any organisation: `{command} org use &lt;slug&gt;`."
BOUND = "This channel now gets *{org}* notices: {kinds}."
REBOUND = "Updated: this channel gets *{org}* notices: {kinds}."
UNBOUND = "This channel no longer gets *{org}* notices."
NO_BINDINGS = "No channels are bound to *{org}*. Run `{command} org bind` in a channel to get notices there."
SETUP_HINT = (
    "I can't see this channel. If it is private, invite @ContainerStacks to this channel first: "
    "`/invite @ContainerStacks`, then run the command again."
)
ARCHIVED_HINT = "This channel is archived, so it cannot receive notices. Unarchive it or choose another channel."
NOT_A_CHANNEL = "Bindings are for channels: run this in the channel that should receive the notices."


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": text, "blocks": blocks or [_section(text)]}


def _dm(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Outbox payload for chat.postMessage (only fields that call accepts)."""
    return {"text": text, "blocks": blocks or [_section(text)]}


def render_notice(text: str) -> dict[str, Any]:
    """A plain ephemeral answer; `text` is mrkdwn the caller already escaped."""
    return _ephemeral(text)


# --- the card, the list and choosing ------------------------------------------------------------------------


def _create_button() -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": CREATE_BUTTON_ACTION_ID,
        "text": {"type": "plain_text", "text": CREATE_BUTTON},
        "style": "primary",
        "value": "create",
    }


def render_no_organisation(command: str) -> dict[str, Any]:
    return _ephemeral(
        NO_ORGANISATION,
        [
            _section(NO_ORGANISATION),
            {"type": "actions", "elements": [_create_button()]},
            _context(f"Or type `{command} org create &lt;name&gt;`."),
        ],
    )


def _role_label(role: str | None, is_staff: bool) -> str:
    if role:
        return role + (" (staff)" if is_staff else "")
    return "staff (not a member)" if is_staff else "none"


def render_org_card(card: OrgCard, command: str) -> dict[str, Any]:
    if card.balance is None:
        wallet = "no wallet"
    else:
        currency = (card.currency or "USD").upper()
        wallet = f"{format_money(card.balance, currency)} {currency}"
    members = f"{card.member_count} member" + ("" if card.member_count == 1 else "s")
    fields = [
        f"*Slug*\n{code(card.slug)}",
        f"*Your role*\n{_role_label(card.role, card.is_staff)}",
        f"*Members*\n{members}",
        f"*Wallet*\n{wallet}",
    ]
    name = escape_mrkdwn(card.name)
    text = f"{name} ({escape_mrkdwn(card.slug)}): {members}, wallet {wallet}"
    return {
        "response_type": "ephemeral",
        "text": text,
        "blocks": [
            _section(f":office: *{name}*"),
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
            _context(
                f"`{command} org members` · `{command} org list` · `{command} org invite @someone` · "
                f"`{command} org bind`"
            ),
        ],
    }


def render_org_list(listing: OrgListing, command: str) -> dict[str, Any]:
    """A page of organisations (staff: all of them), the active one marked, with Previous/Next."""
    if not listing.entries:
        message = render_no_organisation(command)
        if listing.is_staff:
            message["blocks"].append(_context(STAFF_NOTE.format(command=command)))
        return message
    lines = []
    for entry in listing.entries:
        marker = ":white_check_mark:" if entry.active else "•"
        role = entry.role or "staff"
        active = " — *active*" if entry.active else ""
        lines.append(f"{marker} *{escape_mrkdwn(entry.name)}* {code(entry.slug)} — {role}{active}")
    title = "*Every organisation*" if listing.is_staff else "*Your organisations*"
    blocks = [_section(title), page_context(ORG_PAGER, listing.span), *line_sections(lines)]
    blocks += page_buttons(ORG_PAGER, listing.span, None)
    notes = [f"Switch with `{command} org use &lt;slug&gt;`."]
    if listing.is_staff:
        notes.append(STAFF_NOTE.format(command=command))
    blocks.append(_context(" ".join(notes)))
    text = "Your organisations: " + ", ".join(
        escape_mrkdwn(e.slug) + (" (active)" if e.active else "") for e in listing.entries
    )
    return _ephemeral(fallback(text), blocks)


def render_org_chosen(org: OrgContext, *, overridden_here: bool) -> dict[str, Any]:
    text = CHOSEN.format(org=escape_mrkdwn(org.name), slug=code(org.slug))
    blocks = [_section(text)]
    if overridden_here:
        blocks.append(_context(CHOSEN_CHANNEL_NOTE))
    return _ephemeral(text, blocks)


# --- creating ---------------------------------------------------------------------------------------------------


def render_create_modal(name: str, *, channel_id: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": NAME_ACTION_ID,
        "max_length": NAME_MAX_CHARS,
        "placeholder": {"type": "plain_text", "text": "Acme Ltd"},
    }
    if name.strip():
        element["initial_value"] = name.strip()[:NAME_MAX_CHARS]
    return {
        "type": "modal",
        "callback_id": CREATE_CALLBACK_ID,
        "title": {"type": "plain_text", "text": MODAL_TITLE},
        "submit": {"type": "plain_text", "text": MODAL_SUBMIT},
        "close": {"type": "plain_text", "text": CANCEL_BUTTON},
        "private_metadata": json.dumps({"channel_id": channel_id}),
        "blocks": [
            {
                "type": "input",
                "block_id": NAME_BLOCK_ID,
                "label": {"type": "plain_text", "text": NAME_LABEL},
                "element": element,
                "hint": {"type": "plain_text", "text": NAME_HINT},
            }
        ],
    }


def create_metadata(private_metadata: str) -> str | None:
    """The channel id the modal was opened from (private_metadata is ours, but stay defensive)."""
    try:
        data = json.loads(private_metadata or "{}")
    except ValueError:
        return None
    channel_id = data.get("channel_id") if isinstance(data, dict) else None
    return str(channel_id) if channel_id else None


def submitted_name(state_values: dict[str, Any]) -> str:
    return str(((state_values.get(NAME_BLOCK_ID) or {}).get(NAME_ACTION_ID) or {}).get("value") or "")


def render_create_errors(message: str) -> dict[str, str]:
    """`response_action: errors` payload for the name field (plain text, shown under the input)."""
    return {NAME_BLOCK_ID: message}


class DirectMessages:
    """The DMs a membership change queues in the outbox (implements `bot.services.orgs.OrgMessages`)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def created(self, org: CreatedOrg) -> dict[str, Any]:
        return _dm(CREATED_DM.format(name=escape_mrkdwn(org.name), slug=code(org.slug)))

    def added(self, outcome: InviteOutcome) -> dict[str, Any]:
        return _dm(
            ADDED_DM.format(
                inviter=outcome.inviter_slack_user_id,
                org=escape_mrkdwn(outcome.organization_name),
                role=outcome.role,
                command=self.command,
            )
        )

    def invited(self, outcome: InviteOutcome, link_url: str | None) -> dict[str, Any]:
        values = {
            "inviter": outcome.inviter_slack_user_id,
            "org": escape_mrkdwn(outcome.organization_name),
            "role": outcome.role,
            "command": self.command,
        }
        if link_url is None:
            return _dm(INVITED_DM_NO_LINK.format(**values))
        intro = INVITED_DM.format(**values) + INVITE_LINK_NOTE.format(command=self.command)
        prompt = render_link_prompt(link_url, intro=intro)
        return {"text": prompt["text"], "blocks": prompt["blocks"]}


# --- members -----------------------------------------------------------------------------------------------------


def render_members(listing: MemberList, command: str) -> dict[str, Any]:
    """A page of members (owners first) with their roles, emails and Slack mentions, and Previous/Next."""
    org = listing.org
    lines = []
    for member in listing.members:
        slack = " " + " ".join(f"<@{s}>" for s in member.slack_user_ids) if member.slack_user_ids else ""
        lines.append(f"• *{escape_mrkdwn(member.name)}* ({escape_mrkdwn(member.email)}){slack} — {member.role}")
    header = f"*Members of {escape_mrkdwn(org.name)}* ({listing.span.total:,})"
    blocks = [_section(header), page_context(MEMBER_PAGER, listing.span), *line_sections(lines)]
    blocks += page_buttons(MEMBER_PAGER, listing.span, org.id)
    blocks.append(
        _context(f"`{command} org invite @someone [member|admin]` · `{command} org role @someone &lt;role&gt;`")
    )
    text = f"Members of {escape_mrkdwn(org.name)}: " + ", ".join(
        f"{escape_mrkdwn(m.name)} ({m.role})" for m in listing.members
    )
    return _ephemeral(fallback(text), blocks)


def render_invite_result(outcome: InviteOutcome) -> dict[str, Any]:
    values = {"invitee": outcome.invitee_slack_user_id, "org": escape_mrkdwn(outcome.organization_name)}
    template = ADDED_REPLY if outcome.added else INVITED_REPLY
    return _ephemeral(template.format(role=outcome.role, **values))


def render_role_changed(change: RoleChange) -> dict[str, Any]:
    return _ephemeral(
        ROLE_CHANGED.format(
            target=change.target_slack_user_id,
            new=change.new_role,
            old=change.old_role,
            org=escape_mrkdwn(change.organization_name),
        )
    )


def remove_value(plan: RemovalPlan) -> str:
    return json.dumps({"org": str(plan.organization_id), "user": str(plan.target_user_id)}, separators=(",", ":"))


def _escaped_within(value: str, limit: int) -> str:
    """`escape_mrkdwn(value)` shortened to at most `limit` characters without splitting an entity."""
    escaped = escape_mrkdwn(value)
    if len(escaped) <= limit:
        return escaped
    out = ""
    for char in value:
        piece = escape_mrkdwn(char)
        if len(out) + len(piece) > limit - 1:
            break
        out += piece
    return out + "…"


def render_remove_confirmation(plan: RemovalPlan) -> dict[str, Any]:
    org = escape_mrkdwn(plan.organization_name)
    # The dialog's text is plain_text of at most 300 characters: shorten long names.
    short_org = _escaped_within(plan.organization_name, 100)
    if plan.self_removal:
        question = LEAVE_QUESTION.format(org=org)
        button = LEAVE_BUTTON
        title = "Leave organisation?"
        confirm_text = f"You will leave {short_org} and lose access to its wallet, servers and tickets."
    else:
        question = REMOVE_QUESTION.format(
            target=plan.target_slack_user_id, name=escape_mrkdwn(plan.target_name), role=plan.target_role, org=org
        )
        button = REMOVE_BUTTON
        title = "Remove member?"
        name = _escaped_within(plan.target_name, 80)
        confirm_text = f"{name} will lose access to {short_org}: its wallet, servers and tickets."
    return _ephemeral(
        question,
        [
            _section(question),
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": REMOVE_CONFIRM_ACTION_ID,
                        "text": {"type": "plain_text", "text": button},
                        "style": "danger",
                        "value": remove_value(plan),
                        "confirm": {
                            "title": {"type": "plain_text", "text": title},
                            "text": {"type": "plain_text", "text": confirm_text},
                            "confirm": {"type": "plain_text", "text": button},
                            "deny": {"type": "plain_text", "text": CANCEL_BUTTON},
                            "style": "danger",
                        },
                    },
                    {
                        "type": "button",
                        "action_id": REMOVE_CANCEL_ACTION_ID,
                        "text": {"type": "plain_text", "text": CANCEL_BUTTON},
                        "value": "cancel",
                    },
                ],
            },
        ],
    )


def parse_remove_value(value: str) -> tuple[str, str] | None:
    """(organisation id, user id) from the button value, or None if it is not ours."""
    try:
        data = json.loads(value)
        return str(data["org"]), str(data["user"])
    except (ValueError, KeyError, TypeError):
        return None


def render_removed(removal: Removal) -> dict[str, Any]:
    org = escape_mrkdwn(removal.organization_name)
    if removal.self_removal:
        text = LEFT.format(org=org)
    else:
        text = REMOVED.format(name=escape_mrkdwn(removal.target_name), role=removal.target_role, org=org)
    return {**_ephemeral(text), "replace_original": True}


def render_replacement(text: str) -> dict[str, Any]:
    """Replace the confirmation message with an outcome (refusals, cancellation)."""
    return {**_ephemeral(text), "replace_original": True}


# --- bindings ------------------------------------------------------------------------------------------------------


def render_bound(outcome: BindOutcome) -> dict[str, Any]:
    template = REBOUND if outcome.updated else BOUND
    return _ephemeral(template.format(org=escape_mrkdwn(outcome.organization_name), kinds=", ".join(outcome.kinds)))


def render_unbound(outcome: UnbindOutcome) -> dict[str, Any]:
    return _ephemeral(UNBOUND.format(org=escape_mrkdwn(outcome.organization_name)))


def render_bindings(listing: BindingList, command: str) -> dict[str, Any]:
    """A page of the channels bound to the organisation, with their kinds, and Previous/Next."""
    name = escape_mrkdwn(listing.org.name)
    if not listing.bindings:
        return _ephemeral(NO_BINDINGS.format(org=name, command=command))
    lines = [f"• <#{row.channel_id}> — {', '.join(kinds_of(row)) or 'nothing'}" for row in listing.bindings]
    text = f"*Channels bound to {name}*\n" + "\n".join(lines)
    blocks = [_section(f"*Channels bound to {name}*"), page_context(BINDING_PAGER, listing.span),
              *line_sections(lines)]  # fmt: skip
    blocks += page_buttons(BINDING_PAGER, listing.span, listing.org.id)
    blocks.append(_context(f"`{command} org unbind` in a channel removes its binding."))
    return _ephemeral(fallback(text), blocks)
