"""The emulated workspace: users, conversations, messages and ephemeral messages.

Everything here is synchronous on purpose: a Web API call checks and mutates the state without an
``await`` in between, so concurrent calls on one event loop can never interleave half-way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.emulators.slack.errors import SlackError
from bot.emulators.slack.workspaces import GENERAL_CHANNEL_ID, Directory, Workspace

Clock = Callable[[], float]
Reach = frozenset[str] | None
"""The teams (and enterprise) a token may act in; None is Slack's own, unrestricted view."""


@dataclass(frozen=True)
class Identity:
    """Who the emulated app is: the workspace and the bot user behind the token."""

    bot_token: str
    team_id: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    app_id: str
    team_name: str = "ContainerStacks"
    enterprise_id: str | None = None
    is_enterprise_install: bool = False

    @property
    def workspace_url(self) -> str:
        return f"https://{self.team_domain}.slack.com/"


@dataclass
class User:
    id: str
    name: str
    team_id: str
    email: str | None = None
    is_bot: bool = False
    deleted: bool = False
    tz: str = "UTC"
    email_confirmed: bool = True

    def to_api(self) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": self.name,
            "display_name": self.name,
            "real_name_normalized": self.name,
            "display_name_normalized": self.name,
            "team": self.team_id,
        }
        if self.email is not None:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_email_confirmed": self.email_confirmed,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": 0,
            "profile": profile,
        }


@dataclass
class Channel:
    id: str
    name: str
    created: int
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    is_archived: bool = False
    bot_is_member: bool = True
    members: set[str] = field(default_factory=set)
    peer: str | None = None
    team_id: str = ""
    """The host workspace; ``shared_with`` are the other workspaces of a Slack Connect channel."""
    shared_with: set[str] = field(default_factory=set)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Every message, replies included, keyed by ts; ts only grows, so insertion order is time order."""

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_im": self.is_im,
            "is_org_shared": False,
        }
        if self.is_im:
            return {**body, "user": self.peer, "is_open": True, "priority": 0}
        return {
            **body,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not (self.is_private or self.is_mpim),
            "is_group": self.is_private and not self.is_mpim,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "is_general": self.id == GENERAL_CHANNEL_ID,
            "is_member": self.bot_is_member,
            "is_shared": bool(self.shared_with),
            "is_ext_shared": bool(self.shared_with),
            "is_pending_ext_shared": False,
        }


class TsClock:
    """Issues message ``ts`` strings that follow the clock yet never repeat or go backwards."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last_micros = 0

    def next(self) -> str:
        micros = max(int(self._clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _is_top_level(message: dict[str, Any]) -> bool:
    thread_ts = message.get("thread_ts")
    return thread_ts in (None, message["ts"]) or message.get("subtype") == "thread_broadcast"


class World:
    """Users, conversations and what has been said in them."""

    def __init__(self, identity: Identity, clock: Clock, directory: Directory | None = None) -> None:
        self.identity = identity
        self.directory = directory or Directory(Workspace(identity.team_id, identity.team_name, identity.team_domain))
        self._clock = clock
        self.ts = TsClock(clock)
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self._mpims: dict[frozenset[str], str] = {}
        self.add_channel(GENERAL_CHANNEL_ID, name="general")
        self.add_user(identity.bot_user_id, name="containerstacks", is_bot=True)

    # --- users and conversations -------------------------------------------------------------

    def add_workspace(self, workspace: Workspace) -> Workspace:
        """Another workspace, with its own #general."""
        self.directory.add_workspace(workspace)
        self.add_channel(self.directory.general_channel_id(workspace.id), name="general", team_id=workspace.id)
        return workspace

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
    ) -> User:
        """A member of ``team_id``'s #general; a team the directory does not know is a Slack Connect
        guest of the default workspace (so the default bot may look them up)."""
        team = team_id or self.identity.team_id
        user = User(user_id, name, team, email, is_bot, deleted, tz, email_confirmed)
        self.users[user_id] = user
        home = team if self.directory.workspace(team) else self.identity.team_id
        general = self.channels.get(self.directory.general_channel_id(home))
        if general is not None:
            general.members.add(user_id)
        return user

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
    ) -> Channel:
        existing = self.channels.get(channel_id)
        channel = Channel(
            channel_id,
            name,
            int(self._clock()),
            is_private=is_private,
            is_archived=is_archived,
            bot_is_member=bot_is_member,
            members=set(members) | (existing.members if existing else set()),
            messages=existing.messages if existing else {},
            team_id=team_id or self.identity.team_id,
            shared_with=existing.shared_with if existing else set(),
        )
        self.channels[channel_id] = channel
        return channel

    # --- what a token may reach -------------------------------------------------------------

    def team_of_user(self, user_id: str) -> str:
        """The workspace a user's DMs and views live in: their own, or the default for a guest."""
        user = self.users.get(user_id)
        team = user.team_id if user else self.identity.team_id
        return team if self.directory.workspace(team) else self.identity.team_id

    @staticmethod
    def reaches(channel: Channel, reach: Reach) -> bool:
        return reach is None or channel.team_id in reach or bool(channel.shared_with & reach)

    def _user_reachable(self, user: User, reach: Reach) -> bool:
        """A member of a reached team, or someone met in a reached (e.g. Slack Connect) channel."""
        if reach is None or user.team_id in reach:
            return True
        return any(user.id in c.members and self.reaches(c, reach) for c in self.channels.values() if not c.is_im)

    def user(self, user_id: str | None, reach: Reach = None) -> User:
        user = self.users.get(user_id or "")
        if user is None or not self._user_reachable(user, reach):
            raise SlackError("user_not_found")
        return user

    def user_by_email(self, email: str, reach: Reach = None) -> User:
        wanted = email.strip().lower()
        for user in self.users.values():
            if user.email is not None and user.email.lower() == wanted and self._user_reachable(user, reach):
                return user
        raise SlackError("users_not_found")

    def dm(self, user_id: str) -> Channel:
        """The one stable IM between the bot and ``user_id``, created on first use."""
        channel_id = "D" + user_id[1:]
        channel = self.channels.get(channel_id)
        if channel is None:
            channel = Channel(channel_id, user_id, int(self._clock()), is_im=True, peer=user_id,
                              team_id=self.team_of_user(user_id))  # fmt: skip
            channel.members.add(user_id)
            self.channels[channel_id] = channel
        return channel

    def mpim(self, user_ids: Iterable[str]) -> Channel:
        key = frozenset(user_ids)
        channel_id = self._mpims.get(key)
        if channel_id is None:
            channel_id = f"G0MPIM{len(self._mpims) + 1:03d}"
            self._mpims[key] = channel_id
            name = "mpdm-" + "--".join(sorted(self.users[u].name for u in key)) + "-1"
            team = self.team_of_user(sorted(key)[0])
            self.channels[channel_id] = Channel(channel_id, name, int(self._clock()), is_mpim=True, members=set(key),
                                                team_id=team)  # fmt: skip
        return self.channels[channel_id]

    def visible_channel(self, channel_id: str | None, reach: Reach = None) -> Channel:
        """The conversation as the bot sees it; private ones it is not in, and other workspaces'
        channels, do not exist for it."""
        ref = channel_id or ""
        if ref[:1] in ("U", "W") and ref in self.users:
            return self.dm(self.user(ref, reach).id)
        channel = self.channels.get(ref)
        if channel is None or (channel.is_private and not channel.bot_is_member) or not self.reaches(channel, reach):
            raise SlackError("channel_not_found")
        return channel

    def postable_channel(self, channel_id: str | None, reach: Reach = None) -> Channel:
        """Like ``visible_channel`` but also takes a ``#name`` and reports ``not_in_channel``."""
        channel_id = self._id_for_name(channel_id or "", reach)
        channel = self.channels.get(channel_id)
        if channel is not None and channel.is_private and not channel.bot_is_member and self.reaches(channel, reach):
            raise SlackError("not_in_channel")
        channel = self.visible_channel(channel_id, reach)
        if channel.is_archived:
            raise SlackError("is_archived")
        return channel

    def _id_for_name(self, ref: str, reach: Reach = None) -> str:
        if ref in self.channels:
            return ref
        name = ref.removeprefix("#")
        found = (c.id for c in self.channels.values() if c.name == name and not c.is_im and self.reaches(c, reach))
        return next(found, ref)

    # --- messages ----------------------------------------------------------------------------

    def bot_author(self, identity: Identity | None = None) -> dict[str, Any]:
        """The app's bot user of ``identity``'s install (the default workspace's when omitted)."""
        identity = identity or self.identity
        return {"user": identity.bot_user_id, "bot_id": identity.bot_id, "app_id": identity.app_id}

    def _author_team(self, author: dict[str, Any], channel: Channel) -> str:
        """The author's own workspace; an org-wide bot user (of the enterprise) posts as the channel's."""
        user = self.users.get(author.get("user") or "")
        if user is None or self.directory.workspace(user.team_id) is None:
            return channel.team_id or self.identity.team_id
        return user.team_id

    def post(
        self,
        channel: Channel,
        content: dict[str, Any],
        *,
        author: dict[str, Any],
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
    ) -> dict[str, Any]:
        """Store a new message; a thread reply also updates its parent's reply summary."""
        ts = self.ts.next()
        message: dict[str, Any] = {"type": "message", **author, "ts": ts, "team": self._author_team(author, channel)}
        message.update(content)
        message.setdefault("text", "")
        if thread_ts is not None:
            parent = self._thread_parent(channel, thread_ts)
            message["thread_ts"] = parent["ts"]
            message["parent_user_id"] = parent.get("user")
            if reply_broadcast:
                message["subtype"] = "thread_broadcast"
            self._note_reply(parent, message)
        channel.messages[ts] = message
        return message

    def _thread_parent(self, channel: Channel, thread_ts: str) -> dict[str, Any]:
        parent = channel.messages.get(thread_ts)
        if parent is None or parent.get("thread_ts") not in (None, parent["ts"]):
            raise SlackError("cannot_reply_to_message")
        return parent

    @staticmethod
    def _note_reply(parent: dict[str, Any], reply: dict[str, Any]) -> None:
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        users = parent.setdefault("reply_users", [])
        if reply.get("user") and reply["user"] not in users:
            users.append(reply["user"])
        parent["reply_users_count"] = len(users)
        parent["latest_reply"] = reply["ts"]

    def message(self, channel: Channel, ts: str | None) -> dict[str, Any]:
        message = channel.messages.get(ts or "")
        if message is None:
            raise SlackError("message_not_found")
        return message

    def top_level(self, channel_id: str) -> list[dict[str, Any]]:
        channel = self.channels.get(channel_id)
        if channel is None:
            return []
        return [copy.deepcopy(m) for m in channel.messages.values() if _is_top_level(m)]

    def thread(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        """Parent first, then replies; a reply's own ts gives just that reply, as Slack does."""
        channel = self.channels.get(channel_id)
        message = channel.messages.get(ts) if channel else None
        if channel is None or message is None:
            return []
        if message.get("thread_ts") not in (None, ts):
            return [copy.deepcopy(message)]
        replies = [m for m in channel.messages.values() if m.get("thread_ts") == ts and m["ts"] != ts]
        return [copy.deepcopy(message), *(copy.deepcopy(m) for m in replies)]

    # --- ephemeral messages ------------------------------------------------------------------

    def post_ephemeral(
        self,
        channel_id: str,
        user_id: str,
        content: dict[str, Any],
        *,
        thread_ts: str | None = None,
        source: str,
        author: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            **(author or self.bot_author()),
            "ts": self.ts.next(),
            "channel": channel_id,
            "recipient": user_id,
            "source": source,
            "text": "",
            **content,
        }
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        self.ephemerals.append(message)
        return message

    def ephemeral(self, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.ephemerals if m["ts"] == ts), None)

    def ephemerals_for(self, user_id: str, channel_id: str | None = None) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(m)
            for m in self.ephemerals
            if m["recipient"] == user_id and channel_id in (None, m["channel"])
        ]
