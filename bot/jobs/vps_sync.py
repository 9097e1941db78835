"""Reconcile vps_instances with Linode every few minutes.

* status and first IPv4 follow Linode (``offline`` stored as ``stopped``);
* a server gone at Linode gets its final charge (every hour it owes, even below zero) and its row
  is removed, as the panel removes a deleted server's row — a row left behind would stay billable
  by the panel's own biller. The organisation's VPS channels and staff are told, in the same
  transaction;
* a ``provisioning`` row whose instance exists at Linode under its deterministic label (a crash
  between Linode and our database) is adopted and finalised (its first hour was paid at creation);
* a ``provisioning`` row that never reached Linode is removed after a grace period, and its first
  hour given back, in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import billing as billing_db
from bot.db import servers as servers_db
from bot.db.jobs import Job
from bot.db.servers import ServerRow
from bot.jobs.durable import JobPolicy, JobWorker
from bot.jobs.scheduler import PeriodicJob
from bot.linode.errors import LinodeError, LinodeFailure
from bot.linode.gateway import LinodeGateway
from bot.money import format_money
from bot.services import billing, notices, vps
from bot.services.container import Services
from bot.services.vps_actions import job_handlers
from bot.services.vps_create import finalize, linode_label, refund_and_remove
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    updated: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)


class VpsSync:
    def __init__(
        self,
        engine: AsyncEngine,
        gateway: LinodeGateway,
        settings: Settings,
        *,
        provisioning_grace: timedelta = timedelta(minutes=15),
        mass_missing_share: float | None = 0.5,
    ) -> None:
        self._engine = engine
        self._gateway = gateway
        self._settings = settings
        self._grace = provisioning_grace
        self._mass_missing_share = mass_missing_share

    async def run_once(self) -> SyncReport:
        report = SyncReport()
        if not await self._gateway.configured():
            return report
        try:
            instances = await self._gateway.list_instances()
        except LinodeError as error:
            await vps.alert_auth_failure(self._engine, self._settings, error)
            log.warning("vps_sync.list_failed", extra={"category": error.category.value})
            return report
        by_id = {i["id"]: i for i in instances}
        by_label = {i["label"]: i for i in instances}
        async with self._engine.connect() as conn:
            rows = await servers_db.all_servers(conn)
        missing = [r for r in rows if r.linode_id is not None and r.linode_id not in by_id]
        settle_missing = not _implausibly_many(missing, rows, self._mass_missing_share)
        if not settle_missing:
            await self._alert_mass_missing(len(missing), len(rows))
        for row in rows:
            if row.linode_id is None:
                await self._provisioning(row, by_label, report)
            elif row.linode_id in by_id:
                await self._follow(row, by_id[row.linode_id], report)
            elif settle_missing:  # also rows an earlier version only marked `error`: settled and removed now
                await self._maybe_missing(row, report)
        return report

    async def _alert_mass_missing(self, missing: int, known: int) -> None:
        """Most servers absent at once looks like the wrong Linode account, not deletions: remove nothing."""
        log.error("vps_sync.mass_missing", extra={"missing": missing, "known": known})
        async with self._engine.begin() as conn:
            await vps.alert_staff(
                conn, self._settings, "Linode does not list most of the servers",
                [f"{missing} of {known} servers are not at Linode", "Nothing was charged or removed: check "
                 "LINODE_API_TOKEN (or the active linode service provider row) points at the right account."],
                dedupe_key=f"vps:mass-missing:{datetime.now(UTC):%Y-%m-%dT%H}",
            )  # fmt: skip

    async def _provisioning(self, row: ServerRow, by_label: dict[str, dict], report: SyncReport) -> None:
        if row.status != "provisioning":
            return
        found = by_label.get(linode_label(row.id))
        if found is not None:
            await finalize(self._engine, self._settings, row.id, {**found, "adopted": True}, actor=None)
            report.adopted.append(row.label)
            log.info("vps_sync.adopted", extra={"server_id": str(row.id), "linode_id": found["id"]})
            return
        if datetime.now(UTC) - row.created_at > self._grace:
            async with self._engine.begin() as conn:
                await billing_db.lock_wallet(conn, row.organization_id)
                locked = await servers_db.server(conn, row.id, for_update=True)
                if locked is None or locked.linode_id is not None:
                    return
                refunded = await refund_and_remove(conn, locked, reason="never_created_at_linode")
                await vps.notify_org(
                    conn, row.organization_id, notices.server_abandoned(row.label, refunded),
                    dedupe_key=f"vps:abandoned:{row.id}",
                )  # fmt: skip
            report.abandoned.append(row.label)

    async def _follow(self, row: ServerRow, instance: dict, report: SyncReport) -> None:
        status = servers_db.stored_status(instance["status"])
        ip = instance["ipv4"][0] if instance["ipv4"] else None
        if status == row.status and (ip is None or ip == row.ip_address):
            return
        async with self._engine.begin() as conn:
            await servers_db.set_status(conn, row.id, status, ip)
        report.updated.append(row.label)

    async def _maybe_missing(self, row: ServerRow, report: SyncReport) -> None:
        """Confirm with a single GET (a listing can race a create) before calling a server gone."""
        assert row.linode_id is not None
        try:
            await self._gateway.get_instance(row.linode_id)
            return
        except LinodeError as error:
            if error.category is not LinodeFailure.NOT_FOUND:
                return
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            await billing_db.lock_wallet(conn, row.organization_id)
            locked = await servers_db.server(conn, row.id, for_update=True)
            if locked is None:
                return
            final = await billing.charge_final(
                conn, locked.id, _gone_since(locked) or now, billing.BillingPolicy.of(self._settings)
            )
            charged = final.amount_charged if final else Decimal("0.00")
            await servers_db.delete_server(conn, locked.id)
            await vps.record_system(
                conn, row.organization_id, "vps.sync.missing", row.id,
                f"Server {row.label} no longer exists at Linode; its final hours were charged and it was removed",
                metadata={"linode_id": row.linode_id, "label": row.label, "final_charge": f"{charged:.2f}"},
                status="error",
            )  # fmt: skip
            await vps.notify_org(
                conn, row.organization_id, notices.server_missing(row.label, charged),
                dedupe_key=f"vps:missing:{row.id}",
            )  # fmt: skip
            await vps.alert_staff(
                conn, self._settings, "A server is gone at Linode",
                [f"Server {row.label} ({row.id})", f"Linode id {row.linode_id}", f"Organisation {row.organization_id}",
                 f"Final charge {format_money(charged)}; the row was removed"],
                dedupe_key=f"vps:missing:{row.id}:staff",
            )  # fmt: skip
        report.missing.append(row.label)


#: Gone-at-Linode handling removes rows; when more than `mass_missing_share` of the servers (and more
#: than this many) vanish in one sync, the token is more likely wrong than they all gone.
MASS_MISSING_MIN = 3


def _implausibly_many(missing: list[ServerRow], rows: list[ServerRow], share: float | None) -> bool:
    with_ids = sum(1 for r in rows if r.linode_id is not None)
    return share is not None and len(missing) > MASS_MISSING_MIN and len(missing) > share * with_ids


def _gone_since(row: ServerRow) -> datetime | None:
    """When an earlier version saw the server gone (it then only marked it `error`): bill up to then."""
    note = row.configuration.get("botSync")
    if row.status != "error" or not isinstance(note, dict) or not note.get("missingAt"):
        return None
    try:
        return datetime.fromisoformat(str(note["missingAt"]))
    except ValueError:
        return None


# --- wiring into the app ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VpsOptions:
    """Tunables for the Linode gateway, the durable job worker and the sync loop."""

    poll_seconds: float = 5.0
    max_wait_seconds: float = 900.0
    timeout_seconds: float = 60.0
    retry_interval: float = 1.0
    jobs: JobPolicy | None = None
    sync_every_seconds: float | None = 300.0  # None: no periodic sync (tests call run_once)


def build_vps_gateway(settings: Settings, engine: AsyncEngine, options: VpsOptions | None) -> LinodeGateway:
    options = options or VpsOptions()
    return vps.build_gateway(
        settings,
        engine,
        poll_seconds=options.poll_seconds,
        max_wait_seconds=options.max_wait_seconds,
        timeout_seconds=options.timeout_seconds,
        retry_interval=options.retry_interval,
    )


def start_vps_workers(services: Services, stop: asyncio.Event, options: VpsOptions | None) -> list[asyncio.Task[None]]:
    """The durable job worker (rDNS, power-off); nothing without a Linode gateway."""
    if services.linode is None:
        return []
    options = options or VpsOptions()
    handlers = job_handlers(services.engine, services.linode, services.settings)
    worker = JobWorker(services.engine, handlers, options.jobs, on_dead=_dead_job_notice(services))
    return [asyncio.create_task(worker.run(stop), name="jobs-worker")]


def vps_periodic_jobs(services: Services, options: VpsOptions | None) -> list[PeriodicJob]:
    """The Linode sync as a scheduler tick (every few minutes, one replica per period)."""
    options = options or VpsOptions()
    if services.linode is None or options.sync_every_seconds is None:
        return []
    sync = VpsSync(services.engine, services.linode, services.settings)

    async def sync_tick(now: datetime) -> object:
        del now  # the sync compares with Linode's current state, whatever the time
        return await sync.run_once()

    return [PeriodicJob("vps-sync", options.sync_every_seconds, sync_tick)]


def _dead_job_notice(services: Services) -> Callable[[Job, str], Awaitable[None]]:
    async def notice(job: Job, error: str) -> None:
        async with services.engine.begin() as conn:
            await vps.alert_staff(
                conn, services.settings, f"A background {job.kind} job gave up",
                [f"Job {job.id} after {job.attempts} attempts", f"Payload {job.payload}", f"Last error: {error}"],
                dedupe_key=f"jobs:dead:{job.id}",
            )  # fmt: skip

    return notice
