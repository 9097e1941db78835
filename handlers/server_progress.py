"""Where a server action shows its progress: always one message, edited as Linode reports.

A click edits the message it was made in through its response_url (Slack allows five posts there;
the last is kept for the result): on a row of the server list, the list is shown again with that
row saying what is happening, so the other rows stay; on a server's own card, the card. A typed
`/cs vps web-1 reboot` has no message to edit (Slack ignores `replace_original` for a slash
command's answers, so each one would be a new message), so its progress is one message in the
user's DM with the bot, edited with `chat.update`; a command typed elsewhere gets one pointer to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UserError
from bot.linode.errors import LinodeError, LinodeFailure
from bot.panel_links import panel_links
from bot.rendering import vps as render
from bot.rendering.arrears import render_owed
from bot.services import arrears, vps
from bot.services.container import Services
from bot.services.identity import Actor

Message = dict[str, Any]
Show = Callable[[Message], Awaitable[None]]
Render = Callable[[str], Awaitable[Message]]
Work = Callable[[vps.Report], Awaitable[str]]
RESPONSE_URL_POSTS = 5  # Slack's limit per response_url


@dataclass
class Surface:
    """One message and how each moment of the action looks in it."""

    show: Show
    step: Render  # a status Linode reported → the message
    done: Render  # the final status → the message
    failed: Render  # a refusal or a Linode failure (its words) → the message
    max_posts: int | None = None
    refused: Render | None = None  # Linode refused the user's choice (its words) → the form again, if any
    posts: int = 0

    async def report(self, status: str) -> None:
        """A new status; with a post limit, the last post is always left for the result."""
        if self.max_posts is not None and self.posts >= self.max_posts - 1:
            return
        await self.put(await self.step(status))

    async def put(self, message: Message) -> None:
        self.posts += 1
        await self.show(message)


async def run_reported(surface: Surface, work: Work) -> None:
    """Run `work` with progress on `surface`; refusals and Linode errors end the message."""
    try:
        final = await work(surface.report)
    except arrears.OrganisationOwes as owes:
        await surface.put(render_owed(owes, replace=True))
        return
    except LinodeError as failure:
        form_again = surface.refused if failure.category is LinodeFailure.VALIDATION else None
        await surface.put(await (form_again or surface.failed)(failure.message))
        return
    except UserError as refusal:
        await surface.put(await surface.failed(refusal.message))
        return
    await surface.put(await surface.done(final))


def via_response_url(respond: AsyncRespond) -> Show:
    async def show(message: Message) -> None:
        await respond(**{**message, "replace_original": True})

    return show


class DirectMessage:
    """One message in the user's DM with the bot: posted the first time, edited every time after."""

    def __init__(self, client: AsyncWebClient, user_id: str) -> None:
        self._client = client
        self._user_id = user_id
        self.channel: str | None = None
        self._ts: str | None = None

    async def open(self) -> str:
        if self.channel is None:
            opened = await self._client.conversations_open(users=self._user_id)
            self.channel = str(opened["channel"]["id"])
        return self.channel

    async def __call__(self, message: Message) -> None:
        content = {key: message[key] for key in ("text", "blocks") if key in message}
        channel = await self.open()
        if self._ts is None:
            posted = await self._client.chat_postMessage(channel=channel, unfurl_links=False, **content)
            self._ts = str(posted["ts"])
        else:
            await self._client.chat_update(channel=channel, ts=self._ts, **content)


def _card_renders(
    services: Services, actor: Actor, server_id: uuid.UUID, label: str, words: tuple[str, str]
) -> tuple[Render, Render, Render]:
    """Progress lines, then the server's card again (its new state's buttons) with what was done."""
    doing, done = words
    panel = panel_links(services.settings.panel_url)

    async def step(status: str) -> Message:
        return render.render_progress(label, doing, status)

    async def finished(status: str) -> Message:
        try:
            view = await vps.show_server(services.engine, actor, server_id)
        except UserError:
            return render.render_progress(label, done, status, done=True)
        return render.render_server(view, can_manage=True, note=render.done_note(done), panel=panel, replace=True)

    async def failed(message: str) -> Message:
        return render.render_problem(message)

    return step, finished, failed


def card_surface(
    services: Services, actor: Actor, respond: AsyncRespond, *, server_id: uuid.UUID, label: str,
    words: tuple[str, str], refused: Render | None = None,
) -> Surface:  # fmt: skip
    """A click on a server's own card (or a picker or confirmation about it): that message; `refused`
    shows the picker again when Linode refuses the choice made in it."""
    step, done, failed = _card_renders(services, actor, server_id, label, words)
    return Surface(via_response_url(respond), step, done, failed, max_posts=RESPONSE_URL_POSTS, refused=refused)


def list_surface(
    services: Services, actor: Actor, respond: AsyncRespond, *, server_id: uuid.UUID, words: tuple[str, str]
) -> Surface:
    """A click on a row of the list: the whole list again, that row saying what is happening."""
    doing, done = words
    panel = panel_links(services.settings.panel_url)
    command = services.settings.slack_command

    def listing(note: render.RowNote) -> Render:
        async def rendered(_: str) -> Message:
            servers = await vps.list_servers(services.engine, actor, around=server_id)
            notes = {server_id: note}
            return render.render_server_list(servers, command, notes=notes, panel=panel, replace=True)

        return rendered

    async def failed(message: str) -> Message:
        return await listing(render.failed_note(message))(message)

    return Surface(
        via_response_url(respond), listing(render.doing_note(doing)), listing(render.done_note(done)), failed,
        max_posts=RESPONSE_URL_POSTS,
    )  # fmt: skip


def typed_surface(
    services: Services, actor: Actor, client: AsyncWebClient, respond: AsyncRespond, *, where: str | None,
    server_id: uuid.UUID, label: str, words: tuple[str, str],
) -> Surface:  # fmt: skip
    """A typed command: one message in the DM with the bot, and (typed elsewhere) one pointer to it."""
    step, done, failed = _card_renders(services, actor, server_id, label, words)
    direct = DirectMessage(client, actor.slack.user_id)

    async def show(message: Message) -> None:
        first = direct.channel is None
        await direct(message)
        if first and where != direct.channel:
            await respond(**render.render_progress_pointer(label, words[0]), replace_original=False)

    return Surface(show, step, done, failed)
