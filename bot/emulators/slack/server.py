"""An in-process Slack: a real aiohttp server that speaks the Web API and ``response_url`` wire formats.

The real slack-sdk and slack-bolt clients are pointed at it unchanged (``base_url=em.api_url``), so
tests and the sandbox mode exercise the same HTTP paths production does. State lives in the
``state``/``views``/``responses`` modules; this module owns the HTTP edge, faults and recording.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from aiohttp import web

from bot.emulators.base import CallLog, EmulatorServer, FaultPlan, drop_connection, retry_after_header
from bot.emulators.base.recording import WAIT_TIMEOUT
from bot.emulators.slack.answers import Answer, AnswerRejected, answer_problems, kind_of
from bot.emulators.slack.delivery import EventSender
from bot.emulators.slack.distribution import DistributedApp
from bot.emulators.slack.errors import SlackError
from bot.emulators.slack.faults import ChannelPacer, SlackFault
from bot.emulators.slack.files import FileStore, StoredFile
from bot.emulators.slack.installs import Token, TokenStore
from bot.emulators.slack.methods import BOT_SCOPES, METHODS, Backend
from bot.emulators.slack.oauth import OAuthApp
from bot.emulators.slack.recording import Call, Incoming, ResponsePost, describe
from bot.emulators.slack.responses import ResponseUrlError, ResponseUrlRegistry, deliver
from bot.emulators.slack.signing import SignedRequest
from bot.emulators.slack.state import Identity, World
from bot.emulators.slack.tenancy import Tenancy
from bot.emulators.slack.views import TriggerRegistry, ViewStore
from bot.emulators.slack.wire import read_args

RESPONSE_URL_FAULT_KEY = "response_url"
CLIENT_METHODS = ("oauth.v2.access",)
"""Methods authenticated by the app's client credentials rather than a token."""
_UNRECORDED = ("token", "client_secret", "refresh_token")
_STATUS_ERRORS = {
    429: "ratelimited",
    500: "internal_error",
    503: "service_unavailable",
    504: "request_timeout",
}


class SlackEmulator(DistributedApp, EmulatorServer):
    """A stateful fake Slack served on 127.0.0.1 at an ephemeral port: one default workspace whose
    ``bot_token`` works from the start, plus any workspaces and orgs a test adds and installs into
    through OAuth (see ``DistributedApp``).

    ``strict_blocks`` (the default) holds every message, view and answer to Slack's full Block Kit
    rules; ``False`` keeps only the envelope checks (typed blocks, counts, view labels and ids).
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",  # noqa: S107 - a fake workspace's fake token
        team_id: str = "T0CSBOT01",
        team_domain: str = "containerstacks",
        team_name: str = "ContainerStacks",
        bot_user_id: str = "U0CSBOT",
        bot_id: str = "B0CSBOT",
        app_id: str = "A0CSBOT",
        clock: Callable[[], float] = time.time,
        pace_per_channel: float | None = 1.0,
        burst: int = 3,
        strict_blocks: bool = True,
        client_id: str = "111.222",
        client_secret: str | None = None,
        token_rotation: bool = False,
        redirect_urls: Iterable[str] = (),
        signing_secret: str | None = None,
        event_url: str | None = None,
    ) -> None:
        super().__init__()
        self.identity = Identity(bot_token, team_id, team_domain, bot_user_id, bot_id, app_id, team_name)
        self.clock = clock
        self.scopes: tuple[str, ...] = BOT_SCOPES
        self._world = World(self.identity, clock)
        self._tokens = TokenStore(clock)
        self._tenancy = Tenancy(self._world, self._tokens)
        self._oauth = OAuthApp(client_id, client_secret or secrets.token_hex(16), redirect_urls, clock)
        self.token_rotation = token_rotation
        self.token_lifetime_seconds = 43200
        self.signing_secret = signing_secret
        """Signs the events Slack sends by itself (``tokens_revoked``, ``app_uninstalled``)."""
        self.event_url = event_url
        """The app's Events API request URL those events go to."""
        self._events = EventSender()
        self._views = ViewStore(self.identity, clock)
        self._triggers = TriggerRegistry(clock)
        self._hooks = ResponseUrlRegistry(clock)
        self.strict_blocks = strict_blocks
        self._files = FileStore(clock)
        self._backend = Backend(
            self.identity, self._world, self._views, self._triggers, strict_blocks,
            files=self._files, upload_url=lambda upload_id: f"{self.base_url}/upload/v1/{upload_id}",
        )  # fmt: skip
        self._faults: FaultPlan[SlackFault] = FaultPlan()
        self._pacer = ChannelPacer(pace_per_channel, burst, clock) if pace_per_channel else None
        self.calls: CallLog[Call] = CallLog(lambda call: call.method, describe)
        self.responses: list[ResponsePost] = []
        self.answers: list[Answer] = []
        self.rate_limited_count = 0

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/{method}", self._handle_api)
        app.router.add_post("/api/{method}", self._handle_api)
        app.router.add_post("/response/{hook_id}", self._handle_response_url)
        app.router.add_post("/upload/v1/{upload_id}", self._handle_upload)
        app.router.add_get("/oauth/v2/authorize", self._handle_authorize)
        return app

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # --- world set-up --------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        email: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "UTC",
        email_confirmed: bool = True,
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """A workspace member; `email_confirmed=False` is an address Slack never verified. ``team_id``
        puts them in a workspace added with ``add_workspace``; a team never added makes them a Slack
        Connect member from elsewhere, met in the default workspace."""
        user = self._world.add_user(
            user_id, name=name, email=email, is_bot=is_bot, deleted=deleted, tz=tz,
            email_confirmed=email_confirmed, team_id=team_id,
        )  # fmt: skip
        return user.to_api()

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        members: Iterable[str] = (),
        bot_is_member: bool = True,
        is_archived: bool = False,
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """A conversation hosted by ``team_id`` (the default workspace when omitted)."""
        if team_id is not None and self._world.directory.workspace(team_id) is None:
            raise KeyError(f"unknown workspace {team_id!r}; add it with add_workspace() first")
        channel = self._world.add_channel(
            channel_id,
            name=name,
            is_private=is_private,
            members=members,
            bot_is_member=bot_is_member,
            is_archived=is_archived,
            team_id=team_id,
        )
        return channel.to_api()

    def add_message(
        self,
        channel: str,
        *,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
    ) -> dict[str, Any]:
        """A message a human wrote (as the Events API would later report it)."""
        target = self._world.channels.get(channel)
        if channel == "D" + user[1:]:
            target = self._world.dm(user)
        if target is None:
            raise KeyError(f"unknown channel {channel!r}; add it with add_channel() first")
        content: dict[str, Any] = {"text": text}
        if blocks is not None:
            content["blocks"] = blocks
        message = self._world.post(
            target, content, author={"user": user}, thread_ts=thread_ts, reply_broadcast=reply_broadcast
        )
        return copy.deepcopy(message)

    def show_answer(self, channel: str, user: str, answer: dict[str, Any]) -> dict[str, Any]:
        """What Slack shows for a slash command's HTTP answer: an ephemeral message to ``user`` (returned;
        pass it as ``message=`` to ``block_actions`` so a click's ``replace_original`` acts on it)."""
        content = {k: answer[k] for k in ("text", "blocks", "attachments") if answer.get(k) is not None}
        return copy.deepcopy(self._world.post_ephemeral(channel, user, content, source="ack"))

    def user(self, user_id: str) -> dict[str, Any] | None:
        user = self._world.users.get(user_id)
        return user.to_api() if user else None

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        channel = self._world.channels.get(channel_id)
        return channel.to_api() if channel else None

    def new_trigger_id(self, user_id: str) -> str:
        """A trigger id for ``user_id``: single use, valid for 3 s of the injected clock."""
        return self._triggers.new(user_id)

    def new_response_url(
        self,
        channel_id: str,
        user_id: str,
        *,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> str:
        """A response_url; ``message_ts`` names the message that ``replace_original`` acts on."""
        author = self._tenancy.bot_author_for(user_id)
        hook = self._hooks.new(channel_id, user_id, message_ts=message_ts, is_ephemeral=is_ephemeral, author=author)
        return f"{self.base_url}/response/{hook.id}"

    def close_view(self, view_id: str) -> None:
        self._views.close(view_id)

    def clear_views(self, user_id: str) -> None:
        self._views.clear(user_id)

    # --- faults --------------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: float | None = None,
        times: int = 1,
        delay: float = 0.0,
        disconnect: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail, after ``delay`` seconds.

        ``status`` answers with that HTTP status (429 adds ``Retry-After``); ``error`` alone answers
        HTTP 200 ``{"ok": false, "error": error, **extra}``; ``disconnect`` drops the connection.
        With none of them the call gets a 500 (or a 429 when ``retry_after`` is given). Use the
        method name ``"response_url"`` to fail posts to response URLs.
        """
        if status is None and error is None and not disconnect:
            status = 429 if retry_after is not None else 500
        fault = SlackFault(
            status=status,
            retry_after=retry_after,
            delay=delay,
            disconnect=disconnect,
            remaining=times,
            error=error,
            extra=dict(extra or {}),
        )
        self._faults.add(method, fault)

    def slow(self, method: str, seconds: float) -> None:
        """Delay every call of ``method`` by ``seconds`` until ``clear_faults``."""
        self._faults.slow(method, seconds)

    def clear_faults(self) -> None:
        """Drop queued failures and slowness; pacing stays, as it is Slack's normal behaviour."""
        self._faults.clear()

    # --- recording and inspection --------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return self.calls.to(method)

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109 - a deadline for polling recorded calls, not for I/O
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait for ``count`` successful calls of ``method``; the bot keeps working after its ack."""

        def match(call: Call) -> bool:
            return call.ok and (predicate is None or predicate(call))

        return await self.calls.wait_for(method, count, timeout, match, wanted="ok call(s)")

    def receive_answer(self, request: SignedRequest, status: int, body: str) -> Answer:
        """Read the bot's answer to ``request`` as Slack would; raise ``AnswerRejected`` if refused.

        Test transports call this through ``SignedRequest.answered`` with each HTTP answer.
        """
        try:
            payload = request.payload()
        except ValueError:  # a tampered body Slack never sent; the bot refuses it anyway
            payload = {"type": "unreadable"}
        problems = answer_problems(payload, status, body, strict=self.strict_blocks)
        answer = Answer(kind_of(payload), status, body, tuple(problems))
        self.answers.append(answer)
        if problems:
            raise AnswerRejected(f"Slack would refuse the bot's {answer.kind} answer: {problems} body={body[:500]}")
        return answer

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages (and broadcast replies) in posting order, as the channel shows them."""
        return self._world.top_level(channel)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The thread under ``ts``, parent first; empty when there is no such message."""
        return self._world.thread(channel, ts)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        found = self._world.channels.get(channel)
        message = found.messages.get(ts) if found else None
        return copy.deepcopy(message) if message else None

    def ephemerals(self, user_id: str, channel: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages ``user_id`` still sees; each also names its ``channel`` and ``source``."""
        return self._world.ephemerals_for(user_id, channel)

    def dm_channel_id(self, user_id: str) -> str:
        """The bot's one IM channel with ``user_id`` (the same id conversations.open returns)."""
        return self._world.dm(user_id).id

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        return self._world.top_level(self.dm_channel_id(user_id))

    def open_views(self, user_id: str) -> list[dict[str, Any]]:
        """The user's modal stack, bottom first."""
        return self._views.stack(user_id)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        view = self._views.home.get(user_id)
        return copy.deepcopy(view) if view else None

    def files(self, channel: str | None = None) -> list[StoredFile]:
        """Uploaded files (with their bytes), oldest first; only those shared in ``channel`` if given."""
        found = self._files.in_channel(channel) if channel else list(self._files.files.values())
        return [f for f in found if f.completed or channel is None]

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self._views.home)

    # --- HTTP edge -----------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        at = self.clock()
        try:
            args = await read_args(request)
        except SlackError as exc:
            return self._answer(Incoming(method, {}, at), 200, exc.to_body())
        incoming = Incoming(method, copy.deepcopy({k: v for k, v in args.items() if k not in _UNRECORDED}), at)
        if seconds := self._faults.slowness(method):
            await asyncio.sleep(seconds)
        token = None
        if method not in CLIENT_METHODS:
            try:
                token = self._authenticate(request, args)
            except SlackError as exc:
                return self._answer(incoming, 200, exc.to_body())
            incoming = replace(incoming, team_id=token.install.team_id, enterprise_id=token.install.enterprise_id)
        if (fault := self._faults.take(method)) is not None:
            return await self._inject(request, fault, incoming)
        if method in CLIENT_METHODS:
            return self._answer(incoming, 200, self._client_call(request, args))
        assert token is not None
        if method == "apps.uninstall":
            return self._answer(incoming, 200, self._apps_uninstall(token, args))
        return self._serve(args, incoming, token)

    def _authenticate(self, request: web.Request, args: dict[str, Any]) -> Token:
        """The install behind the request's token: ``not_authed``/``invalid_auth``/``token_revoked``/
        ``token_expired`` otherwise."""
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else args.get("token")
        if not token:
            raise SlackError("not_authed")
        return self._tokens.check(str(token))

    def _serve(self, args: dict[str, Any], incoming: Incoming, token: Token) -> web.Response:
        method = incoming.method
        handler = METHODS.get(method)
        if handler is None:
            return self._answer(incoming, 200, {"ok": False, "error": "unknown_method"})
        if method == "chat.postMessage" and self._pacer and not self._pacer.allow(str(args.get("channel"))):
            body = {"ok": False, "error": "ratelimited"}
            return self._answer(incoming, 429, body, retry_after_header(1))
        backend = replace(
            self._backend,
            identity=self._tenancy.identity(token),
            reach=self._tenancy.reach(token.install),
            token_user_id=token.user_id,
        )
        try:
            body = {"ok": True, **handler(backend, args)}
        except SlackError as exc:
            body = exc.to_body()
        scopes = token.install.scopes if token.install.scopes is not None else self.scopes
        headers = {"x-oauth-scopes": ",".join(scopes)} if method == "auth.test" else None
        if incoming.team_id is None:  # an org-wide token: the call acted in the workspace it named
            incoming = replace(incoming, team_id=self._acted_in(args, backend.reach))
        return self._answer(incoming, 200, body, headers)

    async def _inject(self, request: web.Request, fault: SlackFault, incoming: Incoming) -> web.Response:
        await fault.hold()
        if fault.disconnect:
            self.calls.append(Call(incoming.method, incoming.args, incoming.at, 0, {}, incoming.team_id,
                                   incoming.enterprise_id))  # fmt: skip
            drop_connection(request)
        status = fault.status or 200
        error = fault.error or _STATUS_ERRORS.get(status, "fatal_error")
        headers = retry_after_header(fault.retry_after) if status == 429 or fault.retry_after else None
        return self._answer(incoming, status, {"ok": False, "error": error, **fault.extra}, headers)

    def _answer(
        self,
        incoming: Incoming,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        self.calls.append(Call(incoming.method, incoming.args, incoming.at, status, copy.deepcopy(body),
                               incoming.team_id, incoming.enterprise_id))  # fmt: skip
        if status == 429:
            self.rate_limited_count += 1
        return web.json_response(body, status=status, headers=headers)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        """Step 2 of an upload: the bytes, raw or as the ``file`` part of a multipart form."""
        at = self.clock()
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = form.get("file")
            data = part.file.read() if hasattr(part, "file") else str(part or "").encode()
        else:
            data = await request.read()
        status, text = self._files.receive(request.match_info["upload_id"], data)
        self.calls.append(Call("upload", {"upload_id": request.match_info["upload_id"], "bytes": len(data)}, at,
                               status, {"ok": status == 200}))  # fmt: skip
        return web.Response(status=status, text=text)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        hook_id = request.match_info["hook_id"]
        at = self.clock()
        raw = await request.text()
        try:
            payload: Any = json.loads(raw)
        except ValueError:
            payload = None
        status, text, problems = await self._respond(request, hook_id, payload)
        hook = self._hooks.get(hook_id)
        self.responses.append(
            ResponsePost(
                hook_id,
                hook.channel_id if hook else None,
                hook.user_id if hook else None,
                payload,
                at,
                status,
                text,
                problems,
            )
        )
        return web.Response(status=status, text=text)

    async def _respond(self, request: web.Request, hook_id: str, payload: Any) -> tuple[int, str, tuple[str, ...]]:
        if (fault := self._faults.take(RESPONSE_URL_FAULT_KEY)) is not None:
            await fault.hold()
            if fault.disconnect:
                drop_connection(request)
            status = fault.status or 500
            return status, fault.error or _STATUS_ERRORS.get(status, "fatal_error"), ()
        try:
            deliver(self._world, self._hooks.claim(hook_id), payload, strict=self.strict_blocks)
        except ResponseUrlError as exc:
            return exc.status, exc.body, exc.problems
        return 200, "ok", ()
