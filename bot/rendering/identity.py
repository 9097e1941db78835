"""Block Kit for account-link prompts and friendly refusals."""

from __future__ import annotations

from typing import Any

from bot.rendering.escape import escape_mrkdwn
from bot.rendering.fit import (
    MESSAGE_BLOCKS_TEXT,
    SECTION_FIELD,
    SECTION_TEXT,
    capped_sections,
    clip,
    clip_user_text,
    more_line,
)
from bot.services.linking import LinkedAccount

LINK_PROMPT = (
    "To use ContainerStacks from Slack, first link your ContainerStacks account. "
    "The button opens a sign-in page; the link is yours alone and expires in 15 minutes."
)
LINK_BUTTON = "Link my account"


def render_link_prompt(url: str, *, intro: str = LINK_PROMPT) -> dict[str, Any]:
    """An ephemeral answer with a URL button to the link page (keys `ack()` accepts, so it can be the ack)."""
    return {
        "response_type": "ephemeral",
        "text": intro,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": intro}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "open_url_link",
                        "text": {"type": "plain_text", "text": LINK_BUTTON},
                        "url": url,
                        "style": "primary",
                    }
                ],
            },
        ],
    }


def render_refusal(message: str) -> dict[str, Any]:
    """A clear ephemeral answer to input we will not act on (nothing was changed).

    `message` is plain text (a `UserError` message), escaped here so names users chose stay inert.
    """
    text = f":no_entry_sign: {clip_user_text(message, SECTION_TEXT - 20)}"
    return {
        "response_type": "ephemeral",
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def render_refusal_view(title: str, message: dict[str, Any]) -> dict[str, Any]:
    """A modal in place of a form whose submission was refused; `message` is a refusal or link prompt."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title[:24] or "ContainerStacks"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": message["blocks"],
    }


# -- account linking ----------------------------------------------------------------------------

ALREADY_LINKED = (
    "You're linked as *{name}* ({email}). To link this Slack account to another ContainerStacks account, "
    "use the button: signing in again replaces the current link."
)
LINK_KEY_CALLBACK = "link_api_key"
LINK_KEY_BLOCK = "api_key"
LINK_KEY_ACTION = "api_key_value"
LINK_KEY_TITLE = "Link with an API key"
LINK_KEY_INTRO = (
    "Paste a personal API key from the ContainerStacks panel (*Settings → API keys*). "
    "The key is only used to find your account; it is never shown or stored. "
    "If this Slack account is already linked, the key's owner replaces that link."
)
LINKED_DM = ":white_check_mark: This Slack account is now linked to *{name}* ({email}) in ContainerStacks."
JOINED_SHOWN = 20
JOINED_LINE = "You joined {organizations} (invites waiting for you were accepted)."
LINKED_NEXT = "Type `{command} help` to see what you can do, or open my Home tab for an overview."
UNLINKED = "This Slack account is no longer linked to *{name}* ({email}). Run `{command} link` to link again."
NOT_LINKED = "This Slack account isn't linked to a ContainerStacks account, so there was nothing to unlink."
LINKED_VIA = {"password": "email and password", "api_key": "a personal API key"}


def already_linked_intro(name: str, email: str) -> str:
    """The `/cs link` text for someone already linked (still offered the button to re-link)."""
    return ALREADY_LINKED.format(name=escape_mrkdwn(name), email=escape_mrkdwn(email))


def render_link_key_modal() -> dict[str, Any]:
    """The modal where a user pastes a personal API key (single-line input, never pre-filled)."""
    return {
        "type": "modal",
        "callback_id": LINK_KEY_CALLBACK,
        "title": {"type": "plain_text", "text": LINK_KEY_TITLE},
        "submit": {"type": "plain_text", "text": "Link account"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": LINK_KEY_INTRO}},
            {
                "type": "input",
                "block_id": LINK_KEY_BLOCK,
                "label": {"type": "plain_text", "text": "API key"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": LINK_KEY_ACTION,
                    "multiline": False,
                    "max_length": 255,
                    "placeholder": {"type": "plain_text", "text": "sk_live_…"},
                },
            },
        ],
    }


def render_linked_dm(account: LinkedAccount, *, command: str) -> dict[str, Any]:
    """The DM confirming a link (outbox payload), naming organisations joined from invites."""
    lines = [LINKED_DM.format(name=escape_mrkdwn(account.name), email=escape_mrkdwn(account.email))]
    if account.joined:
        # Accepting many invites at once: the first few by name, then how many more and where to see them.
        named = [f"*{clip_user_text(org, 100)}* ({escape_mrkdwn(role)})" for org, role in account.joined]
        if len(named) > JOINED_SHOWN:
            more = len(named) - JOINED_SHOWN + 1
            named = [*named[: JOINED_SHOWN - 1], more_line(more, f"`{command} org list` shows them all")]
        lines.append(JOINED_LINE.format(organizations=", ".join(named)))
    lines.append(LINKED_NEXT.format(command=command))
    text = "\n".join(lines)
    return {"text": text, "blocks": capped_sections(lines, max_blocks=3, budget=MESSAGE_BLOCKS_TEXT)}


def render_whoami(
    *,
    name: str,
    email: str,
    is_staff: bool,
    organization: str | None,
    role: str | None,
    linked_via: str,
) -> dict[str, Any]:
    """Who this Slack user acts as, in which organisation and role, and how the link was made."""
    if organization is None:
        where = "None yet (an organisation owner can invite you, or create one in the panel)"
    else:
        held = f"your role: {escape_mrkdwn(role)}" if role else "staff access, not a member"
        where = f"*{escape_mrkdwn(organization)}* ({held})"
    fields = [
        f"*Linked as*\n{escape_mrkdwn(name)} ({escape_mrkdwn(email)})",
        f"*ContainerStacks staff*\n{'Yes' if is_staff else 'No'}",
        f"*Active organisation*\n{where}",
        f"*Linked with*\n{LINKED_VIA.get(linked_via, escape_mrkdwn(linked_via))}",
    ]
    text = (
        f"You're linked as {escape_mrkdwn(name)} ({escape_mrkdwn(email)})"
        + (", ContainerStacks staff" if is_staff else "")
        + (f"; active organisation: {escape_mrkdwn(organization)}" if organization else "; no organisation")
        + "."
    )
    return {
        "response_type": "ephemeral",
        "text": text,
        "blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": clip(f, SECTION_FIELD)} for f in fields]}],
    }


def render_unlinked(name: str | None, email: str | None, *, command: str) -> dict[str, Any]:
    """The answer to `/cs unlink`: what was removed, or that there was no link."""
    if name is None or email is None:
        text = NOT_LINKED
    else:
        text = UNLINKED.format(name=escape_mrkdwn(name), email=escape_mrkdwn(email), command=command)
    return {
        "response_type": "ephemeral",
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }
