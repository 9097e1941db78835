"""``response_url`` hooks: five posts within thirty minutes, each answered with plain ``ok``.

A hook remembers the message it belongs to (none for a slash command; the clicked message, or
ephemeral, for a block action) so ``replace_original``/``delete_original`` act on the right thing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from bot.emulators.slack.blockkit import MESSAGE_TEXT_MAX, message_problems
from bot.emulators.slack.state import Channel, Clock, World

RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60
_CONTENT_FIELDS = ("text", "blocks", "attachments")


class ResponseUrlError(Exception):
    """A rejected post; carries the HTTP status, the short plain-text body Slack sends and why."""

    def __init__(self, status: int, body: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(body)
        self.status = status
        self.body = body
        self.problems = problems


@dataclass
class ResponseUrl:
    id: str
    channel_id: str
    user_id: str
    issued_at: float
    original_ts: str | None = None
    original_is_ephemeral: bool = False
    uses: int = 0
    author: dict[str, Any] | None = None
    """The bot of the install the hook was issued to (None: the default workspace's)."""


class ResponseUrlRegistry:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._hooks: dict[str, ResponseUrl] = {}

    def new(
        self,
        channel_id: str,
        user_id: str,
        *,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
        author: dict[str, Any] | None = None,
    ) -> ResponseUrl:
        hook = ResponseUrl(
            id=secrets.token_urlsafe(18),
            channel_id=channel_id,
            user_id=user_id,
            issued_at=self._clock(),
            original_ts=message_ts,
            original_is_ephemeral=is_ephemeral,
            author=author,
        )
        self._hooks[hook.id] = hook
        return hook

    def get(self, hook_id: str) -> ResponseUrl | None:
        return self._hooks.get(hook_id)

    def claim(self, hook_id: str) -> ResponseUrl:
        """Count one use of the hook, refusing unknown, used-up and expired ones."""
        hook = self._hooks.get(hook_id)
        if hook is None:
            raise ResponseUrlError(404, "no_service")
        expired = self._clock() - hook.issued_at > RESPONSE_URL_TTL_SECONDS
        if expired or hook.uses >= RESPONSE_URL_MAX_USES:
            raise ResponseUrlError(404, "expired_url")
        hook.uses += 1
        return hook


def deliver(world: World, hook: ResponseUrl, payload: Any, *, strict: bool = True) -> None:
    """Apply one response_url post to the workspace, as the user would then see it."""
    if not isinstance(payload, dict):
        raise ResponseUrlError(400, "invalid_payload")
    if payload.get("delete_original"):
        _delete_original(world, hook)
        return
    content = {k: payload[k] for k in _CONTENT_FIELDS if payload.get(k) is not None}
    _check_content(content, strict=strict)
    if payload.get("replace_original") and hook.original_ts is not None:
        _replace_original(world, hook, content)
    elif payload.get("response_type") == "in_channel":
        author = hook.author or world.bot_author()
        world.post(_hook_channel(world, hook), content, author=author, thread_ts=payload.get("thread_ts"))
    else:
        world.post_ephemeral(
            hook.channel_id, hook.user_id, content, thread_ts=payload.get("thread_ts"), source="response_url",
            author=hook.author,
        )  # fmt: skip


def _check_content(content: dict[str, Any], *, strict: bool) -> None:
    """The same message rules as chat.postMessage, answered in the hook's short plain-text form."""
    if not content:
        raise ResponseUrlError(400, "no_text")
    if len(str(content.get("text") or "")) > MESSAGE_TEXT_MAX:
        raise ResponseUrlError(400, "msg_too_long")
    blocks = content.get("blocks")
    if blocks is not None and (problems := message_problems(blocks, strict=strict)):
        raise ResponseUrlError(400, "invalid_blocks", tuple(problems))


def _hook_channel(world: World, hook: ResponseUrl) -> Channel:
    if hook.channel_id == "D" + hook.user_id[1:]:
        return world.dm(hook.user_id)
    channel = world.channels.get(hook.channel_id)
    if channel is None:
        raise ResponseUrlError(404, "channel_not_found")
    return channel


def _original(world: World, hook: ResponseUrl) -> dict[str, Any] | None:
    if hook.original_ts is None:
        return None
    if hook.original_is_ephemeral:
        return world.ephemeral(hook.original_ts)
    channel = world.channels.get(hook.channel_id)
    return channel.messages.get(hook.original_ts) if channel else None


def _replace_original(world: World, hook: ResponseUrl, content: dict[str, Any]) -> None:
    original = _original(world, hook)
    if original is None:
        raise ResponseUrlError(404, "message_not_found")
    for name in _CONTENT_FIELDS:
        original.pop(name, None)
    original["text"] = ""
    original.update(content)


def _delete_original(world: World, hook: ResponseUrl) -> None:
    original = _original(world, hook)
    if original is None:
        raise ResponseUrlError(404, "message_not_found")
    if hook.original_is_ephemeral:
        world.ephemerals.remove(original)
    else:
        del world.channels[hook.channel_id].messages[original["ts"]]
