"""`/cs link`, `/cs link key`, `/cs whoami` and `/cs unlink`: the Account group of commands."""

from __future__ import annotations

from bot.commands import CommandSpec, CommandTable
from bot.errors import UserError
from bot.rendering.identity import (
    already_linked_intro,
    render_link_key_modal,
    render_link_prompt,
    render_unlinked,
    render_whoami,
)
from bot.services import linking
from bot.services.link_tokens import link_url
from bot.slack.home import refresh_home
from handlers.commands.base import CommandCall, CommandHandler

GROUP = "Account"
LINK = CommandSpec(
    ("link",), "link", "Link your ContainerStacks account (opens a sign-in page).", GROUP, needs_link=False
)
LINK_KEY = CommandSpec(
    ("link", "key"), "link key", "Link with a personal API key instead of your password.", GROUP, needs_link=False
)
WHOAMI = CommandSpec(("whoami",), "whoami", "Show the account, organisation and role you act as.", GROUP)
UNLINK = CommandSpec(
    ("unlink",), "unlink", "Disconnect Slack from your ContainerStacks account.", GROUP, needs_link=False
)


class LinkingNotConfigured(UserError):
    """Account linking is not configured on this bot yet (BOT_SECRET is unset)."""


def register_commands(table: CommandTable[CommandHandler]) -> None:
    table.add(LINK, link)
    table.add(LINK_KEY, link_key)
    table.add(WHOAMI, whoami)
    table.add(UNLINK, unlink)


async def link(call: CommandCall) -> None:
    """A fresh single-use sign-in button; an already linked user is told who they are linked as."""
    settings = call.services.settings
    if settings.bot_secret is None:
        raise LinkingNotConfigured
    status = await linking.link_status(call.services.engine, call.slack)
    url = await link_url(call.services.engine, settings.bot_secret.get_secret_value(), settings.public_url, call.slack)
    if status is None:
        await call.ack(**render_link_prompt(url))
    else:
        await call.ack(**render_link_prompt(url, intro=already_linked_intro(status.name, status.email)))


async def link_key(call: CommandCall) -> None:
    """Open the API-key modal at once (the trigger expires in 3 s); the submission does the work."""
    await call.ack()
    await call.client.views_open(trigger_id=call.body["trigger_id"], view=render_link_key_modal())


async def whoami(call: CommandCall) -> None:
    actor = call.linked
    status = await linking.link_status(call.services.engine, call.slack)
    await call.ack(
        **render_whoami(
            name=actor.name,
            email=actor.email,
            is_staff=actor.is_staff,
            organization=actor.org.name if actor.org else None,
            role=actor.org.role.label if actor.org and actor.org.role else None,
            linked_via=status.linked_via if status else "unknown",
        )
    )


async def unlink(call: CommandCall) -> None:
    removed = await linking.unlink(call.services.engine, call.slack, call.channel_id)
    name, email = (removed.name, removed.email) if removed else (None, None)
    await call.ack(**render_unlinked(name, email, command=call.command))
    if removed is not None:
        await refresh_home(call.services, call.client, call.slack)
