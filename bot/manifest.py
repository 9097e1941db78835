"""The Slack app manifest, built from data so `csbot manifest` can fill in PUBLIC_URL and the command.

`manifest.yml` at the repository root is this manifest rendered for the placeholder URL; a test
keeps the two identical.
"""

from __future__ import annotations

from typing import Any

import yaml

PLACEHOLDER_URL = "https://csbot.example.com"
TICKET_SHORTCUT_CALLBACK = "ticket_from_message"

#: Bot scopes and why each is needed (docs/slack-setup.md repeats this list for operators).
BOT_SCOPES: dict[str, str] = {
    "commands": "the slash command and the message shortcut",
    "chat:write": "post and update the bot's own messages (cards, notices, summaries)",
    "chat:write.public": "post in public channels without being invited first",
    "users:read": "look up Slack users (names, bots, deleted accounts)",
    "users:read.email": "pre-fill the account-link form with the Slack user's own verified email",
    "team:read": "name the workspace on the account-link page",
    "im:write": "open direct messages for notifications and reminders",
    "im:history": "receive messages sent to the bot in its DM",
    "app_mentions:read": "receive @mentions of the bot",
    "channels:history": "receive thread replies in public support channels",
    "groups:history": "receive thread replies in private support channels",
    "channels:read": "check public channels when binding them",
    "groups:read": "check private channels when binding them",
    "files:write": "share charts (server statistics, spend) and invoice files",
    "reactions:write": "put a ✓ on each thread message once it is stored as a ticket reply",
}
BOT_EVENTS = ("app_home_opened", "app_mention", "message.channels", "message.groups", "message.im")
LONG_DESCRIPTION = (
    "ContainerStacks brings your cloud panel into Slack. Link your ContainerStacks account, pick the "
    "organisation you work in, top up the prepaid wallet with PayPal, create and run Linode servers "
    "and talk to support, all from one slash command, modals and buttons. Billing summaries and "
    "server notices arrive in the channels you bind, and support staff triage tickets in a shared "
    "channel where thread replies reach the customer. Every action checks your role in the "
    "organisation, destructive actions always ask for confirmation, and the App Home tab shows your "
    "wallet, servers and tickets at a glance."
)


def build_manifest(
    public_url: str = PLACEHOLDER_URL, command: str = "/cs", *, distributed: bool = False
) -> dict[str, Any]:
    """The app's manifest; `distributed` (OAuth installs into many workspaces) also lets an Enterprise
    Grid org install it org-wide (`org_deploy_enabled`), which the bot resolves for every workspace."""
    events_url = public_url.rstrip("/") + "/slack/events"
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "ContainerStacks",
            "description": "Wallet, Linode servers and support for your ContainerStacks organisation.",
            "long_description": LONG_DESCRIPTION,
            "background_color": "#1d3557",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": "ContainerStacks", "always_online": True},
            "slash_commands": [
                {
                    "command": command,
                    "url": events_url,
                    "description": "Run ContainerStacks commands (try: help)",
                    "usage_hint": "help [topic]",
                    "should_escape": True,
                }
            ],
            "shortcuts": [
                {
                    "name": "Create support ticket",
                    "type": "message",
                    "callback_id": TICKET_SHORTCUT_CALLBACK,
                    "description": "Open a ContainerStacks support ticket from this message",
                }
            ],
        },
        # Distributed mode's OAuth redirect (docs/slack-setup.md); unused by a single-workspace install.
        "oauth_config": {
            "redirect_urls": [public_url.rstrip("/") + "/slack/oauth_redirect"],
            "scopes": {"bot": list(BOT_SCOPES)},
        },
        "settings": {
            "event_subscriptions": {"request_url": events_url, "bot_events": list(BOT_EVENTS)},
            "interactivity": {
                "is_enabled": True,
                "request_url": events_url,
                "message_menu_options_url": events_url,
            },
            "org_deploy_enabled": distributed,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }


def render_manifest(public_url: str = PLACEHOLDER_URL, command: str = "/cs", *, distributed: bool = False) -> str:
    header = "# Slack app manifest for the ContainerStacks bot. Regenerate with `csbot manifest`.\n"
    manifest = build_manifest(public_url, command, distributed=distributed)
    return header + yaml.safe_dump(manifest, sort_keys=False, width=100)
