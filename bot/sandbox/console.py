"""The sandbox console: type what a Slack user would, see what Slack would show them.

Each ``/cs …`` line becomes a really signed slash command posted to the bot's ``/slack/events``;
the ack is shown, then (after the bot has gone quiet) whatever appeared in the emulated workspace:
new or edited channel messages, thread replies, ephemerals and DMs, and the open modal. Lines that
start with ``:`` drive the console itself (switch user or channel, click, fill, submit, pay, link,
move the clock…); ``:help`` lists them.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import shlex
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.emulators.slack import SignedRequest, SlackEmulator
from bot.jobs.ticks import billing_tick, summary_tick
from bot.sandbox import browser
from bot.sandbox import seed as demo
from bot.sandbox.render import Clickable, InputField, Renderer, initial_value
from bot.sandbox.world import SUPPORT, World
from bot.services.billing import describe_run

SqlConnection = Callable[[str], Awaitable[str | None]]
log = logging.getLogger(__name__)

HELP = """\
Type a slash command as the current user, e.g.  /cs help   /cs link   /cs wallet
Console commands:
  :user <name>          act as another Slack user (alice owner, bob member, sam staff, or a new name)
  :as <name>@<space>    the same, naming their workspace: alice@acme (the customer's), sam@support (staff's)
  :install              "Add to Slack": install the app into your workspace (you allow it on Slack's page)
  :users                list the demo accounts and their passwords
  :channel <name>       move to a channel (created if new), e.g. :channel general
  :say <text>           post a plain message in the current channel
  :reply <m> <text>     reply in the thread of message [m<m>] ("last": the last one shown)
  :click <n>            press button/option [n] from the latest output
  :fill <n> <value>     set modal field n;  :fill  alone asks for each field in turn
  :submit  /  :close    submit or close the open modal
  :modal                show the open modal again
  :home                 open the App Home tab
  :dms                  the bot's direct messages to you
  :thread <m>           a message's thread (m is the number in [m3], or "last")
  :triage               the support/triage channel
  :link                 open the latest link page the bot gave you and sign in with your demo password
  :pay approve|decline  play the buyer at PayPal for the latest order, then follow the redirect
  :pay webhook          the buyer approves but closes the tab: PayPal's signed webhook does the rest
  :clock +3h            time passes (units d h m s): Linode, billing, summaries and /cs commands all follow
  :wait [seconds]       wait (default 2 s), then show what changed; Enter alone shows it at once
  :expect <text>        fail the script unless the previous output contains <text>
  :help  :quit"""

_LINK_URL = r"/link/[A-Za-z0-9_.~%-]+"
_DURATION = re.compile(r"^\+?((?:\d+(?:\.\d+)?[dhms])+)$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_CONTENT = ("text", "blocks", "attachments")
_SETTLE_FIRST, _SETTLE_QUIET, _SETTLE_MAX = 0.3, 0.5, 8.0


class ConsoleError(Exception):
    """A console command could not be done; the message is shown to the person."""


def _content_key(message: dict[str, Any] | None) -> str:
    if message is None:
        return ""
    return json.dumps({k: message.get(k) for k in _CONTENT}, sort_keys=True, default=str)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if match is None:
        raise ConsoleError(f"I can't read {text!r} as a duration; try +3h, +90m or +1d2h.")
    seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(match.group(1)))
    return timedelta(seconds=seconds)


class Console:
    """One person at one terminal, acting as a chosen Slack user in a chosen channel."""

    def __init__(self, world: World, write: Callable[[str], None] = print) -> None:
        self.world = world
        self._write = write
        first = demo.USERS[0]
        self.user_id = first.slack_id
        self.channel_id = world.general_of(first.slack_id)
        self.clickables: list[Clickable] = []
        self._pressable: list[Clickable] = []
        self.inputs: list[InputField] = []
        self.fills: dict[str, dict[str, str]] = {}
        self._numbers: dict[tuple[str, str], int] = {}
        self._by_number: dict[int, tuple[str, str]] = {}
        self._last_shown: tuple[str, str] | None = None
        self._seen: dict[str, Any] | None = None
        self._seen_text: list[tuple[str, str]] = []  # (slack user id, text) for :link
        self.output: list[str] = []
        self.last_output = ""
        self.failures = 0
        self._session: aiohttp.ClientSession | None = None

    # --- plumbing --------------------------------------------------------------------------------

    @property
    def slack(self) -> SlackEmulator:
        return self.world.slack

    @property
    def _world(self) -> Any:
        return self.world.slack._world  # the emulated workspace itself: the sandbox plays Slack's UI

    def emit(self, line: str = "") -> None:
        self.output.append(line)
        self._write(line)

    @property
    def user_name(self) -> str:
        user = self.slack.user(self.user_id)
        return user["name"] if user else self.user_id

    @property
    def channel_name(self) -> str:
        channel = self.slack.channel(self.channel_id)
        return channel["name"] if channel else self.channel_id

    def prompt(self) -> str:
        return f"{self.user_name}@#{self.channel_name}> "

    def _user_label(self, user_id: str) -> str | None:
        user = self.slack.user(user_id)
        return user["name"] if user else None

    def _channel_label(self, channel_id: str) -> str | None:
        channel = self.slack.channel(channel_id)
        return channel["name"] if channel else None

    def _renderer(self) -> Renderer:
        first = max((c.number for c in self.clickables), default=0) + 1
        return Renderer(users=self._user_label, channels=self._channel_label, first_button=first)

    async def _post(self, request: SignedRequest, path: str = "/slack/events") -> tuple[int, str]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.post(self.world.bot_url + path, data=request.body, headers=request.headers) as r:
            return r.status, await r.text()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _activity(self) -> tuple[int, ...]:
        return (
            len(self.slack.calls),
            len(self.slack.responses),
            len(self.world.paypal.calls),
            len(self.world.paypal.deliveries),
        )

    async def settle(self) -> None:
        """Wait until the bot has stopped talking to the emulators for a moment (it works after acks)."""
        loop = asyncio.get_running_loop()
        await asyncio.sleep(_SETTLE_FIRST)
        deadline = loop.time() + _SETTLE_MAX
        last, quiet_since = self._activity(), loop.time()
        while loop.time() < deadline:
            await asyncio.sleep(0.05)
            now_activity = self._activity()
            if now_activity != last:
                last, quiet_since = now_activity, loop.time()
            elif loop.time() - quiet_since >= _SETTLE_QUIET:
                return

    # --- what the user sees --------------------------------------------------------------------

    def _snapshot(self) -> dict[str, Any]:
        messages = {
            (channel.id, ts): _content_key(message)
            for channel in self._world.channels.values()
            for ts, message in channel.messages.items()
        }
        ephemerals = {m["ts"]: _content_key(m) for m in self._world.ephemerals if m["recipient"] == self.user_id}
        views = [(v["id"], v.get("hash")) for v in self.slack.open_views(self.user_id)]
        home = self.slack.home_view(self.user_id)
        return {"messages": messages, "ephemerals": ephemerals, "views": views, "home": home and home.get("hash")}

    def _since(self) -> dict[str, Any]:
        """What the person has already seen: the state after the last report (or now, at first)."""
        seen = self._seen if self._seen is not None else self._snapshot()
        return {**seen, "messages": dict(seen["messages"]), "ephemerals": dict(seen["ephemerals"])}

    def _number(self, channel_id: str, ts: str) -> int:
        key = (channel_id, ts)
        if key not in self._numbers:
            self._numbers[key] = len(self._numbers) + 1
            self._by_number[self._numbers[key]] = key
        return self._numbers[key]

    def _where(self, channel_id: str) -> str:
        if channel_id == self.slack.dm_channel_id(self.user_id):
            return "DM"
        return "#" + (self._channel_label(channel_id) or channel_id)

    def _render_message(self, renderer: Renderer, channel_id: str, message: dict[str, Any], note: str = "") -> None:
        author = self._user_label(message.get("user", "")) or message.get("username") or "bot"
        if message.get("bot_id") or message.get("user") == self.slack.identity.bot_user_id:
            author = "bot"
        if "recipient" in message:
            head = f"[only you] {author} in {self._where(channel_id)}"
            source: Any = ("ephemeral", message)
        else:
            number = self._number(channel_id, message["ts"])
            self._last_shown = (channel_id, message["ts"])
            head = f"[m{number}] {author} in {self._where(channel_id)}"
            parent = message.get("thread_ts")
            if parent and parent != message["ts"]:
                head += f" ↳ thread of [m{self._number(channel_id, parent)}]"
            elif message.get("reply_count"):
                head += f" ({message['reply_count']} repl{'y' if message['reply_count'] == 1 else 'ies'})"
            source = ("message", channel_id, message)
        self.emit(head + (f" {note}" if note else "") + ":")
        for line in renderer.message(message, source):
            self.emit("    " + line)
        self._remember_text(message)

    def _remember_text(self, content: dict[str, Any]) -> None:
        self._seen_text.append((self.user_id, json.dumps(content, default=str)))
        del self._seen_text[:-200]

    def _render_view(self, renderer: Renderer, view: dict[str, Any], kind: str) -> None:
        renderer.inputs = []
        values = self.fills.get(view["id"], {})
        lines = renderer.view(view, ("view", view["id"]), values)
        self.emit(f"{kind}:")
        for line in lines:
            self.emit("    " + line)
        if kind == "modal":
            self.inputs = list(renderer.inputs)

    def _finish(self, renderer: Renderer) -> None:
        """Make the renderer's buttons the pressable ones, numbered on from those already shown."""
        if renderer.clickables:
            self.clickables = [*self.clickables, *renderer.clickables]

    def report(self, before: dict[str, Any], *, show_home: bool = False) -> None:
        """Show everything that appeared or changed since ``before``, as Slack would to this user."""
        renderer = self._renderer()
        after = self._snapshot()
        dm = self.slack.dm_channel_id(self.user_id)
        elsewhere: dict[str, int] = {}
        for eph in self._world.ephemerals:
            if eph["recipient"] != self.user_id:
                continue
            old = before["ephemerals"].get(eph["ts"])
            if old is None or old != after["ephemerals"][eph["ts"]]:
                self._render_message(renderer, eph["channel"], eph, "" if old is None else "(updated)")
        for channel in list(self._world.channels.values()):
            for ts, message in list(channel.messages.items()):
                old = before["messages"].get((channel.id, ts))
                if old is not None and old == after["messages"][(channel.id, ts)]:
                    continue
                if channel.id in (self.channel_id, dm) or (channel.is_im and channel.peer == self.user_id):
                    self._render_message(renderer, channel.id, message, "" if old is None else "(updated)")
                elif not channel.is_im:
                    elsewhere[channel.id] = elsewhere.get(channel.id, 0) + 1
        for channel_id, count in elsewhere.items():
            name = self._channel_label(channel_id) or channel_id
            self.emit(f"({count} new or edited message{'s' if count > 1 else ''} in #{name} — :channel {name})")
        stack = self.slack.open_views(self.user_id)
        if stack and [(v["id"], v.get("hash")) for v in stack] != before["views"]:
            self._render_view(renderer, stack[-1], "modal")
        elif before["views"] and not stack:
            self.emit("(the modal closed)")
            self.inputs = []
        home = self.slack.home_view(self.user_id)
        if home is not None and (show_home or (home.get("hash") != before["home"])):
            if show_home:
                self._render_view(renderer, home, "App Home")
            else:
                self.emit("(your App Home tab changed — :home to see it)")
        self._finish(renderer)
        self._seen = after

    # --- input dispatch --------------------------------------------------------------------------

    async def handle(self, line: str, read: SqlConnection) -> bool:
        """Run one typed line; False when the person asked to quit."""
        line = line.strip()
        if line.startswith("#"):
            return True
        if not line:  # Enter on its own: show what arrived since the last output
            self.output = []
            self.report(self._since())
            return True
        is_expect = line.startswith(":expect")
        if not is_expect:
            self.output = []
        if not line.startswith((":expect", ":fill", ":help", ":users")):
            self._pressable, self.clickables = self.clickables, []  # only the newest output's buttons count
        try:
            if line.startswith(":"):
                name, _, rest = line[1:].partition(" ")
                if name in {"quit", "exit", "q"}:
                    return False
                await self._command(name.lower(), rest.strip(), read)
            elif line.startswith("/"):
                await self.slash(line)
            else:
                await self.say(line)
        except ConsoleError as error:
            self.emit(f"! {error}")
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            self.emit(f"! could not reach the bot or an emulator: {error!r}")
        except Exception as error:  # the console must outlive any one mistake; details go to the log
            log.exception("sandbox.console_failed", extra={"line": line})
            self.emit(f"! the console could not do that ({type(error).__name__}: {error}); see the log")
        if not is_expect:
            self.last_output = "\n".join(self.output)
        return True

    async def _command(self, name: str, rest: str, read: SqlConnection) -> None:
        simple: dict[str, Callable[[str], Awaitable[None]]] = {
            "user": self.switch_user,
            "as": self.act_as,
            "install": self.install,
            "channel": self.switch_channel,
            "say": self.say,
            "reply": self.reply,
            "click": self.click,
            "submit": self.submit,
            "close": self.close_modal,
            "modal": self.show_modal,
            "home": self.home,
            "dms": self.dms,
            "thread": self.thread,
            "triage": self.triage,
            "link": self.link,
            "pay": self.pay,
            "clock": self.move_clock,
            "wait": self.wait,
            "expect": self.expect,
            "users": self.users,
        }
        if name == "help":
            for help_line in HELP.splitlines():
                self.emit(help_line)
        elif name == "fill":
            await self.fill(rest, read)
        elif name in simple:
            await simple[name](rest)
        else:
            raise ConsoleError(f"unknown console command :{name} (see :help)")

    # --- Slack actions ---------------------------------------------------------------------------

    async def slash(self, line: str) -> None:
        command, _, text = line.partition(" ")
        if command != self.world.settings.slack_command:
            raise ConsoleError(f"this workspace only has the {self.world.settings.slack_command} command")
        before = self._since()
        request = self.world.requests.slash_command(
            self.user_id, text.strip(), command=command, channel_id=self.channel_id
        )
        status, body = await self._post(request)
        shown = self._show_ack(status, body)
        if shown is not None:  # already on screen: the report shows it again only if it changes
            before["ephemerals"][shown["ts"]] = _content_key(shown)
        await self.settle()
        self.report(before)

    def _show_ack(self, status: int, body: str) -> dict[str, Any] | None:
        """Show the ack as Slack does: an ephemeral (or an in-channel message); returns the ephemeral."""
        if status != 200:
            self.emit(f"! the bot answered HTTP {status}: {body[:300]}")
            return None
        if not body.strip():
            return None
        try:
            content = json.loads(body)
        except ValueError:
            content = {"text": body}
        if not isinstance(content, dict):
            content = {"text": str(content)}
        shown = {k: content[k] for k in _CONTENT if content.get(k)}
        if not shown:
            return None
        if content.get("response_type") == "in_channel":
            channel = self._world.postable_channel(self.channel_id)
            self._world.post(channel, shown, author=self._world.bot_author())
            return None  # the report shows it as a new channel message
        message = self._world.post_ephemeral(self.channel_id, self.user_id, shown, source="ack")
        renderer = self._renderer()
        self._render_message(renderer, self.channel_id, message)
        self._finish(renderer)
        return dict(message)

    async def say(self, text: str) -> None:
        if not text:
            raise ConsoleError("say what? e.g. :say hello")
        before = self._since()
        request = self.world.requests.message_event(self.user_id, self.channel_id, text)
        status, body = await self._post(request)
        if status != 200:
            self.emit(f"! the bot answered HTTP {status}: {body[:300]}")
        await self.settle()
        self.report(before)

    async def reply(self, rest: str) -> None:
        number_text, _, text = rest.partition(" ")
        channel_id, ts = self._message_ref(number_text)
        if not text.strip():
            raise ConsoleError("usage: :reply <message number> <text>")
        before = self._since()
        request = self.world.requests.message_event(self.user_id, channel_id, text.strip(), thread_ts=ts)
        status, body = await self._post(request)
        if status != 200:
            self.emit(f"! the bot answered HTTP {status}: {body[:300]}")
        await self.settle()
        self.report(before)
        self._show_others(before, channel_id)

    def _show_others(self, before: dict[str, Any], channel_id: str) -> None:
        """New messages in ``channel_id`` when it is not the current channel (thread replies there)."""
        if channel_id == self.channel_id:
            return
        renderer = self._renderer()
        for ts, message in self._world.channels[channel_id].messages.items():
            if (channel_id, ts) not in before["messages"]:
                self._render_message(renderer, channel_id, message)
        self._finish(renderer)

    def _message_ref(self, text: str) -> tuple[str, str]:
        if text.strip().lower() == "last" and self._last_shown is not None:
            return self._last_shown
        try:
            number = int(text.strip().lstrip("[m").rstrip("]"))
        except ValueError:
            raise ConsoleError("give a message number, e.g. 3 for [m3]") from None
        if number not in self._by_number:
            raise ConsoleError(f"no message [m{number}] has been shown")
        return self._by_number[number]

    def _clickable(self, rest: str) -> Clickable:
        try:
            number = int(rest.strip().lstrip("[").rstrip("]"))
        except ValueError:
            self.clickables = self._pressable
            raise ConsoleError("usage: :click <number>, e.g. :click 1") from None
        found = next((c for c in self._pressable if c.number == number), None)
        if found is None:
            self.clickables = self._pressable  # a mistyped number: the same buttons stay pressable
            raise ConsoleError(f"there is no button [{number}] in the latest output")
        return found

    async def click(self, rest: str) -> None:
        target = self._clickable(rest)
        before = self._since()
        action = target.action()
        kind = target.source[0]
        if kind == "view":
            view = self._view_by_id(target.source[1])
            view["state"] = {"values": self._state_values(view)}
            request = self.world.requests.block_actions(self.user_id, [action], view=view)
        elif kind == "ephemeral":
            message = target.source[1]
            request = self.world.requests.block_actions(
                self.user_id, [action], channel_id=message["channel"], message=message, is_ephemeral=True
            )
        else:
            _, channel_id, message = target.source
            current = self.slack.message(channel_id, message["ts"]) or message
            request = self.world.requests.block_actions(self.user_id, [action], channel_id=channel_id, message=current)
        if target.url:
            self.emit(f"(your browser opens {target.url})")
            if target.url.startswith(self.world.paypal.base_url):
                self.emit("(this is PayPal's checkout: :pay approve or :pay decline)")
            elif re.search(re.escape(self.world.settings.public_url) + _LINK_URL, target.url):
                self.emit("(this is the account-link page: :link signs in there)")
        status, body = await self._post(request)
        if status != 200:
            self.emit(f"! the bot answered HTTP {status}: {body[:300]}")
        await self.settle()
        self.report(before)

    def _view_by_id(self, view_id: str) -> dict[str, Any]:
        for view in self.slack.open_views(self.user_id):
            if view["id"] == view_id:
                return view
        home = self.slack.home_view(self.user_id)
        if home is not None and home["id"] == view_id:
            return home
        raise ConsoleError("that view is no longer open")

    # --- modals ----------------------------------------------------------------------------------

    def _top_view(self) -> dict[str, Any]:
        stack = self.slack.open_views(self.user_id)
        if not stack:
            raise ConsoleError("no modal is open")
        return stack[-1]

    def _refresh_inputs(self, view: dict[str, Any]) -> None:
        renderer = self._renderer()
        renderer.view(view, ("view", view["id"]), self.fills.get(view["id"], {}))
        self.inputs = list(renderer.inputs)

    async def show_modal(self, _rest: str = "") -> None:
        renderer = self._renderer()
        self._render_view(renderer, self._top_view(), "modal")
        self._finish(renderer)

    async def fill(self, rest: str, read: SqlConnection) -> None:
        view = self._top_view()
        self._refresh_inputs(view)
        values = self.fills.setdefault(view["id"], {})
        if not rest:
            for field_ in self.inputs:
                current = values.get(field_.block_id, initial_value(field_.element))
                answer = await read(f"  {field_.number}. {field_.label} [{current}]: ")
                if answer is None:
                    break
                if answer.strip():
                    values[field_.block_id] = answer.strip()
            await self.show_modal()
            return
        number_text, _, value = rest.partition(" ")
        try:
            number = int(number_text)
        except ValueError:
            raise ConsoleError("usage: :fill <field number> <value>") from None
        field_ = next((f for f in self.inputs if f.number == number), None)
        if field_ is None:
            raise ConsoleError(f"the modal has no field {number}")
        values[field_.block_id] = value.strip()
        self.emit(f"  {field_.number}. {field_.label}: {value.strip() or '—'}")

    def _state_values(self, view: dict[str, Any]) -> dict[str, dict[str, Any]]:
        self._refresh_inputs(view)
        typed = self.fills.get(view["id"], {})
        values: dict[str, dict[str, Any]] = {}
        for field_ in self.inputs:
            raw = typed.get(field_.block_id)
            values[field_.block_id] = {field_.action_id: self._input_state(field_, raw)}
        return values

    def _input_state(self, field_: InputField, raw: str | None) -> dict[str, Any]:
        element, kind = field_.element, field_.kind
        if raw is None:  # untouched: what Slack would send for the initial value
            raw = initial_value(element)
            if kind in {"static_select", "radio_buttons"} and element.get("initial_option"):
                return {"type": kind, "selected_option": element["initial_option"]}
            if kind in {"checkboxes", "multi_static_select"} and element.get("initial_options"):
                return {"type": kind, "selected_options": element["initial_options"]}
        raw = raw or ""
        if kind in {"static_select", "radio_buttons", "external_select"}:
            return {"type": kind, "selected_option": self._option(field_, raw) if raw else None}
        if kind in {"checkboxes", "multi_static_select"}:
            chosen = [self._option(field_, part.strip()) for part in raw.split(",") if part.strip()]
            return {"type": kind, "selected_options": chosen}
        if kind == "users_select":
            return {"type": kind, "selected_user": self._user_ref(raw) if raw else None}
        if kind in {"conversations_select", "channels_select"}:
            key = "selected_conversation" if kind == "conversations_select" else "selected_channel"
            return {"type": kind, key: self._channel_ref(raw) if raw else None}
        if kind == "datepicker":
            return {"type": kind, "selected_date": raw or None}
        if kind == "timepicker":
            return {"type": kind, "selected_time": raw or None}
        return {"type": kind, "value": raw or None}

    def _option(self, field_: InputField, raw: str) -> dict[str, Any]:
        options = field_.options()
        if raw.isdigit() and 1 <= int(raw) <= len(options):
            return options[int(raw) - 1]
        for option in options:
            label = html.unescape(str((option.get("text") or {}).get("text", "")))
            if raw in (option.get("value"), label) or raw.lower() == label.lower():
                return option
        for option in options:
            label = html.unescape(str((option.get("text") or {}).get("text", "")))
            if label.lower().startswith(raw.lower()):
                return option
        raise ConsoleError(f"{field_.label}: no option {raw!r}")

    def _user_ref(self, raw: str) -> str:
        name = raw.removeprefix("@")
        if self.slack.user(name):
            return name
        for user_id, user in self._world.users.items():
            if user.name == name:
                return str(user_id)
        raise ConsoleError(f"no Slack user called {raw!r}")

    def _channel_ref(self, raw: str) -> str:
        name = raw.removeprefix("#")
        for channel in self._world.channels.values():
            if name in (channel.id, channel.name):
                return str(channel.id)
        raise ConsoleError(f"no channel called {raw!r}")

    async def submit(self, _rest: str = "") -> None:
        view = self._top_view()
        values = self._state_values(view)
        before = self._since()
        request = self.world.requests.view_submission(self.user_id, view, values=values)
        status, body = await self._post(request)
        if status != 200:
            self.emit(f"! the bot answered HTTP {status}: {body[:300]}")
            return
        answer = json.loads(body) if body.strip().startswith("{") else {}
        action = answer.get("response_action")
        if action == "errors":
            self.emit("The modal stays open with errors:")
            labels = {f.block_id: f"{f.number}. {f.label}" for f in self.inputs}
            for block_id, message in (answer.get("errors") or {}).items():
                self.emit(f"  {labels.get(block_id, block_id)}: {message}")
            return
        owner = (self.slack.identity, view.get("team_id") or self.slack.identity.team_id)  # stays in its workspace
        if action == "update":
            self.slack._views.update(view["id"], answer["view"], expected_hash=None, owner=owner)
        elif action == "push":
            self.slack._views.push(self.user_id, answer["view"], owner=owner)
        elif action == "clear":
            self.slack.clear_views(self.user_id)
        else:
            self.slack.close_view(view["id"])
        self.fills.pop(view["id"], None)
        await self.settle()
        self.report(before)

    async def close_modal(self, _rest: str = "") -> None:
        view = self._top_view()
        before = self._since()
        self.slack.close_view(view["id"])
        if view.get("notify_on_close"):
            await self._post(self.world.requests.view_closed(self.user_id, view))
            await self.settle()
        self.report(before)

    # --- places ------------------------------------------------------------------------------------

    async def switch_user(self, rest: str) -> None:
        name = rest.strip().removeprefix("@").lower()
        if not name:
            raise ConsoleError("usage: :user <name>, e.g. :user bob")
        known = next((uid for uid, u in self._world.users.items() if u.name == name and not u.is_bot), None)
        if known is None:
            if not re.fullmatch(r"[a-z][a-z0-9._-]{0,20}", name):
                raise ConsoleError("a new user's name is lower-case letters, digits, . _ -")
            known = "U0" + re.sub(r"[^A-Z0-9]", "", name.upper())[:7].ljust(7, "X")
            while self.slack.user(known):
                known = known[:-1] + chr(ord(known[-1]) + 1)
            self.slack.add_user(known, name=name)
            for channel in self._world.channels.values():
                if not channel.is_im:
                    channel.members.add(known)
            self.emit(f"(new Slack user @{name}; they have no panel account)")
        self.user_id = known
        self.inputs, self.clickables, self._seen = [], [], None
        account = next((u for u in demo.USERS if u.slack_id == known), None)
        detail = f" — {account.blurb}, signs in as {account.email}" if account else ""
        self.emit(f"You are now @{name}{detail}.")
        if self._team(self.channel_id) != self._user_team():  # a channel of another workspace: go home
            self.channel_id = self.world.general_of(known)
            self.emit(f"You are now in #general of {self._team_name()}.")

    async def act_as(self, rest: str) -> None:
        """`:as sam@support`: a user, checked to be a member of the named workspace."""
        name, _, space = rest.strip().removeprefix("@").partition("@")
        team = self.world.team_of(space) if space else None
        if not name or team is None:
            raise ConsoleError("usage: :as <name>@<workspace>, e.g. :as sam@support or :as alice@acme")
        found = next((u for u in self._world.users.values() if u.name == name.lower() and not u.is_bot), None)
        if found is None or found.team_id != team:
            raise ConsoleError(f"@{name} is not a member of the {space} workspace")
        await self.switch_user(name)

    async def install(self, _rest: str = "") -> None:
        """Add the app to the current user's workspace through the bot's real OAuth pages."""
        team = self._user_team()
        self.emit(f"(browser) GET {self.world.bot_url}/slack/install → Slack: @{self.user_name} allows the install")
        visit = await self.world.install(team, self.user_id)
        self.emit(f"(browser) back at {visit.url} — HTTP {visit.status}:")
        for line in visit.text.splitlines():
            self.emit("    " + line)

    def _user_team(self) -> str:
        user = self._world.users.get(self.user_id)
        return user.team_id if user else ""

    def _team(self, channel_id: str) -> str:
        channel = self._world.channels.get(channel_id)
        return (channel.team_id or "") if channel else ""

    def _team_name(self) -> str:
        workspace = self._world.directory.workspace(self._user_team())
        return workspace.name if workspace else self._user_team()

    async def switch_channel(self, rest: str) -> None:
        name = rest.strip().removeprefix("#").lower()
        if not name:
            raise ConsoleError("usage: :channel <name>, e.g. :channel general")
        here = self._user_team()  # this workspace's channel of that name first (each has a #general)
        named = [c for c in self._world.channels.values() if c.name == name and not c.is_im]
        found = next((c for c in named if c.team_id == here), named[0] if named else None)
        if found is None:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,40}", name):
                raise ConsoleError("channel names are lower-case letters, digits, - and _")
            channel_id = "C0" + re.sub(r"[^A-Z0-9]", "", name.upper())[:7].ljust(7, "X")
            while self.slack.channel(channel_id):
                channel_id = channel_id[:-1] + chr(ord(channel_id[-1]) + 1)
            members = [uid for uid, u in self._world.users.items() if not u.is_bot and u.team_id == here]
            self.slack.add_channel(channel_id, name=name, members=members, team_id=here)
            self.emit(f"(created #{name}; the bot is a member)")
            found = self._world.channels[channel_id]
        self.channel_id = found.id
        self.emit(f"You are now in #{name}.")
        self._show_channel(found.id, limit=5)

    def _show_channel(self, channel_id: str, limit: int) -> None:
        renderer = self._renderer()
        messages = self.slack.channel_messages(channel_id)[-limit:]
        if not messages:
            self.emit("(no messages)")
        for message in messages:
            self._render_message(renderer, channel_id, message)
        self._finish(renderer)

    async def users(self, _rest: str = "") -> None:
        for user in demo.USERS:
            self.emit(f"  {user.handle:<6} {user.email} / {user.password}  ({user.blurb})")

    async def home(self, _rest: str = "") -> None:
        before = self._since()
        before["home"] = None
        status, body = await self._post(self.world.requests.app_home_opened(self.user_id))
        if status != 200:
            self.emit(f"! the bot answered HTTP {status}: {body[:300]}")
        await self.settle()
        if self.slack.home_view(self.user_id) is None:
            self.emit("(the bot has not published an App Home for you)")
        self.report(before, show_home=True)

    async def dms(self, _rest: str = "") -> None:
        dm = self.slack.dm_channel_id(self.user_id)
        self.emit(f"Direct messages from the bot to @{self.user_name}:")
        self._show_channel(dm, limit=10)

    async def thread(self, rest: str) -> None:
        channel_id, ts = self._message_ref(rest)
        renderer = self._renderer()
        messages = self.slack.thread(channel_id, ts)
        for message in messages:
            self._render_message(renderer, channel_id, message)
        if len(messages) <= 1:
            self.emit("(no replies)")
        self._finish(renderer)

    async def triage(self, _rest: str = "") -> None:
        channel_id = self.world.settings.support_channel or SUPPORT[0]
        self.emit(f"#{self._channel_label(channel_id)} (support triage), latest messages:")
        self._show_channel(channel_id, limit=10)

    # --- the browser and PayPal ----------------------------------------------------------------

    def _latest_link(self) -> str:
        pattern = re.compile(re.escape(self.world.settings.public_url) + _LINK_URL)
        texts = [text for user, text in self._seen_text if user == self.user_id]
        texts += [json.dumps(r.payload, default=str) for r in self.slack.responses if r.user_id == self.user_id]
        for text in reversed(texts):
            found = pattern.findall(text)
            if found:
                return str(found[-1])
        raise ConsoleError("the bot has not given you a link yet: type /cs link first")

    async def link(self, _rest: str = "") -> None:
        account = next((u for u in demo.USERS if u.slack_id == self.user_id), None)
        if account is None:
            raise ConsoleError("this Slack user has no demo panel account to sign in with (try :user alice)")
        url = self._latest_link()
        before = self._since()
        self.emit(f"(browser) GET {url}")
        self.emit(f"(browser) sign in as {account.email} with the demo password")
        try:
            visit = await browser.complete_link(url, account.email, account.password)
        except browser.BrowserError as error:
            raise ConsoleError(str(error)) from None
        self.emit(f"(browser) HTTP {visit.status}:")
        for line in visit.text.splitlines():
            self.emit("    " + line)
        await self.settle()
        self.report(before)

    def _latest_order(self) -> str:
        orders = list(self.world.paypal.orders)
        if not orders:
            raise ConsoleError("there is no PayPal order yet: start a top-up with /cs wallet topup <amount>")
        return orders[-1]

    async def pay(self, rest: str) -> None:
        action = rest.strip().lower()
        if action not in {"approve", "decline", "webhook"}:
            raise ConsoleError("usage: :pay approve | :pay decline | :pay webhook")
        order_id = self._latest_order()
        before = self._since()
        if action == "webhook":
            paypal = self.world.paypal
            if paypal.orders[order_id]["status"] != "APPROVED":
                try:
                    paypal.approve(order_id)
                except ValueError as error:
                    raise ConsoleError(f"PayPal will not approve {order_id}: {error}") from None
                self.emit(f"(PayPal) the buyer approved {order_id} and closed the tab before returning")
            event = paypal.event_order_approved(order_id)
            statuses = await self.world.paypal.deliver(self.world.webhook_url, event)
            self.emit(f"(PayPal) delivered CHECKOUT.ORDER.APPROVED for {order_id}: HTTP {statuses}")
        else:
            self.emit(
                f"(browser) PayPal checkout for order {order_id}: {'Pay now' if action == 'approve' else 'Cancel'}"
            )
            visit = await browser.paypal_checkout(
                self.world.paypal.base_url, order_id, "approve" if action == "approve" else "cancel"
            )
            self.emit(f"(browser) back at {visit.url.split('?')[0]} — HTTP {visit.status}:")
            for line in visit.text.splitlines():
                self.emit("    " + line)
        await self.settle()
        self.report(before)

    # --- time ----------------------------------------------------------------------------------------

    async def move_clock(self, rest: str) -> None:
        delta = parse_duration(rest or "+1h")
        before = self._since()
        await self.world.move_clock(delta.total_seconds())
        now = self.world.clock.now()
        self.emit(f"(clock) sandbox time is now {now:%Y-%m-%d %H:%M} UTC (+{delta}); the bot and Linode follow it")
        await self._run_billing(now)
        await self.settle()
        self.report(before)

    async def _run_billing(self, now: datetime) -> None:
        """Run the scheduler's billing and summary ticks at sandbox time, as a replica would."""
        engine, settings = self.world.engine, self.world.settings
        result = await billing_tick(engine, settings, now)
        for line in await describe_run(engine, result):
            self.emit(f"(billing) {line}")
        for summary in await summary_tick(engine, settings, now):
            if summary.slot is None or not summary.claimed:
                self.emit(f"(summaries) {summary.job}: nothing due")
            else:
                when = f"{summary.slot:%Y-%m-%d %H:%M %Z}"
                self.emit(f"(summaries) {summary.job} for {when}: {summary.messages} message(s) posted")

    async def wait(self, rest: str) -> None:
        try:
            seconds = float(rest) if rest else 2.0
        except ValueError:
            raise ConsoleError("usage: :wait [seconds]") from None
        before = self._since()
        await asyncio.sleep(min(seconds, 60.0))
        await self.settle()
        self.report(before)

    # --- scripts -------------------------------------------------------------------------------------

    async def expect(self, rest: str) -> None:
        wanted = rest.strip()
        if len(wanted) >= 2 and wanted[0] == wanted[-1] and wanted[0] in "'\"":
            wanted = shlex.split(wanted)[0]
        if wanted and wanted in self.last_output:
            self.emit(f"✓ expected: {wanted}")
        else:
            self.failures += 1
            self.emit(f"✗ EXPECTATION FAILED: the previous output does not contain {wanted!r}")
