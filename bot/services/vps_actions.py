"""Changing a server: power actions, rebuild, resize and delete, plus the durable job kinds
(rDNS and power-off) that retry Linode work outside any request.

Each action re-checks the actor (organisation admin/owner or staff) at click time, asks Linode,
writes the panel's activity event, then follows Linode's status with single GETs. Starting,
rebooting (which boots a server that is off), rebuilding and resizing are refused while the
organisation owes anything; stopping and deleting never are.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import crypto
from bot.db import billing as billing_db
from bot.db import servers as servers_db
from bot.db.jobs import RetryLater
from bot.db.servers import ServerRow
from bot.errors import UserError
from bot.linode.errors import LinodeError, LinodeFailure
from bot.linode.gateway import LinodeGateway
from bot.services import arrears, billing, notices, vps
from bot.services.audit import record_for_actor
from bot.services.identity import Actor
from bot.services.passwords import generate_root_password
from bot.services.server_common import linode_call
from bot.services.server_states import require_allowed
from bot.services.vps_create import POWER_OFF_JOB, RDNS_JOB, FieldErrors, check_currency
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PowerAction:
    verb: str  # what the user typed / clicked
    linode_call: str
    event_type: str
    targets: tuple[str, ...]
    doing: str
    done: str


#: Power actions that (may) turn a server on: refused while the organisation owes anything.
POWERS_ON = frozenset({"start", "reboot"})
NO_SUCH_IMAGE = "That image is not offered for rebuilds; pick one from the list."

POWER_ACTIONS = {
    "start": PowerAction("start", "boot", "vps.boot", ("running",), "Starting", "started"),
    "stop": PowerAction("stop", "shutdown", "vps.shutdown", ("offline",), "Stopping", "stopped"),
    "reboot": PowerAction("reboot", "reboot", "vps.reboot", ("running",), "Rebooting", "rebooted"),
}


class ServerBusy(UserError):
    """That server is still being created; try again once it is running."""


@dataclass(frozen=True)
class ResizePreview:
    server_id: uuid.UUID
    label: str
    current_plan: str | None
    current_hourly: Decimal
    new_plan_id: uuid.UUID
    new_plan: str
    new_hourly: Decimal

    @property
    def hourly_difference(self) -> Decimal:
        return self.new_hourly - self.current_hourly

    @property
    def monthly_difference(self) -> Decimal:
        return self.hourly_difference * vps.HOURS_PER_MONTH


@dataclass(frozen=True)
class Deleted:
    label: str
    final_charge: Decimal | None
    final_hours: int


async def _require_paid_up(engine: AsyncEngine, settings: Settings, actor: Actor, row: ServerRow) -> None:
    organization = actor.org.name if actor.org and actor.org.id == row.organization_id else ""
    await arrears.require_paid_up(engine, row.organization_id, organization=organization,
                                  command=settings.slack_command)  # fmt: skip


def _linode_id(row: ServerRow) -> int:
    if row.linode_id is None:
        raise ServerBusy()
    return row.linode_id


_linode = linode_call  # a 401/403 also alerts staff before the friendly error goes up


async def power(
    engine: AsyncEngine,
    gateway: LinodeGateway,
    settings: Settings,
    actor: Actor,
    server_id: uuid.UUID,
    *,
    verb: str,
    report: vps.Report,
    channel_id: str | None = None,
) -> str:
    action = POWER_ACTIONS[verb]
    row = await vps.server_for_actor(engine, actor, server_id)
    if verb in POWERS_ON:
        await _require_paid_up(engine, settings, actor, row)
    require_allowed(row.label, row.status, verb)  # a stale button, or a command typed at the wrong moment
    linode_id = _linode_id(row)
    await _linode(engine, settings, gateway.power(linode_id, action.linode_call))
    async with engine.begin() as conn:
        await record_for_actor(
            conn, actor, event_type=action.event_type, entity_type="vps", entity_id=str(row.id),
            message=f"{action.doing} server {row.label}", organization_id=row.organization_id,
            channel_id=channel_id, metadata={"label": row.label, "linode_id": linode_id},
        )  # fmt: skip
    final = await vps.follow_status(engine, gateway, row.id, linode_id, action.targets, report=report)
    async with engine.begin() as conn:
        notice = notices.server_action(row.label, action.done, actor.slack.user_id)
        await vps.notify_org(conn, row.organization_id, notice, dedupe_key=f"vps:{verb}:{row.id}:{uuid.uuid4()}")
    return final


async def rebuild(
    engine: AsyncEngine,
    gateway: LinodeGateway,
    settings: Settings,
    actor: Actor,
    server_id: uuid.UUID,
    *,
    image: str,
    report: vps.Report,
    channel_id: str | None = None,
) -> str:
    """Reinstall from ``image`` with a new generated root password (stored only as the envelope)."""
    row = await vps.server_for_actor(engine, actor, server_id)
    await _require_paid_up(engine, settings, actor, row)
    require_allowed(row.label, row.status, "rebuild")
    if image not in {i["id"] for i in await _linode(engine, settings, gateway.images())}:
        raise UserError(NO_SUCH_IMAGE)
    linode_id = _linode_id(row)
    secret = vps.credential_secret(settings)
    password = generate_root_password()
    await _linode(engine, settings, gateway.rebuild(linode_id, image, password))
    auth = {"method": "password", "user": "root", "password_enc": crypto.encrypt(password, secret)}
    async with engine.begin() as conn:
        await servers_db.merge_configuration(conn, row.id, {"image": image, "auth": auth})
        await servers_db.set_status(conn, row.id, "rebuilding")
        await record_for_actor(
            conn, actor, event_type="vps.rebuild", entity_type="vps", entity_id=str(row.id),
            message=f"Rebuilt server {row.label} with {image}", organization_id=row.organization_id,
            channel_id=channel_id, metadata={"label": row.label, "image": image, "previous_image":
                                             row.configuration.get("image")},
        )  # fmt: skip
    return await vps.follow_status(engine, gateway, row.id, linode_id, ("running", "offline"), report=report)


async def resize_preview(engine: AsyncEngine, actor: Actor, server_id: uuid.UUID, plan_id: str) -> ResizePreview:
    row = await vps.server_for_actor(engine, actor, server_id)
    async with engine.connect() as conn:
        current = await servers_db.plan(conn, row.plan_id)
        new = await servers_db.offered_plan(conn, plan_id)
    if new is None:
        raise UserError("That plan is no longer offered.")
    if current is not None and new.id == current.id:
        raise UserError(f"{row.label} already runs on {new.name}.")
    return ResizePreview(
        server_id=row.id,
        label=row.label,
        current_plan=current.name if current else None,
        current_hourly=vps.hourly_rate(current),
        new_plan_id=new.id,
        new_plan=new.name,
        new_hourly=vps.hourly_rate(new),
    )


async def resize(
    engine: AsyncEngine,
    gateway: LinodeGateway,
    settings: Settings,
    actor: Actor,
    server_id: uuid.UUID,
    *,
    plan_id: str,
    report: vps.Report,
    channel_id: str | None = None,
) -> str:
    preview = await resize_preview(engine, actor, server_id, plan_id)
    row = await vps.server_for_actor(engine, actor, server_id)
    await _require_paid_up(engine, settings, actor, row)
    require_allowed(row.label, row.status, "resize")
    async with engine.connect() as conn:
        wallet = await billing_db.debt(conn, row.organization_id)
    check_currency(wallet.currency if wallet else "USD")  # a FieldErrors is a UserError: its message is shown
    linode_id = _linode_id(row)
    async with engine.connect() as conn:
        plan = await servers_db.plan(conn, str(preview.new_plan_id))
    assert plan is not None  # checked by resize_preview
    await _linode(engine, settings, gateway.resize(linode_id, plan.provider_plan_id))
    async with engine.begin() as conn:
        await servers_db.set_plan(conn, row.id, str(plan.id), plan.provider_plan_id)
        await record_for_actor(
            conn, actor, event_type="vps.resize", entity_type="vps", entity_id=str(row.id),
            message=f"Resized server {row.label} to {plan.name}", organization_id=row.organization_id,
            channel_id=channel_id,
            metadata={"label": row.label, "from_plan": row.plan_id, "to_plan": str(plan.id),
                      "from_hourly": f"{preview.current_hourly:.4f}", "to_hourly": f"{preview.new_hourly:.4f}"},
        )  # fmt: skip
    return await vps.follow_status(engine, gateway, row.id, linode_id, ("running", "offline"), report=report)


async def check_delete_confirmation(engine: AsyncEngine, actor: Actor, server_id: uuid.UUID, typed: str) -> ServerRow:
    row = await vps.server_for_actor(engine, actor, server_id)
    if typed.strip() != row.label:
        raise FieldErrors({"confirm": f"Type {row.label} exactly to delete this server."})
    return row


async def delete(
    engine: AsyncEngine,
    gateway: LinodeGateway,
    settings: Settings,
    actor: Actor,
    server_id: uuid.UUID,
    *,
    typed: str,
    channel_id: str | None = None,
    now: datetime | None = None,
) -> Deleted:
    """Delete at Linode (already gone is fine), charge what the server owes, remove the row.

    A partial hour that was prepaid (e.g. the first hour) costs nothing more. Hours recorded unpaid
    and hours begun since ``last_billed_at`` are charged, every started hour in full, under the same
    per-hour ledger keys the billing job uses (so none is charged twice) — even if the balance goes
    negative: a debt is never erased by deleting the server; the next top-up repays it.
    """
    row = await check_delete_confirmation(engine, actor, server_id, typed)
    if row.linode_id is not None:
        try:
            await _linode(engine, settings, gateway.delete(row.linode_id))
        except LinodeError as error:
            if error.category is not LinodeFailure.NOT_FOUND:
                raise
    now = now or datetime.now(UTC)
    async with engine.begin() as conn:
        await billing_db.lock_wallet(conn, row.organization_id)  # wallet first, as billing runs lock it
        locked = await servers_db.server(conn, row.id, for_update=True)
        if locked is None:
            return Deleted(row.label, None, 0)
        # Through the billing engine: the same keys and rounding as the hourly run, so a concurrent run
        # cannot charge these hours again.
        charged = await billing.charge_final(conn, locked.id, now, billing.BillingPolicy.of(settings))
        await servers_db.delete_server(conn, locked.id)
        await record_for_actor(
            conn, actor, event_type="vps.delete", entity_type="vps", entity_id=str(locked.id),
            message=f"Deleted server {locked.label}", organization_id=locked.organization_id, channel_id=channel_id,
            metadata={"label": locked.label, "linode_id": locked.linode_id,
                      "final_charge": f"{charged.amount_charged:.2f}" if charged else None},
        )  # fmt: skip
        await vps.notify_org(
            conn, locked.organization_id, notices.server_deleted(locked.label, actor.slack.user_id),
            dedupe_key=f"vps:deleted:{locked.id}",
        )  # fmt: skip
    hours = charged.hours_charged if charged else 0
    return Deleted(row.label, charged.amount_charged if charged and hours else None, hours)


# --- durable jobs ------------------------------------------------------------------------------


def job_handlers(engine: AsyncEngine, gateway: LinodeGateway, settings: Settings) -> dict[str, Any]:
    """The job kinds the durable worker runs for servers."""

    async def set_rdns(payload: dict[str, Any]) -> None:
        server_id = uuid.UUID(str(payload["server_id"]))
        async with engine.connect() as conn:
            row = await servers_db.server(conn, server_id)
            base = await servers_db.rdns_base_domain(conn)
        if row is None:
            return  # deleted meanwhile: nothing to name
        if row.linode_id is None:
            raise RetryLater("the server has no Linode id yet")
        try:
            instance = await gateway.get_instance(row.linode_id)
            address = next((a for a in instance["ipv4"] if not a.startswith(("10.", "192.168."))), None)
            if address is None:
                raise RetryLater("no public IPv4 assigned yet")
            rdns = f"{address.replace('.', '-')}.{base}"
            await gateway.set_rdns(address, rdns)
        except LinodeError as error:
            if error.category is LinodeFailure.NOT_FOUND:
                return
            await vps.alert_auth_failure(engine, settings, error)
            raise RetryLater(f"{error.category.value}: {'; '.join(error.reasons) or error.status}") from error
        async with engine.begin() as conn:
            await vps.record_system(
                conn, row.organization_id, "vps.network.rdns", row.id, f"Set reverse DNS of {address} to {rdns}",
                metadata={"ip": address, "rdns": rdns, "label": row.label},
            )  # fmt: skip

    async def power_off(payload: dict[str, Any]) -> None:
        server_id = uuid.UUID(str(payload["server_id"]))
        async with engine.connect() as conn:
            row = await servers_db.server(conn, server_id)
        if row is None or row.linode_id is None:
            return
        try:
            instance = await gateway.get_instance(row.linode_id)
            if instance["status"] in ("offline", "shutting_down"):
                async with engine.begin() as conn:  # already off (or going): just record what Linode says
                    await servers_db.set_status(conn, row.id, servers_db.stored_status(instance["status"]))
                return
            await gateway.power(row.linode_id, "shutdown")
        except LinodeError as error:
            if error.category is LinodeFailure.NOT_FOUND:
                return
            await vps.alert_auth_failure(engine, settings, error)
            raise RetryLater(f"{error.category.value}: {'; '.join(error.reasons) or error.status}") from error
        async with engine.begin() as conn:
            await servers_db.set_status(conn, row.id, "shutting_down")
            await vps.record_system(
                conn, row.organization_id, "vps.shutdown", row.id, f"Powered off server {row.label}",
                metadata={"reason": payload.get("reason"), "label": row.label},
            )  # fmt: skip

    return {RDNS_JOB: set_rdns, POWER_OFF_JOB: power_off}
