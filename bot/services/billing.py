"""The hourly billing engine: bill every due hour of every billable server, exactly once.

Rules (the README's "Billing and summaries" section says the same for operators):
- Hour k of a server covers [created_at + k h, created_at + (k+1) h) and is charged when it begins;
  `last_billed_at` is the time the server is paid up to.
- Price: (base_price + markup_price) / 730 from its plan (0.027/h without one), rounded per UTC
  calendar month so the month's total never exceeds the plan's monthly price.
- A run bills organisations in batches, one transaction per batch (see `bot.db.billing`); the
  `bot_ledger_keys` primary key (`vps:<id>:hour:<k>`) makes a second charge of an hour impossible,
  whichever replica, CLI run or creation path gets there first.
- Unpaid hours are recorded once, retried every run, collected in order when the wallet allows;
  `last_billed_at` moves past them anyway (they are owed, not forgotten), so the panel's own biller
  never picks them up. Billing channels and owners hear at the first failure and daily after.
  After the grace period every run powers off every server of the organisation that is not off
  (also one started again from the panel or Linode's console), through the durable job queue.
- A debt is never erased: a server's final charge (deletion, gone at Linode) takes every hour it
  owes, even below zero — the one exception to `balance >= total` — and a negative balance keeps the
  organisation in arrears until a top-up repays it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import billing as billing_db
from bot.db import notify_targets
from bot.db.outbox import enqueue
from bot.services import notices
from bot.settings import Settings

log = logging.getLogger(__name__)

POWER_OFF_JOB = "power_off"  # the VPS engineer's durable job kind (bot.services.vps_actions)
BATCH_HOURS = 20_000  # due hours per batch transaction (a batch holds at least one organisation)
PARALLEL_BATCHES = 2  # batches in flight at once, each on its own connection
RETRIES = 3
CENT = Decimal("0.01")


@dataclass(frozen=True)
class BillingPolicy:
    grace_hours: int = 72
    slack_command: str = "/cs"

    @classmethod
    def of(cls, settings: Settings) -> BillingPolicy:
        return cls(grace_hours=settings.billing_grace_hours, slack_command=settings.slack_command)


@dataclass
class OrgResult:
    organization_id: uuid.UUID
    hours_charged: int = 0
    amount_charged: Decimal = Decimal("0.00")
    hours_unpaid: int = 0
    amount_unpaid: Decimal = Decimal("0.00")
    hours_newly_failed: int = 0


@dataclass
class RunResult:
    at: datetime
    dry_run: bool
    organizations: dict[uuid.UUID, OrgResult] = field(default_factory=dict)
    batches: int = 0
    skipped_batches: int = 0
    power_offs: int = 0

    @property
    def hours_charged(self) -> int:
        return sum(o.hours_charged for o in self.organizations.values())

    @property
    def amount_charged(self) -> Decimal:
        return sum((o.amount_charged for o in self.organizations.values()), Decimal("0.00"))

    @property
    def hours_newly_failed(self) -> int:
        return sum(o.hours_newly_failed for o in self.organizations.values())


def plan_batches(due: Sequence[tuple[uuid.UUID, int]], batch_hours: int, parallel: int = 1) -> list[list[uuid.UUID]]:
    """Consecutive organisations (in id order) in batches of about `batch_hours` due hours or fewer,
    their number a multiple of `parallel` so every worker gets the same share."""
    total = sum(hours for _, hours in due)
    if not due:
        return []
    lanes = max(1, parallel)
    count = math.ceil(max(1, math.ceil(total / max(1, batch_hours))) / lanes) * lanes
    batches: list[list[uuid.UUID]] = [[] for _ in range(count)]
    before = 0
    for organization_id, hours in due:
        batches[min(count - 1, before * count // max(1, total))].append(organization_id)
        before += hours
    return [batch for batch in batches if batch]


class _DryRunRollback(Exception):
    """Raised inside a dry-run batch so its transaction rolls back after computing."""


async def run_billing(
    engine: AsyncEngine,
    now: datetime,
    policy: BillingPolicy | None = None,
    *,
    dry_run: bool = False,
    source: str = "scheduler",
    batch_hours: int = BATCH_HOURS,
    parallel: int = PARALLEL_BATCHES,
) -> RunResult:
    """Bill every due hour up to `now`. A dry run computes the same charges and rolls them back."""
    policy = policy or BillingPolicy()
    started = datetime.now(tz=UTC)
    result = RunResult(at=now, dry_run=dry_run)
    async with engine.connect() as conn:
        due = await billing_db.due_organizations(conn, now)
    batches = plan_batches(due, batch_hours, parallel)
    result.batches = len(batches)
    queue = iter(batches)

    async def worker() -> None:
        for batch in queue:
            for attempt in range(RETRIES):
                try:
                    done = await _run_batch(engine, batch, now, policy, result, dry_run=dry_run)
                except DBAPIError as error:  # deadlock with a creation path or another runner: retry
                    if attempt == RETRIES - 1:
                        raise
                    log.warning("billing.batch_retry", extra={"error": str(error.orig)[:200]})
                    continue
                if not done:
                    result.skipped_batches += 1
                break

    await asyncio.gather(*(worker() for _ in range(max(1, min(parallel, len(batches))))))
    if not dry_run and (result.organizations or result.batches):
        async with engine.begin() as conn:
            await billing_db.record_run(
                conn, run_at=now, source=source, hours=result.hours_charged, amount=result.amount_charged,
                failed=result.hours_newly_failed, orgs=len(result.organizations), started=started,
            )  # fmt: skip
    return result


async def _run_batch(
    engine: AsyncEngine,
    batch: list[uuid.UUID],
    now: datetime,
    policy: BillingPolicy,
    result: RunResult,
    *,
    dry_run: bool,
) -> bool:
    """One transaction for the batch; False when another runner holds it (it bills the same hours)."""
    outcome: dict[uuid.UUID, OrgResult] = {}
    power_offs = 0
    try:
        async with engine.begin() as conn:
            if not await billing_db.try_lock_batch(conn, batch[0]):
                return False
            outcome, power_offs = await bill_batch(conn, batch, now, policy)
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    result.organizations.update({k: v for k, v in outcome.items() if v.hours_charged or v.hours_unpaid})
    result.power_offs += power_offs
    return True


async def bill_batch(
    conn: AsyncConnection,
    organizations: list[uuid.UUID],
    now: datetime,
    policy: BillingPolicy,
    *,
    server_id: uuid.UUID | None = None,
    max_hour_index: int | None = None,
    force: bool = False,
) -> tuple[dict[uuid.UUID, OrgResult], int]:
    """The batch's statements, in the caller's transaction (commit or roll back as a whole)."""
    await billing_db.prepare_batch(
        conn, organizations, now, server_id=server_id, max_hour_index=max_hour_index, force=force
    )
    outcome: dict[uuid.UUID, OrgResult] = {}
    for org, (hours, amount) in (await billing_db.charge_due(conn, now, force=force)).items():
        outcome.setdefault(org, OrgResult(org)).hours_charged = hours
        outcome[org].amount_charged = amount
    for org, (hours, amount, newly) in (await billing_db.record_failures(conn, now)).items():
        entry = outcome.setdefault(org, OrgResult(org))
        entry.hours_unpaid, entry.amount_unpaid, entry.hours_newly_failed = hours, amount, newly
    await billing_db.update_arrears(conn, organizations, now)
    await _notify_arrears(conn, organizations, now, policy)
    # One server's own charge (its creation or its end) powers nothing off: the runs do that.
    power_offs = 0 if server_id is not None else await _request_power_offs(conn, organizations, now, policy)
    return outcome, power_offs


async def charge_first_hour(
    conn: AsyncConnection, server_id: uuid.UUID, now: datetime | None = None
) -> OrgResult | None:
    """Charge hour 0 of a new server with the engine's rules and key (`vps:<id>:hour:0`), in the
    caller's transaction — also while it is still `provisioning` (creation pays before Linode is
    asked). Returns what was charged or recorded unpaid, or None when hour 0 was already charged,
    has not begun, or the server is unknown."""
    organization_id = await billing_db.server_organization(conn, server_id)
    if organization_id is None:
        return None
    when = now or datetime.now(tz=UTC)
    outcome, _ = await bill_batch(conn, [organization_id], when, BillingPolicy(), server_id=server_id, max_hour_index=0)
    return outcome.get(organization_id)


async def charge_final(
    conn: AsyncConnection, server_id: uuid.UUID, now: datetime, policy: BillingPolicy | None = None
) -> OrgResult | None:
    """A server's last charge before its row goes (deleted, or gone at Linode), in the caller's
    transaction: every hour it owes and every hour begun since it was last billed, even if the
    balance goes negative. A debt is never erased; the next top-up repays it."""
    organization_id = await billing_db.server_organization(conn, server_id)
    if organization_id is None:
        return None
    outcome, _ = await bill_batch(conn, [organization_id], now, policy or BillingPolicy(), server_id=server_id,
                                  force=True)  # fmt: skip
    return outcome.get(organization_id)


async def describe_run(engine: AsyncEngine, result: RunResult) -> list[str]:
    """Plain-text lines for `csbot billing run`: one per organisation, then the totals."""
    async with engine.connect() as conn:
        names = await billing_db.organization_names(conn, list(result.organizations))
    what = "Would charge" if result.dry_run else "Charged"
    lines = [f"Billing run at {result.at.isoformat()}" + (" (dry run: nothing was changed)" if result.dry_run else "")]
    for org in sorted(
        result.organizations.values(), key=lambda o: (names.get(o.organization_id, ""), o.organization_id)
    ):
        line = (
            f"  {names.get(org.organization_id, '?')} ({org.organization_id}): {what.lower()} {org.hours_charged} h, "
        )
        line += f"{org.amount_charged:.2f}"
        if org.hours_unpaid:
            line += f"; unpaid {org.hours_unpaid} h, {org.amount_unpaid:.2f}"
        lines.append(line)
    lines.append(
        f"{what} {result.hours_charged} h, {result.amount_charged:.2f} in total for {len(result.organizations)} "
        f"organisation(s); {result.hours_newly_failed} newly unpaid hour(s); {result.power_offs} power-off(s) requested"
        + (f"; {result.skipped_batches} batch(es) left to a concurrent runner" if result.skipped_batches else "")
    )
    return lines


def cumulative_charge(monthly: Decimal, hours_in_month: int) -> Decimal:
    """What a server has paid after its first `hours_in_month` hours starting in a UTC calendar month:
    least(monthly, round(i × monthly / 730, 2)) — the same formula the SQL uses."""
    exact = Decimal(hours_in_month) * monthly / billing_db.HOURS_PER_MONTH
    return min(monthly, exact.quantize(CENT, rounding=ROUND_HALF_UP))


def hour_charge(monthly: Decimal, index_in_month: int) -> Decimal:
    """The price of a server's `index_in_month`-th hour (1-based) starting in a calendar month."""
    return cumulative_charge(monthly, index_in_month) - cumulative_charge(monthly, index_in_month - 1)


def power_off_time(since: datetime, grace_hours: int) -> datetime:
    return since + timedelta(hours=grace_hours)


async def _notify_arrears(
    conn: AsyncConnection, organizations: Sequence[uuid.UUID], now: datetime, policy: BillingPolicy
) -> None:
    """At the first failure and every 24 h after: billing channels and owners (outbox, deduped)."""
    for state in await billing_db.arrears(conn, list(organizations)):
        day = max(0, math.floor((now - state.since).total_seconds() / 86400))
        if day <= state.notice_day or state.amount_owed <= 0:
            continue
        message = notices.arrears(
            org_name=state.name, amount_owed=state.amount_owed, currency=state.currency, hours_owed=state.hours_owed,
            servers=state.servers, power_off_at=power_off_time(state.since, policy.grace_hours),
            command=policy.slack_command, first=day == 0,
        )  # fmt: skip
        key = f"billing:arrears:{state.organization_id}:{int(state.since.timestamp())}:{day}"
        targets = [
            *await notify_targets.bound_channels(conn, state.organization_id, "billing"),
            *await billing_db.owner_slack_ids(conn, state.organization_id),
        ]
        for target in dict.fromkeys(targets):
            await enqueue(conn, target, message, dedupe_key=f"{key}:{target}")
        await billing_db.set_notice_day(conn, state.organization_id, day)


async def _request_power_offs(
    conn: AsyncConnection, organizations: Sequence[uuid.UUID], now: datetime, policy: BillingPolicy
) -> int:
    """Past the grace period, every server of the organisation that is not off: one durable job and
    one notice each, every run (a server started again since the last power-off is caught too)."""
    requested = await billing_db.request_power_offs(
        conn, list(organizations), now, policy.grace_hours, kind=POWER_OFF_JOB
    )
    for server in requested:
        message = notices.power_off(server.organization_name, server.label, policy.slack_command)
        for channel in await notify_targets.bound_channels(conn, server.organization_id, "billing"):
            await enqueue(conn, channel, message, dedupe_key=f"{server.dedupe_key}:{channel}")
        log.warning("billing.power_off_requested", extra={"server_id": str(server.server_id)})
    return len(requested)
