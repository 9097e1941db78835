"""Who is clicking: resolve the linked actor behind an interaction, or answer with a link prompt."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.rendering.identity import render_link_prompt, render_refusal
from bot.services.container import Services
from bot.services.identity import Actor, SlackRef, resolve_actor
from bot.services.link_tokens import SlackIdsInvalid, check_slack_ids, link_url
from handlers.context import channel_id, slack_ref


async def link_prompt(services: Services, slack: SlackRef) -> dict[str, Any]:
    """The ephemeral that offers an unlinked Slack user a fresh link button."""
    settings = services.settings
    if settings.bot_secret is None:
        return render_refusal("Account linking is not configured on this bot yet (BOT_SECRET is unset).")
    try:
        check_slack_ids(slack)
    except SlackIdsInvalid as refusal:
        return render_refusal(refusal.message)
    url = await link_url(services.engine, settings.bot_secret.get_secret_value(), settings.public_url, slack)
    return render_link_prompt(url)


async def actor_or_prompt(services: Services, body: dict[str, Any], respond: AsyncRespond) -> Actor | None:
    """The linked actor for a button click or select; None after sending them the link prompt."""
    slack = slack_ref(body)
    actor = await resolve_actor(services.pool, slack, channel_id(body))
    if actor is None:
        await respond(**await link_prompt(services, slack), replace_original=False)
    return actor
