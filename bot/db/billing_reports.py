"""SQL for what billing reports read (summaries, `/cs billing`, `/cs admin billing`) and for the
scheduler's slots (`bot_job_runs`, UNIQUE (job, slot): whoever inserts a slot owns it)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.billing import BILLABLE, DEFAULT_MONTHLY, HOURS_PER_MONTH


@dataclass(frozen=True)
class ServerSpend:
    server_id: uuid.UUID
    label: str
    hours: int
    amount: Decimal


@dataclass(frozen=True)
class OrgFigures:
    organization_id: uuid.UUID
    name: str
    currency: str
    balance: Decimal
    hourly_burn: Decimal
    topups: Decimal
    owed: Decimal
    hours_owed: int


_CLAIM_SLOT = text(
    """
    INSERT INTO bot_job_runs (job, slot, covers_from)
    VALUES (CAST(:job AS varchar), CAST(:slot AS timestamptz),
            coalesce((SELECT max(slot) FROM bot_job_runs WHERE job = CAST(:job AS varchar)
                      AND slot < CAST(:slot AS timestamptz) AND slot >= CAST(:floor AS timestamptz)),
                     CAST(:fallback AS timestamptz)))
    ON CONFLICT (job, slot) DO NOTHING
    RETURNING covers_from
    """
)
_FINISH_SLOT = text(
    """
    UPDATE bot_job_runs SET status = 'done', finished_at = now(), detail = CAST(:detail AS jsonb)
    WHERE job = :job AND slot = :slot
    """
)
_PRUNE_SLOTS = text("DELETE FROM bot_job_runs WHERE slot < now() - make_interval(days => :days)")
_LAST_SLOT = text(
    "SELECT slot, status, finished_at, detail FROM bot_job_runs WHERE job = :job ORDER BY slot DESC LIMIT 1"
)
_SUMMARY_ORGS = text(
    """
    SELECT DISTINCT organization_id FROM bot_channel_bindings WHERE notify_billing AND disabled_at IS NULL
    ORDER BY organization_id
    """
)
_SERVER_SPEND = text(
    """
    SELECT c.vps_instance_id AS server_id, coalesce(v.label, '(deleted)') AS label, count(*) AS hours,
        sum(c.total_amount) AS amount
    FROM vps_billing_cycles c LEFT JOIN vps_instances v ON v.id = c.vps_instance_id
    WHERE c.organization_id = :org AND c.status = 'billed'
      AND c.billing_period_start >= :start AND c.billing_period_start < :end
    GROUP BY c.vps_instance_id, v.label
    ORDER BY sum(c.total_amount) DESC, v.label
    """
)
_ORG_FIGURES = text(
    f"""
    SELECT o.id AS organization_id, o.name,
        coalesce(w.currency, 'USD') AS currency, coalesce(w.balance, 0) AS balance,
        coalesce((SELECT sum(coalesce(
            (SELECT coalesce(p.base_price, 0) + coalesce(p.markup_price, 0) FROM vps_plans p
             WHERE p.id::text = v.plan_id OR p.provider_plan_id = v.plan_id
             ORDER BY (p.id::text = v.plan_id) DESC, p.active DESC, p.created_at, p.id LIMIT 1),
            {DEFAULT_MONTHLY}) / {HOURS_PER_MONTH})
          FROM vps_instances v WHERE v.organization_id = o.id AND {BILLABLE}), 0) AS hourly_burn,
        coalesce((SELECT sum(t.amount) FROM payment_transactions t
          WHERE t.organization_id = o.id AND t.amount > 0 AND t.status = 'completed'
            AND t.payment_method = 'paypal' AND t.created_at >= :start AND t.created_at < :end), 0) AS topups,
        coalesce((SELECT sum(f.amount) FROM bot_billing_failures f
          WHERE f.organization_id = o.id AND f.collected_at IS NULL), 0) AS owed,
        (SELECT count(*) FROM bot_billing_failures f
          WHERE f.organization_id = o.id AND f.collected_at IS NULL) AS hours_owed
    FROM organizations o
    LEFT JOIN LATERAL (SELECT balance, currency FROM wallets WHERE organization_id = o.id
                       ORDER BY created_at, id LIMIT 1) w ON true
    WHERE o.id = :org
    """
)
_STAFF_TOTALS = text(
    """
    SELECT
        (SELECT count(*) FROM payment_transactions WHERE amount > 0 AND status = 'completed'
            AND payment_method = 'paypal' AND created_at >= :start AND created_at < :end) AS topup_count,
        (SELECT coalesce(sum(amount), 0) FROM payment_transactions WHERE amount > 0 AND status = 'completed'
            AND payment_method = 'paypal' AND created_at >= :start AND created_at < :end) AS topup_total,
        (SELECT count(*) FROM vps_billing_cycles WHERE status = 'billed'
            AND billing_period_start >= :start AND billing_period_start < :end) AS charge_hours,
        (SELECT coalesce(sum(total_amount), 0) FROM vps_billing_cycles WHERE status = 'billed'
            AND billing_period_start >= :start AND billing_period_start < :end) AS charge_total,
        (SELECT count(*) FROM bot_billing_failures
            WHERE first_failed_at >= :start AND first_failed_at < :end) AS failed_hours,
        (SELECT count(*) FROM bot_paypal_events WHERE status IN ('failed', 'dead')
            AND received_at >= :start AND received_at < :end) AS webhook_failures,
        (SELECT count(*) FROM bot_paypal_events WHERE status = 'dead') AS webhooks_dead
    """
)


async def claim_slot(
    conn: AsyncConnection, job: str, slot: datetime, *, fallback_from: datetime, floor: datetime
) -> datetime | None:
    """Own `slot` of `job` (None: another replica has it). Returns where the period starts: the
    previous claimed slot (not older than `floor`), else `fallback_from` — so missed slots collapse."""
    params = {"job": job, "slot": slot, "fallback": fallback_from, "floor": floor}
    row = (await conn.execute(_CLAIM_SLOT, params)).first()
    return None if row is None else row.covers_from


async def finish_slot(conn: AsyncConnection, job: str, slot: datetime, detail: dict[str, Any]) -> None:
    await conn.execute(_FINISH_SLOT, {"job": job, "slot": slot, "detail": json.dumps(detail, default=str)})


async def prune_slots(conn: AsyncConnection, *, older_than_days: int) -> int:
    """Forget old slots (summaries look back at most 31 days, so 40 keeps what they need)."""
    return (await conn.execute(_PRUNE_SLOTS, {"days": older_than_days})).rowcount


async def last_slot(conn: AsyncConnection, job: str) -> dict[str, Any] | None:
    row = (await conn.execute(_LAST_SLOT, {"job": job})).first()
    return None if row is None else dict(row._mapping)


async def summary_organizations(conn: AsyncConnection) -> list[uuid.UUID]:
    return [r[0] for r in (await conn.execute(_SUMMARY_ORGS)).all()]


async def server_spend(
    conn: AsyncConnection, organization_id: uuid.UUID, start: datetime, end: datetime
) -> list[ServerSpend]:
    rows = (await conn.execute(_SERVER_SPEND, {"org": organization_id, "start": start, "end": end})).all()
    return [ServerSpend(r.server_id, r.label, int(r.hours), Decimal(r.amount)) for r in rows]


async def org_figures(
    conn: AsyncConnection, organization_id: uuid.UUID, start: datetime, end: datetime
) -> OrgFigures | None:
    row = (await conn.execute(_ORG_FIGURES, {"org": organization_id, "start": start, "end": end})).first()
    if row is None:
        return None
    return OrgFigures(
        organization_id=row.organization_id, name=row.name, currency=row.currency, balance=Decimal(row.balance),
        hourly_burn=Decimal(row.hourly_burn), topups=Decimal(row.topups), owed=Decimal(row.owed),
        hours_owed=int(row.hours_owed),
    )  # fmt: skip


async def staff_totals(conn: AsyncConnection, start: datetime, end: datetime) -> dict[str, Any]:
    return dict((await conn.execute(_STAFF_TOTALS, {"start": start, "end": end})).one()._mapping)
