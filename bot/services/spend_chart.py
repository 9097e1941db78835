"""The spend picture of `/cs billing` and of the daily summary: what each server cost per UTC day of
this month, as stacked bars (a chart spec the outbox draws when it delivers the file)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import spend as spend_db
from bot.db.outbox import enqueue
from bot.errors import UserError
from bot.services import (
    deliveries,
    summaries,  # module attributes only: summaries imports this module too
)
from bot.services.identity import Actor
from bot.services.permissions import Action


def month_chart(rows: list[spend_db.DaySpend], first: date, last: date, organization: str) -> dict[str, Any]:
    """Bars per day from ``first`` to ``last``, one series per server (amounts as decimal strings)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    names: dict[uuid.UUID, str] = {}
    amounts: dict[tuple[uuid.UUID, date], Decimal] = {}
    for row in rows:
        names.setdefault(row.server_id, row.label)
        amounts[(row.server_id, row.day)] = row.amount
    totals = {s: sum((a for (k, _), a in amounts.items() if k == s), Decimal(0)) for s in names}
    order = sorted(names, key=lambda s: (-totals[s], names[s]))
    series = [{"name": names[s], "values": [str(amounts.get((s, d), Decimal("0.00"))) for d in days]} for s in order]
    return {
        "kind": "bars",
        "title": f"Spend per day in {first:%B %Y}: {organization}",
        "unit": "USD",
        "categories": [f"{d:%m-%d}" for d in days],
        "series": series,
    }


def alt_text(chart: dict[str, Any]) -> str:
    parts = [f"{s['name']}: ${sum(Decimal(v) for v in s['values']):.2f}" for s in chart["series"]]
    return f"{chart['title']}. " + ("; ".join(parts) if parts else "Nothing was charged yet.")


async def month_so_far(conn: AsyncConnection, organization_id: uuid.UUID, organization: str, now: datetime) -> dict:
    start = summaries.month_start(now)
    rows = await spend_db.daily_spend(conn, organization_id, start, min(now, summaries.next_month(start)))
    return month_chart(rows, start.date(), now.date(), organization)


@dataclass(frozen=True)
class Picture:
    """A chart someone asked for, and where it goes."""

    destination: deliveries.Destination
    payload: dict[str, Any]


async def for_actor(engine: AsyncEngine, actor: Actor, now: datetime, channel_id: str | None) -> Picture:
    """`/cs billing`'s picture (read only): to the channel when it is bound for billing notices, else the DM."""
    if actor.org is None:
        raise UserError("Choose an organisation first.")
    actor.require(Action.VIEW)
    async with engine.connect() as conn:
        where = await deliveries.destination(conn, actor.org.id, "billing", channel_id, actor.slack.user_id)
        chart = await month_so_far(conn, actor.org.id, actor.org.name, now)
    return Picture(where, _file(chart, now, f"Spend per day this month for {actor.org.name}."))


def _file(chart: dict[str, Any], now: datetime, comment: str) -> dict[str, Any]:
    return deliveries.file_payload(filename=f"spend-{now:%Y-%m}.png", title=chart["title"], comment=comment,
                                   chart=chart, alt_text=alt_text(chart))  # fmt: skip


async def share(
    conn: AsyncConnection, target: str, organization_id: uuid.UUID, organization: str, now: datetime, *,
    comment: str, dedupe_key: str | None = None,
) -> int | None:  # fmt: skip
    chart = await month_so_far(conn, organization_id, organization, now)
    return await enqueue(conn, target, _file(chart, now, comment), kind="upload", dedupe_key=dedupe_key)
