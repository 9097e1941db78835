"""What a subcommand handler receives: the parsed invocation plus Bolt's reply functions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import CommandSpec, CommandTable
from bot.services.container import Services
from bot.services.identity import Actor, SlackRef


@dataclass(frozen=True)
class CommandCall:
    """One `/cs …` invocation, already matched to a subcommand."""

    spec: CommandSpec
    args: tuple[str, ...]
    body: dict[str, Any]
    ack: AsyncAck
    respond: AsyncRespond
    client: AsyncWebClient
    services: Services
    table: CommandTable[CommandHandler]
    slack: SlackRef
    actor: Actor | None  # set for every command whose spec needs a linked account

    @property
    def linked(self) -> Actor:
        """The linked actor; the dispatcher guarantees it for commands that need a link."""
        if self.actor is None:
            raise RuntimeError(f"command {self.spec.words!r} needs_link=False but used the actor")
        return self.actor

    @property
    def channel_id(self) -> str | None:
        return self.body.get("channel_id")

    async def reply(self, message: dict[str, Any]) -> None:
        """Answer ephemerally: in the ack if not acked yet, else through response_url."""
        if self.ack.response is None:
            await self.ack(**message)
        else:
            await self.respond(**{**message, "replace_original": False})

    @property
    def command(self) -> str:
        return str(self.body.get("command") or self.services.settings.slack_command)

    @property
    def user_id(self) -> str:
        return str(self.body["user_id"])


CommandHandler = Callable[[CommandCall], Awaitable[None]]
