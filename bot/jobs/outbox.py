"""The outbox worker: delivers queued Slack messages in order, paced per channel, retried durably.

Several replicas may run it at once: claims use `FOR UPDATE SKIP LOCKED` and a lease, so a crashed
worker's messages are picked up again once the lease expires (at-least-once delivery).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import conversations
from bot.db import outbox as outbox_db
from bot.db.installations import UNDELIVERABLE
from bot.db.outbox import OutboxMessage
from bot.metrics import Metrics
from bot.rendering.fit import plain_version
from bot.rendering.notices import written
from bot.slack import uploads
from bot.slack.client import NotInstalled, Workspace, WorkspaceClients
from bot.slack.errors import REFUSED_CONTENT, SlackFailure, classify, refusal_details

log = logging.getLogger(__name__)

HOME_MISSING = "undeliverable: the home workspace has not installed the app"


@dataclass(frozen=True)
class OutboxPolicy:
    """Tunables; defaults suit Slack's ~1 message per second per channel."""

    pace_seconds: float = 1.0
    max_attempts: int = 8
    batch_size: int = 50
    lease_seconds: float = 60.0
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    idle_poll_seconds: float = 0.5
    default_retry_after: float = 1.0

    def backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter in its upper half, so replicas do not retry in step."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempts - 1)))
        return ceiling * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security


class OutboxWorker:
    """Claims due channel heads and delivers them concurrently (one message per channel per round)."""

    def __init__(
        self,
        engine: AsyncEngine,
        client: AsyncWebClient | WorkspaceClients,
        metrics: Metrics,
        policy: OutboxPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._clients = client if isinstance(client, WorkspaceClients) else WorkspaceClients(single=client)
        self._metrics = metrics
        self.policy = policy or OutboxPolicy()
        self._dm_channels: dict[str, str] = {}  # user id → DM channel (user ids are unique across workspaces)

    async def run_once(self) -> int:
        """Deliver one round; returns how many messages were attempted."""
        batch = await outbox_db.claim(
            self._engine, limit=self.policy.batch_size, lease_seconds=self.policy.lease_seconds
        )
        if batch:
            await asyncio.gather(*(self._deliver(message) for message in batch))
        return len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        """Loop until `stop` is set; a failing round is logged and retried, never fatal."""
        while not stop.is_set():
            try:
                attempted = await self.run_once()
                self._metrics.outbox_pending.set(await outbox_db.pending_count(self._engine))
            except Exception:
                log.exception("outbox.round_failed")
                attempted = 0
            if attempted == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.policy.idle_poll_seconds)

    async def _deliver(self, message: OutboxMessage) -> None:
        try:
            client, workspace = await self._clients.client_for(message.enterprise_id, message.team_id)
        except NotInstalled as missing:
            await self._not_installed(message, missing)
            return
        try:
            result = await self._send(client, message)
        except Exception as exc:  # every failure is classified and settled durably below
            if workspace is not None and await self._workspace_gone(workspace, exc):
                await self._not_installed(message, NotInstalled(workspace.team_id))
                return
            await self._settle_failure(message, exc)
            return
        if workspace is not None and result.get("channel") not in (None, message.channel):
            # A DM the send opened: later rows address it by its id, and must find the same workspace.
            await conversations.remember(self._engine, [result["channel"]], **workspace.__dict__)
        await outbox_db.mark_delivered(self._engine, message.id, result, pace_seconds=self.policy.pace_seconds)
        self._metrics.outbox_delivered.inc()
        log.debug("outbox.delivered", extra={"outbox_id": message.id, "channel": message.channel})

    async def _workspace_gone(self, workspace: Workspace, exc: Exception) -> bool:
        """Slack refused the workspace's token: uninstalled (ends the row) or only this copy stale."""
        return classify(exc).category is SlackFailure.AUTH and not await self._clients.still_installed(workspace)

    async def _not_installed(self, message: OutboxMessage, missing: NotInstalled) -> None:
        """An uninstalled workspace's row ends at once; the home workspace's waits for its install."""
        extra = {"outbox_id": message.id, "team_id": message.team_id}
        if missing.home and message.attempts < self.policy.max_attempts:
            await outbox_db.postpone(
                self._engine, message, delay_seconds=self.policy.backoff(message.attempts), error=HOME_MISSING
            )
            log.warning("outbox.home_not_installed", extra=extra)
            return
        await outbox_db.mark_dead(self._engine, message.id, HOME_MISSING if missing.home else UNDELIVERABLE)
        self._metrics.outbox_dead.inc()
        log.warning("outbox.undeliverable", extra=extra)

    async def _send(self, client: AsyncWebClient, message: OutboxMessage) -> dict[str, Any]:
        payload = dict(written(message.payload))  # a queued notice gets its words now
        channel = await uploads.resolve_target(client, message.channel, self._dm_channels)
        if message.kind == "reaction":
            return await self._react(client, channel, payload)
        if message.kind == "upload":
            return await uploads.share(client, channel, payload)
        if message.kind == "update":
            response = await client.chat_update(channel=channel, **payload)
        elif message.kind == "ephemeral":
            response = await client.chat_postEphemeral(channel=channel, **payload)
        else:
            payload.setdefault("unfurl_links", False)
            response = await client.chat_postMessage(channel=channel, **payload)
        return {
            "channel": response.get("channel", channel),
            "ts": response.get("ts") or response.get("message_ts"),
        }

    @staticmethod
    async def _react(client: AsyncWebClient, channel: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Add a reaction; Slack's `already_reacted` (a retry after a lost answer) is success too."""
        try:
            await client.reactions_add(channel=channel, timestamp=payload["timestamp"], name=payload["name"])
        except SlackApiError as error:
            if classify(error).code != "already_reacted":
                raise
        return {"channel": channel, "ts": payload["timestamp"]}

    async def _settle_failure(self, message: OutboxMessage, exc: Exception) -> None:
        failure = classify(exc)
        extra = {"outbox_id": message.id, "channel": message.channel, "slack_error": failure.code}
        plain = self._plain_version(message) if failure.code in REFUSED_CONTENT else None
        if plain is not None:
            # Slack refused what the message says, not where it goes: its words go out as plain text
            # (next, in its place in the channel) rather than the message going dead.
            await outbox_db.send_plain(self._engine, message.id, plain, failure.code)
            self._metrics.outbox_retried.labels(reason="plain_fallback").inc()
            log.warning("outbox.plain_fallback", extra={**extra, "problems": refusal_details(exc)})
        elif failure.category is SlackFailure.RATE_LIMITED:
            delay = failure.retry_after if failure.retry_after is not None else self.policy.default_retry_after
            await outbox_db.postpone(
                self._engine,
                message,
                delay_seconds=delay,
                error=failure.code,
                counts_as_attempt=False,
                pace_channel=True,
            )
            self._metrics.outbox_retried.labels(reason="rate_limited").inc()
            log.info("outbox.rate_limited", extra={**extra, "retry_after": delay})
        elif failure.retryable and message.attempts < self.policy.max_attempts:
            delay = self.policy.backoff(message.attempts)
            await outbox_db.postpone(self._engine, message, delay_seconds=delay, error=failure.code)
            self._metrics.outbox_retried.labels(reason=failure.category.value).inc()
            log.warning("outbox.retry", extra={**extra, "attempts": message.attempts, "delay": round(delay, 2)})
        else:
            await outbox_db.mark_dead(self._engine, message.id, f"{failure.category.value}: {failure.code}")
            self._metrics.outbox_dead.inc()
            log.error("outbox.dead", extra={**extra, "attempts": message.attempts})

    @staticmethod
    def _plain_version(message: OutboxMessage) -> dict[str, Any] | None:
        """The message without blocks, or None when it already was one (then it is dead as before)."""
        sent = written(message.payload)
        plain = plain_version(sent)
        if message.kind == "update":
            plain["blocks"] = []  # chat.update keeps the old blocks unless told to drop them
        return None if plain == sent else plain
