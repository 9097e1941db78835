"""Who is clicking: every button, select, form and shortcut passes one check before its listener runs.

Listeners are registered through `Interactions`, which puts a `Gate` (a Bolt listener middleware) in
front of each (menu searches too: a refused search offers no options): it resolves the linked actor
and the organisation the control is about (its `scope`: an organisation, ticket or server carried
in the button value or the form's private_metadata), reads the actor's role there now and checks
what the listener `Need`s. Only then can the listener open a modal or show anything; it receives
the checked actor as its `actor` argument. Anyone who fails gets the link prompt or a refusal that
says nothing about the object.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.errors import UserError
from bot.rendering.identity import render_link_prompt, render_refusal, render_refusal_view
from bot.services.access import Target, TargetKind, authorize
from bot.services.container import Services
from bot.services.identity import SlackRef, resolve_actor
from bot.services.link_tokens import SlackIdsInvalid, check_slack_ids, link_url
from bot.services.permissions import Action
from handlers.context import channel_id, slack_ref
from handlers.errors import Listener, guarded, run_after_ack, tell_user

#: What a control is about, read from its payload (raises `StaleControl` when it cannot be read).
Scope = Callable[[dict[str, Any]], Target]


@dataclass(frozen=True)
class Need:
    """What a listener needs before it may show or change anything."""

    linked: bool = True  # a linked ContainerStacks account
    staff: bool = False  # ContainerStacks staff (`users.role = 'admin'`)
    action: Action | None = None  # this permission, in the scoped (else the current) organisation
    scope: Scope | None = None  # the organisation, ticket or server the control belongs to


def org_in_value(body: dict[str, Any]) -> Target:
    """The organisation a button was shown for, carried as its value (a Home or list button)."""
    return Target.parse(TargetKind.ORGANIZATION, (body.get("actions") or [{}])[0].get("value"))


#: The answer to a menu search that offers nothing (a refusal, a failure).
NO_OPTIONS: dict[str, Any] = {"options": []}
#: Shows nothing and changes nothing by itself (a link button, the link-your-account form).
PUBLIC = Need(linked=False)
LINKED = Need()


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


class Gate(AsyncMiddleware):
    """The check in front of one listener; `kind` and `ids` say what it is registered for."""

    def __init__(self, services: Services, kind: str, ids: tuple[str, ...], need: Need) -> None:
        self.services = services
        self.kind = kind
        self.ids = ids
        self.need = need

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        if not self.need.linked:
            return await next()
        body, need = req.body, self.need
        slack = slack_ref(body)
        try:
            check_slack_ids(slack)
            actor = await resolve_actor(self.services.pool, slack, channel_id(body))
            if actor is None:
                return self._refuse(req, await link_prompt(self.services, slack))
            target = need.scope(body) if need.scope else None
            actor = await authorize(
                self.services.engine, actor, target=target, action=need.action, staff_only=need.staff
            )
        except UserError as refusal:
            return self._refuse(req, render_refusal(refusal.message))
        req.context["actor"] = actor
        return await next()

    def _refuse(self, req: AsyncBoltRequest, message: dict[str, Any]) -> BoltResponse:
        """A form shows the refusal in place of itself; anything else acks now and is told right after,
        in place of the message clicked in when only they can see it (an ephemeral), else beside it."""
        body = req.body
        if body.get("type") == "block_suggestion":  # a menu's search: it offers nothing, says nothing
            return BoltResponse(status=200, body=NO_OPTIONS)
        if body.get("type") == "view_submission":
            title = str(((body.get("view") or {}).get("title") or {}).get("text") or "")
            view = render_refusal_view(title, message)
            return BoltResponse(status=200, body={"response_action": "update", "view": view})
        client = req.context.client
        private = bool((body.get("container") or {}).get("is_ephemeral"))
        told = tell_user(body, client, message, replace_original=private)
        run_after_ack(self.services, body, client, told, view_id=None)
        return BoltResponse(status=200, body="")


class Interactions:
    """Registers button, form, shortcut and menu-search listeners, each behind its `Gate` and `guarded`."""

    def __init__(self, app: AsyncApp, services: Services) -> None:
        self.app = app
        self.services = services

    def action(self, ids: str | Sequence[str], need: Need, *, prefix: bool = False) -> Callable[[Listener], Listener]:
        """Block actions with these action ids (or, with `prefix`, any id starting with `ids`)."""
        names = (ids,) if isinstance(ids, str) else tuple(ids)
        if prefix:
            constraint: str | re.Pattern[str] = re.compile(f"^{re.escape(names[0])}")
        elif len(names) > 1:
            constraint = re.compile("^(" + "|".join(re.escape(n) for n in names) + ")$")
        else:
            constraint = names[0]
        return self._register(self.app.action, constraint, "block_actions", names, need)

    def view(self, callback_id: str, need: Need) -> Callable[[Listener], Listener]:
        return self._register(self.app.view, callback_id, "view_submission", (callback_id,), need)

    def shortcut(self, callback_id: str, need: Need) -> Callable[[Listener], Listener]:
        return self._register(self.app.shortcut, callback_id, "shortcut", (callback_id,), need)

    def options(self, action_id: str, need: Need) -> Callable[[Listener], Listener]:
        """The search behind an `external_select` with this action id (Slack's options load URL)."""
        return self._register(self.app.options, action_id, "block_suggestion", (action_id,), need)

    def _register(
        self, method: Callable[..., Any], constraint: Any, kind: str, ids: tuple[str, ...], need: Need
    ) -> Callable[[Listener], Listener]:
        gate = Gate(self.services, kind, ids, need)

        def decorate(listener: Listener) -> Listener:
            method(constraint, middleware=[gate])(guarded(self.services)(listener))
            return listener

        return decorate
