"""Staff view of the PayPal inbox: what arrived, what happened, and replaying what failed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import paypal_events as inbox_db
from bot.db.paypal_events import InboxSummary
from bot.errors import UserError
from bot.services import audit
from bot.services.identity import Actor
from bot.services.paging import Span, read_page
from bot.services.permissions import Action

RECENT_LIMIT = 15
FAILURE_LIMIT = 10


class UnknownEvent(UserError):
    """No failed PayPal event has that id (only failed or dead events can be replayed)."""


@dataclass(frozen=True)
class PaymentsOverview:
    """A page of the most recent PayPal events, and the latest failures (on every page)."""

    recent: list[InboxSummary]
    failures: list[InboxSummary]
    failures_total: int  # failures listed or not (an outage can leave hundreds)
    span: Span


async def overview(engine: AsyncEngine, actor: Actor, *, offset: int = 0) -> PaymentsOverview:
    actor.require(Action.STAFF)
    async with engine.connect() as conn:
        recent, span = await read_page(
            lambda: inbox_db.count(conn),
            lambda n, at: inbox_db.recent(conn, n, at),
            offset=max(0, offset),
            limit=RECENT_LIMIT,
        )
        return PaymentsOverview(
            recent=recent,
            failures=await inbox_db.failures(conn, FAILURE_LIMIT),
            failures_total=await inbox_db.failure_count(conn),
            span=span,
        )


async def replay(engine: AsyncEngine, actor: Actor, event_id: str, *, channel_id: str | None = None) -> None:
    """Put a failed or dead event back in the queue (the worker applies it again, exactly once)."""
    actor.require(Action.STAFF)
    async with engine.begin() as conn:
        if not await inbox_db.requeue(conn, event_id):
            raise UnknownEvent
        await audit.record_for_actor(
            conn,
            actor,
            event_type="payment.event.replay",
            entity_type="paypal_event",
            entity_id=event_id,
            message=f"Replayed PayPal event {event_id}",
            organization_id=None,
            channel_id=channel_id,
        )
