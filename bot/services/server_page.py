"""One server's page, as the panel's server page shows it: specs, addresses, region and status, the
time in service and this month's cost, transfer used against the plan's allocation, backups and the
price they are quoted at, attached Cloud Firewalls, hostname and reverse DNS.

Computed as the panel computes them (its `GET /api/vps/:id`): specs and the transfer allocation
come from the plan's specifications (`transfer`, `transfer_gb` or `bandwidth_gb`), else from Linode;
transfer used is Linode's byte count / 10⁹ against that allocation (Linode's own quota when the plan
names none), capped at 100 %. Members see the page; admins and owners get the actions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import server_page as page_db
from bot.db import servers as servers_db
from bot.errors import UserError
from bot.linode.errors import LinodeError
from bot.linode.gateway import LinodeGateway
from bot.services import vps
from bot.services.identity import Actor
from bot.services.permissions import Action, allowed
from bot.services.summaries import month_start, next_month

log = logging.getLogger(__name__)

#: The panel's server page quotes backups at 40 % of the plan (its VPSDetail page; its biller does
#: not charge them, so neither does the bot).
BACKUP_SHARE = Decimal("0.4")
GB = Decimal(1_000_000_000)


@dataclass(frozen=True)
class Specs:
    vcpus: int
    memory_mb: int
    disk_mb: int
    transfer_gb: int


@dataclass(frozen=True)
class Transfer:
    used_gb: Decimal
    quota_gb: Decimal
    billable_gb: Decimal

    @property
    def percent(self) -> Decimal:
        if self.quota_gb <= 0:
            return Decimal(0)
        return min(Decimal(100), max(Decimal(0), self.used_gb / self.quota_gb * 100))


@dataclass(frozen=True)
class BackupPrice:
    monthly: Decimal
    hourly: Decimal
    source: str  # "plan columns" (a later panel's) or "40% of the plan" (ContainerStacks' page)


@dataclass(frozen=True)
class BackupState:
    enabled: bool
    last_successful: str | None
    day: str | None
    window: str | None


@dataclass(frozen=True)
class AttachedFirewall:
    id: int
    label: str
    status: str


@dataclass(frozen=True)
class ServerPage:
    server: vps.ServerView
    organization_id: Any
    can_manage: bool
    specs: Specs
    month_hours: int
    month_cost: Decimal
    backup_price: BackupPrice | None
    linode_status: str | None = None
    hostname: str | None = None
    ipv4: tuple[str, ...] = ()
    ipv6: str | None = None
    rdns: str | None = None
    transfer: Transfer | None = None
    backups: BackupState | None = None
    firewalls: tuple[AttachedFirewall, ...] = ()
    problem: str | None = None  # why Linode's part is missing (not configured, unreachable…)
    notes: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.problem is None and self.hostname is not None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return None
    return None


def _first(*values: Decimal | None) -> Decimal:
    return next((v for v in values if v is not None), Decimal(0))


def plan_specs(specifications: dict[str, Any] | None, linode_specs: dict[str, Any] | None) -> Specs:
    """The panel's rule, the plan's specifications first (`disk`/`storage_mb`/`storage_gb`, `memory`/
    `memory_mb`/`memory_gb`, `vcpus`/`cpu_cores`, `transfer`/`transfer_gb`/`bandwidth_gb`); where the plan
    names nothing (the panel would show a dash), Linode's own figure."""
    s = {k: _number(v) for k, v in (specifications or {}).items()}
    raw = {k: _number(v) for k, v in (linode_specs or {}).items()}
    gb = Decimal(1024)
    disk = _first(s.get("disk"), s.get("storage_mb"), s["storage_gb"] * gb if s.get("storage_gb") else None)
    memory = _first(s.get("memory"), s.get("memory_mb"), s["memory_gb"] * gb if s.get("memory_gb") else None)
    vcpus = _first(s.get("vcpus"), s.get("cpu_cores"))
    transfer = _first(s.get("transfer"), s.get("transfer_gb"), s.get("bandwidth_gb"))

    def pick(mine: Decimal, key: str) -> int:
        return int(mine if mine > 0 else raw.get(key) or 0)

    return Specs(pick(vcpus, "vcpus"), pick(memory, "memory"), pick(disk, "disk"), pick(transfer, "transfer"))


def transfer_use(raw: dict[str, Any], specs: Specs) -> Transfer:
    used = _number(raw.get("used")) or Decimal(0)
    quota = Decimal(specs.transfer_gb) if specs.transfer_gb > 0 else (_number(raw.get("quota")) or Decimal(0))
    return Transfer(max(Decimal(0), used) / GB, quota, _number(raw.get("billable")) or Decimal(0))


def backup_price(plan: dict[str, Any] | None) -> BackupPrice | None:
    """A later panel's backup price columns when the plan has them, else 40 % of the plan's price."""
    if plan is None:
        return None
    monthly = _first(_number(plan.get("backup_price_monthly"))) + _first(_number(plan.get("backup_upcharge_monthly")))
    if monthly > 0:
        hourly = _first(_number(plan.get("backup_price_hourly"))) + _first(_number(plan.get("backup_upcharge_hourly")))
        return BackupPrice(monthly, hourly or monthly / vps.HOURS_PER_MONTH, "plan columns")
    plan_monthly = _first(_number(plan.get("base_price"))) + _first(_number(plan.get("markup_price")))
    if plan_monthly <= 0:
        return None
    monthly = (plan_monthly * BACKUP_SHARE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return BackupPrice(monthly, plan_monthly / vps.HOURS_PER_MONTH * BACKUP_SHARE, "40% of the plan")


async def load(
    engine: AsyncEngine, gateway: LinodeGateway | None, actor: Actor, label: str, now: datetime, *, live: bool = True
) -> ServerPage:
    """The page; with ``live`` it also asks Linode (several calls: only after the ack)."""
    server = await vps.find_server(engine, actor, label)
    async with engine.connect() as conn:
        row = await servers_db.server(conn, server.id)
        plan = await page_db.plan_row(conn, server.plan_id)
        start = month_start(now)
        use = await page_db.month_use(conn, server.id, start, next_month(start))
    if row is None:
        raise vps.ServerNotFound()
    specs = plan_specs(plan.get("specifications") if plan else None, None)
    base = ServerPage(
        server=server, organization_id=row.organization_id, can_manage=allowed(actor.grant(), Action.MANAGE_SERVERS),
        specs=specs, month_hours=use.hours, month_cost=use.amount, backup_price=backup_price(plan),
    )  # fmt: skip
    if not live:
        return base
    if gateway is None or server.linode_id is None:
        why = "Servers are not connected to Linode on this bot." if gateway is None else "Still being created."
        return _replace(base, problem=why)
    try:
        return await _with_linode(base, gateway, server.linode_id, plan.get("specifications") if plan else None)
    except LinodeError as failure:
        return _replace(base, problem=failure.message)


def _replace(page: ServerPage, **changes: Any) -> ServerPage:
    return ServerPage(**{**page.__dict__, **changes})


async def _with_linode(
    page: ServerPage, gateway: LinodeGateway, linode_id: int, plan_specifications: dict[str, Any] | None
) -> ServerPage:
    detail = await gateway.instance_detail(linode_id)
    specs = plan_specs(plan_specifications, detail.get("specs"))
    ipv4 = tuple(str(a) for a in detail.get("ipv4") or [])
    public = next((a for a in ipv4 if not a.startswith(("10.", "192.168."))), None)
    rdns = (await gateway.ip_address(public)).get("rdns") if public else None
    backups = detail.get("backups") or {}
    schedule = backups.get("schedule") or {}
    firewalls = await gateway.instance_firewalls(linode_id)
    return _replace(
        page,
        specs=specs,
        linode_status=str(detail.get("status") or "unknown"),
        hostname=str(detail.get("label") or ""),
        ipv4=ipv4,
        ipv6=str(detail["ipv6"]) if detail.get("ipv6") else None,
        rdns=str(rdns) if rdns else None,
        transfer=transfer_use(await gateway.transfer(linode_id), specs),
        backups=BackupState(
            bool(backups.get("enabled")), backups.get("last_successful"), schedule.get("day"), schedule.get("window")
        ),
        firewalls=tuple(
            AttachedFirewall(int(f["id"]), str(f.get("label") or f["id"]), str(f.get("status") or ""))
            for f in firewalls
        ),
    )


async def label_for_viewer(engine: AsyncEngine, actor: Actor, server_id: Any) -> str:
    """The label of a server the actor may look at (a member of its organisation, or staff)."""
    org_id = vps.in_org(actor)
    actor.require(Action.VIEW)
    async with engine.connect() as conn:
        row = await servers_db.server(conn, server_id)
    if row is None or (row.organization_id != org_id and not actor.is_staff):
        raise vps.ServerNotFound("That server no longer exists in this organisation.")
    return row.label


def require_linode(gateway: LinodeGateway | None) -> LinodeGateway:
    if gateway is None:
        raise UserError("Servers are not available on this bot: the Linode integration is not configured.")
    return gateway
