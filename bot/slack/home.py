"""Publishing a user's App Home: section by section → view → `views.publish` (best effort, never raises).

Each section is read and drawn on its own: one that fails (a query the database refuses, a row the
panel wrote that cannot be drawn) is replaced by a short line with a reference, logged with the same
reference, and the rest of the Home is still published.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.rendering import home as render
from bot.rendering.fit import OPTIONS, plain_view
from bot.services import home
from bot.services.container import Services
from bot.services.identity import Actor, SlackRef, resolve_actor
from bot.services.link_tokens import link_url
from bot.slack.errors import REFUSED_CONTENT, classify, refusal_details
from bot.slack.reference import new_reference

log = logging.getLogger(__name__)
T = TypeVar("T")
Blocks = list[dict[str, Any]]


async def refresh_home(services: Services, client: AsyncWebClient, slack: SlackRef) -> None:
    """Re-render and publish the Home tab; a failure is logged, since the next open re-renders it."""
    try:
        view = await build_home(services, slack)
        await publish_home(client, slack.user_id, view)
    except Exception as exc:  # best effort by design; see docstring
        log.warning(
            "home.publish_failed", exc_info=True, extra={"slack_user": slack.user_id, "error": classify(exc).code}
        )


async def publish_home(client: AsyncWebClient, user_id: str, view: dict[str, Any]) -> None:
    """`views.publish`; when Slack refuses the view itself, its words as a plain view instead (logged with
    Slack's reasons), so the user never keeps a stale Home."""
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        code = classify(exc).code
        if code not in REFUSED_CONTENT:
            raise
        log.warning(
            "home.plain_fallback", extra={"slack_user": user_id, "slack_error": code, "problems": refusal_details(exc)}
        )
        await client.views_publish(user_id=user_id, view=plain_view(view))


async def build_home(services: Services, slack: SlackRef) -> dict[str, Any]:
    settings = services.settings
    command = settings.slack_command
    actor = await resolve_actor(services.pool, slack, None)
    if actor is None:
        url = None
        if settings.bot_secret is not None:
            url = await link_url(services.engine, settings.bot_secret.get_secret_value(), settings.public_url, slack)
        return render.render_unlinked_home(command, url)
    engine, org = services.engine, actor.org
    sections: list[Blocks] = [render.render_identity(actor)]
    sections.append(
        await _section(
            actor, "your organisations", lambda: home.org_switcher(engine, actor, limit=OPTIONS),
            lambda switcher: render.render_switcher(switcher, command),
        )
    )  # fmt: skip
    if org is not None:
        sections.append(render.render_buttons(_buttons(services, actor)))
        sections.append(await _section(actor, "the wallet", lambda: home.wallet(engine, org), render.render_wallet))
        sections.append(
            await _section(actor, "servers", lambda: home.servers(engine, org),
                           lambda found: render.render_servers(found, command))
        )  # fmt: skip
        sections.append(
            await _section(actor, "open tickets", lambda: home.open_tickets(engine, org),
                           lambda found: render.render_tickets(found, command))
        )  # fmt: skip
        sections.append(
            await _section(actor, "channels", lambda: home.bindings(engine, org, slack.team_id),
                           lambda found: render.render_bindings(found, command))
        )  # fmt: skip
    return render.render_home(sections, command)


def _buttons(services: Services, actor: Actor) -> home.HomeButtons:
    settings = services.settings
    panel = str(settings.panel_url) if settings.panel_url else None
    buttons = home.home_buttons(
        actor, payments=services.paypal is not None, servers=services.linode is not None, panel_url=panel
    )
    assert buttons is not None  # only called with an organisation
    return buttons


async def _section(actor: Actor, name: str, load: Callable[[], Awaitable[T]], draw: Callable[[T], Blocks]) -> Blocks:
    """One section's blocks, or the line that says it could not be loaded (and why, in the log)."""
    try:
        return draw(await load())
    except Exception as error:  # one section must never blank the whole Home; the log keeps the cause
        ref = new_reference()
        log.error("home.section_failed", exc_info=error, extra={"ref": ref, "section": name,
                                                                "slack_user": actor.slack.user_id})  # fmt: skip
        return render.render_section_failed(name, ref)
