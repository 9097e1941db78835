"""Really signed inbound Slack requests: slash commands, interactivity and Events API envelopes.

Each builder produces the exact bytes Slack would send (flat form, ``payload=<json>`` form or a JSON
envelope) plus the v0 signature headers, so the bot's real verification path runs in tests. When an
emulator is attached, ``trigger_id``s and ``response_url``s are issued by it and therefore usable.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from bot.emulators.slack.signing import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    SIGNATURE_HEADER,
    STALE_AFTER_SECONDS,
    TIMESTAMP_HEADER,
    SignedRequest,
    sign,
    tamper,
    with_signature,
)
from bot.emulators.slack.tenancy import RequestContext
from bot.emulators.slack.workspaces import GENERAL_CHANNEL_ID

if TYPE_CHECKING:
    from bot.emulators.slack.server import SlackEmulator

__all__ = ["SignedRequest", "SlackRequestFactory", "sign", "tamper", "with_signature"]
_ID_ALPHABET = string.ascii_uppercase + string.digits


def slack_escape(typed: str) -> str:
    """Typed text as Slack sends it in events: `&`, `<`, `>` escaped."""
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _random_id(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


class SlackRequestFactory:
    """Builds what Slack sends to the bot, signed with ``signing_secret``.

    Every builder takes ``timestamp=`` to sign with another time (stale-request tests). With an
    emulator (and no fixed ``team_id``/``enterprise_id``), a request carries the acting user's own
    workspace, its enterprise and its install, as Slack fills them in; an event in a Slack Connect
    channel goes to the channel's host team and names the user's team as ``user_team``.
    """

    def __init__(
        self,
        signing_secret: str,
        *,
        emulator: SlackEmulator | None = None,
        team_id: str | None = None,
        team_domain: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
        api_app_id: str = "A0CSBOT",
        bot_user_id: str | None = None,
        verification_token: str = "legacy-verification-token",  # noqa: S107 - deprecated, unchecked
        clock: Callable[[], float] = time.time,
        is_enterprise_install: bool = False,
    ) -> None:
        identity = emulator.identity if emulator is not None else None
        self._fixed_team = team_id is not None or enterprise_id is not None
        self.signing_secret = signing_secret
        self.emulator = emulator
        self.team_id = team_id or (identity.team_id if identity else "T0CSBOT01")
        self.team_domain = team_domain or (identity.team_domain if identity else "containerstacks")
        self.enterprise_id = enterprise_id
        self.enterprise_name = enterprise_name or (f"{enterprise_id} Grid" if enterprise_id else None)
        self.api_app_id = api_app_id
        self.bot_user_id = bot_user_id or (identity.bot_user_id if identity else "U0CSBOT")
        self.verification_token = verification_token
        self.clock = clock
        self.is_enterprise_install = is_enterprise_install

    # --- signing and negative cases ------------------------------------------------------------

    def _signed(
        self,
        body: bytes,
        content_type: str,
        timestamp: int | None,
        extra_headers: dict[str, str] | None = None,
    ) -> SignedRequest:
        ts = int(self.clock()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: sign(self.signing_secret, body, ts),
            **(extra_headers or {}),
        }
        hook = self.emulator.receive_answer if self.emulator is not None else None
        return SignedRequest(body, headers, content_type, on_answer=hook)

    def _form(self, fields: dict[str, str], timestamp: int | None) -> SignedRequest:
        return self._signed(urlencode(fields).encode(), FORM_CONTENT_TYPE, timestamp)

    def _interactive(self, payload: dict[str, Any], timestamp: int | None) -> SignedRequest:
        return self._form({"payload": json.dumps(payload, separators=(",", ":"))}, timestamp)

    def _json(
        self, body: dict[str, Any], timestamp: int | None, extra_headers: dict[str, str] | None = None
    ) -> SignedRequest:
        raw = json.dumps(body, separators=(",", ":")).encode()
        return self._signed(raw, JSON_CONTENT_TYPE, timestamp, extra_headers)

    def stale(self, req: SignedRequest, seconds: int = STALE_AFTER_SECONDS + 1) -> SignedRequest:
        """The same body correctly signed, but ``seconds`` in the past (outside the 5-minute window)."""
        resigned = self._signed(req.body, req.content_type, int(self.clock()) - seconds)
        extra = {k: v for k, v in req.headers.items() if k not in resigned.headers}
        return replace(resigned, headers={**resigned.headers, **extra})

    tamper = staticmethod(tamper)
    with_signature = staticmethod(with_signature)

    # --- identities and one-shot tokens --------------------------------------------------------

    def _user_name(self, user_id: str) -> str:
        user = self.emulator.user(user_id) if self.emulator else None
        return user["name"] if user else user_id.lower()

    def _channel_name(self, channel_id: str) -> str:
        if channel_id.startswith("D"):
            return "directmessage"
        channel = self.emulator.channel(channel_id) if self.emulator else None
        if channel is None:
            return "general" if channel_id == GENERAL_CHANNEL_ID else channel_id.lower()
        return channel["name"]

    def context(self, user_id: str | None, channel_id: str | None = None, *, host_team: bool = False) -> RequestContext:
        """The team, enterprise and install a request from ``user_id`` is addressed to."""
        found = None
        if self.emulator is not None and not self._fixed_team and user_id:
            found = self.emulator.request_context(user_id, channel_id, host_team=host_team)
        if found is None:
            return RequestContext(self.team_id, self.team_domain, self.enterprise_id, self.enterprise_name,
                                  self.is_enterprise_install, self.bot_user_id, self.team_id, False)  # fmt: skip
        return found

    def _bot_user(self, ctx: RequestContext) -> str:
        return ctx.bot_user_id or self.bot_user_id

    def _user(self, user_id: str, ctx: RequestContext) -> dict[str, Any]:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": ctx.user_team}

    @staticmethod
    def _team(ctx: RequestContext) -> dict[str, Any]:
        team: dict[str, Any] = {"id": ctx.team_id, "domain": ctx.team_domain}
        if ctx.enterprise_id:
            team.update(enterprise_id=ctx.enterprise_id, enterprise_name=ctx.enterprise_name)
        return team

    @staticmethod
    def _enterprise(ctx: RequestContext) -> dict[str, str] | None:
        if not ctx.enterprise_id:
            return None
        return {"id": ctx.enterprise_id, "name": ctx.enterprise_name or ""}

    def _trigger_id(self, user_id: str) -> str:
        if self.emulator is not None:
            return self.emulator.new_trigger_id(user_id)
        return f"{int(self.clock())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"

    def _response_url(
        self, channel_id: str, user_id: str, *, message_ts: str | None = None, is_ephemeral: bool = False
    ) -> str:
        if self.emulator is not None:
            return self.emulator.new_response_url(channel_id, user_id, message_ts=message_ts, is_ephemeral=is_ephemeral)
        token = secrets.token_urlsafe(18)
        return f"https://hooks.slack.com/commands/{self.team_id}/{secrets.randbelow(10**12)}/{token}"

    def _now_ts(self) -> str:
        return f"{self.clock():.6f}"

    def _interaction(self, kind: str, user_id: str) -> dict[str, Any]:
        ctx = self.context(user_id)
        return {
            "type": kind,
            "user": self._user(user_id, ctx),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "team": self._team(ctx),
            "enterprise": self._enterprise(ctx),
            "is_enterprise_install": ctx.is_enterprise_install,
        }

    # --- slash commands ------------------------------------------------------------------------

    def slash_command(
        self,
        user_id: str,
        text: str = "",
        *,
        command: str = "/cs",
        channel_id: str = GENERAL_CHANNEL_ID,
        channel_name: str | None = None,
        user_name: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        ctx = self.context(user_id, channel_id)
        fields = {"token": self.verification_token, "team_id": ctx.team_id, "team_domain": ctx.team_domain}
        if ctx.enterprise_id:
            fields.update(enterprise_id=ctx.enterprise_id, enterprise_name=ctx.enterprise_name or "")
        fields.update(
            channel_id=channel_id,
            channel_name=channel_name or self._channel_name(channel_id),
            user_id=user_id,
            user_name=user_name or self._user_name(user_id),
            command=command,
            text=text,
            api_app_id=self.api_app_id,
            is_enterprise_install=str(ctx.is_enterprise_install).lower(),
            response_url=self._response_url(channel_id, user_id),
            trigger_id=self._trigger_id(user_id),
        )
        return self._form(fields, timestamp)

    # --- interactivity -------------------------------------------------------------------------

    def block_actions(
        self,
        user_id: str,
        actions: list[dict[str, Any]],
        *,
        channel_id: str | None = None,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        is_ephemeral: bool = False,
        container: dict[str, Any] | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A click from a message (``message=``, or an emulator ephemeral) or from a modal/Home view.

        Ephemeral origins carry no ``message`` (only its ts in ``container``); view origins carry the
        full ``view`` and no ``response_url``, exactly as Slack sends them.
        """
        payload = self._interaction("block_actions", user_id)
        payload["trigger_id"] = self._trigger_id(user_id)
        payload["actions"] = [self._action(action) for action in actions]
        if view is not None:
            payload["container"] = container or {"type": "view", "view_id": view.get("id")}
            payload["view"] = copy.deepcopy(view)
            return self._interactive(payload, timestamp)
        bot_user = self._bot_user(self.context(user_id))
        message = message or {"type": "message", "ts": self._now_ts(), "text": "", "user": bot_user}
        is_ephemeral = is_ephemeral or "recipient" in message
        channel = channel_id or message.get("channel") or GENERAL_CHANNEL_ID
        payload["container"] = container or {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel, "name": self._channel_name(channel)}
        if not is_ephemeral:
            payload["message"] = copy.deepcopy(message)
        payload["state"] = {"values": {}}
        payload["response_url"] = self._response_url(
            channel, user_id, message_ts=message["ts"], is_ephemeral=is_ephemeral
        )
        return self._interactive(payload, timestamp)

    def _action(self, action: dict[str, Any]) -> dict[str, Any]:
        filled = {"type": "button", "block_id": secrets.token_hex(3), **action}
        filled.setdefault("action_ts", self._now_ts())
        return filled

    def view_submission(
        self,
        user_id: str,
        view: dict[str, Any],
        *,
        values: dict[str, dict[str, Any]],
        timestamp: int | None = None,
    ) -> SignedRequest:
        """Submit ``view`` with ``values`` ({block_id: {action_id: state}}); a bare str is a text input."""
        submitted = self._full_view(view, user_id)
        submitted["state"] = {"values": _expand_values(values)}
        payload = self._interaction("view_submission", user_id)
        payload.update(trigger_id=self._trigger_id(user_id), view=submitted, response_urls=[])
        return self._interactive(payload, timestamp)

    def view_closed(
        self, user_id: str, view: dict[str, Any], is_cleared: bool = False, *, timestamp: int | None = None
    ) -> SignedRequest:
        payload = self._interaction("view_closed", user_id)
        payload.update(view=self._full_view(view, user_id), is_cleared=is_cleared)
        return self._interactive(payload, timestamp)

    def _full_view(self, view: dict[str, Any], user_id: str) -> dict[str, Any]:
        """A view as Slack echoes it back, filling server-side fields a bare definition lacks."""
        full = copy.deepcopy(view)
        view_id = full.setdefault("id", _random_id("V"))
        for key, value in (
            ("team_id", self.context(user_id).team_id),
            ("type", "modal"),
            ("private_metadata", ""),
            ("callback_id", ""),
            ("external_id", ""),
            ("state", {"values": {}}),
            ("hash", f"{int(self.clock())}.{secrets.token_hex(4)}"),
            ("root_view_id", view_id),
            ("previous_view_id", None),
            ("app_id", self.api_app_id),
        ):
            full.setdefault(key, value)
        return full

    def message_shortcut(
        self,
        user_id: str,
        callback_id: str,
        *,
        channel_id: str,
        message: dict[str, Any],
        timestamp: int | None = None,
    ) -> SignedRequest:
        payload = self._interaction("message_action", user_id)
        payload.update(
            callback_id=callback_id,
            trigger_id=self._trigger_id(user_id),
            action_ts=self._now_ts(),
            channel={"id": channel_id, "name": self._channel_name(channel_id)},
            message_ts=message["ts"],
            message=copy.deepcopy(message),
            response_url=self._response_url(channel_id, user_id),
        )
        return self._interactive(payload, timestamp)

    def global_shortcut(self, user_id: str, callback_id: str, *, timestamp: int | None = None) -> SignedRequest:
        payload = self._interaction("shortcut", user_id)
        payload.update(callback_id=callback_id, trigger_id=self._trigger_id(user_id), action_ts=self._now_ts())
        return self._interactive(payload, timestamp)

    def block_suggestion(
        self,
        user_id: str,
        action_id: str,
        value: str,
        *,
        block_id: str,
        view: dict[str, Any] | None = None,
        channel_id: str | None = None,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A search typed into an external_select (``value`` is the text so far): from a modal or the
        Home (``view=``, echoed back in full) or from a message (``channel_id=``), which Slack names only
        by its container and channel; neither carries a ``response_url`` or a trigger."""
        payload = self._interaction("block_suggestion", user_id)
        payload.update(action_id=action_id, block_id=block_id, value=value)
        if view is not None:
            full = self._full_view(view, user_id)
            payload.update(container={"type": "view", "view_id": full["id"]}, view=full)
            return self._interactive(payload, timestamp)
        channel = channel_id or GENERAL_CHANNEL_ID
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts or self._now_ts(),
            "channel_id": channel,
            "is_ephemeral": is_ephemeral,
        }
        payload["channel"] = {"id": channel, "name": self._channel_name(channel)}
        return self._interactive(payload, timestamp)

    # --- Events API ----------------------------------------------------------------------------

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """An ``event_callback`` envelope; retry headers are added when ``retry_num`` is given.

        The envelope's team and ``authorizations`` follow the event's ``user`` and ``channel``."""
        ctx = self.context(event.get("user"), event.get("channel"), host_team=True)
        event = _with_user_team(event, ctx)
        envelope: dict[str, Any] = {
            "token": self.verification_token,
            "team_id": ctx.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or _random_id("Ev"),
            "event_time": int(self.clock()) if event_time is None else event_time,
            "authorizations": [
                {
                    "enterprise_id": ctx.enterprise_id,
                    "team_id": ctx.team_id,
                    "user_id": self._bot_user(ctx),
                    "is_bot": True,
                    "is_enterprise_install": ctx.is_enterprise_install,
                }
            ],
            "is_ext_shared_channel": ctx.is_ext_shared_channel,
            "event_context": "4-" + secrets.token_urlsafe(24),
        }
        if ctx.enterprise_id:
            envelope["enterprise_id"] = ctx.enterprise_id
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return self._json(envelope, timestamp, headers)

    def _said(self, user_id: str, channel: str, text: str, thread_ts: str | None) -> str:
        """The ts of a human message; with an emulator the message is also stored there."""
        if self.emulator is None:
            return self._now_ts()
        if self.emulator.channel(channel) is None and channel != "D" + user_id[1:]:
            return self._now_ts()
        return self.emulator.add_message(channel, user=user_id, text=text, thread_ts=thread_ts)["ts"]

    def _parent_user(self, channel: str, thread_ts: str) -> str | None:
        parent = self.emulator.message(channel, thread_ts) if self.emulator else None
        return parent.get("user") if parent else None

    def message_event(
        self,
        user_id: str,
        channel: str,
        text: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        subtype: str | None = None,
        bot_id: str | None = None,
        channel_type: str = "channel",
        event_id: str | None = None,
        timestamp: int | None = None,
        markup: bool = False,
    ) -> SignedRequest:
        """A ``message`` event for what a person typed; without ``ts`` (and with an emulator) the message is
        posted there first. Slack sends typed text with `&`, `<` and `>` escaped (mentions and links
        would be `<…>` tokens): so does this, unless ``text`` is already Slack markup (``markup=True``)."""
        text = text if markup else slack_escape(text)
        if ts is None:
            ts = self._said(user_id, channel, text, thread_ts) if subtype is None else self._now_ts()
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "channel_type": channel_type,
            "user": user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "team": self.team_id,
        }
        if subtype is None and bot_id is None:
            event["client_msg_id"] = str(uuid.uuid4())
        if thread_ts is not None:
            event.update(thread_ts=thread_ts, parent_user_id=self._parent_user(channel, thread_ts))
        if subtype is not None:
            event["subtype"] = subtype
        if bot_id is not None:
            event["bot_id"] = bot_id
        return self.event(event, event_id=event_id, timestamp=timestamp)

    def app_mention(
        self,
        user_id: str,
        channel: str,
        text: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        event_id: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """An ``app_mention``; the ``<@bot>`` mention is prefixed when ``text`` lacks it (the rest is
        escaped as Slack escapes typed text)."""
        mention = f"<@{self._bot_user(self.context(user_id, channel, host_team=True))}>"
        text = text if mention in text else f"{mention} {slack_escape(text)}"
        ts = ts or self._said(user_id, channel, text, thread_ts)
        event: dict[str, Any] = {
            "type": "app_mention",
            "user": user_id,
            "text": text,
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
            "client_msg_id": str(uuid.uuid4()),
            "team": self.team_id,
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        return self.event(event, event_id=event_id, timestamp=timestamp)

    def app_home_opened(
        self, user_id: str, tab: str = "home", *, event_id: str | None = None, timestamp: int | None = None
    ) -> SignedRequest:
        channel = self.emulator.dm_channel_id(user_id) if self.emulator else "D" + user_id[1:]
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": channel,
            "tab": tab,
            "event_ts": self._now_ts(),
        }
        view = self.emulator.home_view(user_id) if self.emulator and tab == "home" else None
        if view is not None:
            event["view"] = view
        return self.event(event, event_id=event_id, timestamp=timestamp)

    def url_verification(self, challenge: str, *, timestamp: int | None = None) -> SignedRequest:
        body = {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        return self._json(body, timestamp)

    def ssl_check(self, *, timestamp: int | None = None) -> SignedRequest:
        return self._form({"ssl_check": "1", "token": self.verification_token}, timestamp)


def _with_user_team(event: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
    """An event's own ``team`` is its author's; from another workspace it also names ``user_team``."""
    if "team" not in event or (event["team"] == ctx.user_team and ctx.user_team == ctx.team_id):
        return event
    event = {**event, "team": ctx.user_team}
    if ctx.user_team != ctx.team_id:
        event.update(user_team=ctx.user_team, source_team=ctx.user_team)
    return event


def _expand_values(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        block_id: {
            action_id: {"type": "plain_text_input", "value": state} if isinstance(state, str) else state
            for action_id, state in actions.items()
        }
        for block_id, actions in values.items()
    }
