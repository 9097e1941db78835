"""Linode Backups of a server, as the panel's server page offers them: turn on (with the price shown
first; refused while the organisation owes), turn off, schedule (day and two-hour window), a
snapshot now with a label, the list with dates, and a restore onto the server itself.

Each change writes the panel's activity row (`vps.backups.enable|disable|schedule|snapshot|restore`,
its messages and metadata keys). A restore overwrites the server's disks, so it is refused while the
server runs and needs the label typed; it follows Linode until the server is back (``offline``).
The panel does not bill backups (its hourly biller charges the plan alone), so neither does the bot.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import servers as servers_db
from bot.db.servers import ServerRow
from bot.errors import UserError
from bot.linode.gateway import LinodeGateway
from bot.services import arrears, server_page, vps
from bot.services.identity import Actor
from bot.services.server_common import STILL_CREATING, linode_call, linode_id_of, record_vps
from bot.services.vps_create import FieldErrors
from bot.settings import Settings

DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
WINDOWS = tuple(f"W{hour}" for hour in range(0, 24, 2))
AUTO = "auto"
NOT_ENABLED = "Backups are off for {label}. Turn them on first: `{command} vps {label} backups on`."


@dataclass(frozen=True)
class BackupEntry:
    id: int
    kind: str  # "auto" or "snapshot"
    label: str | None
    status: str
    created: str | None
    finished: str | None
    size_mb: int


@dataclass(frozen=True)
class BackupList:
    server_id: uuid.UUID
    label: str
    enabled: bool
    day: str | None
    window: str | None
    last_successful: str | None
    entries: tuple[BackupEntry, ...]
    price: server_page.BackupPrice | None
    can_manage: bool


@dataclass(frozen=True)
class Offer:
    server_id: uuid.UUID
    label: str
    price: server_page.BackupPrice | None


def parse_backup_id(text: str) -> int | None:
    """A backup id as Linode numbers them (ASCII digits; a huge or non-ASCII digit string is not one)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def parse_schedule(day: str, window: str) -> tuple[str | None, str | None]:
    """The panel's values: a day of the week and W0…W22 (case-insensitive), or `auto` for Linode's choice."""
    found_day = next((d for d in DAYS if d.lower() == day.strip().lower()), None)
    if day.strip().lower() != AUTO and found_day is None:
        raise UserError(f"Invalid backup day: use one of {', '.join(DAYS)} or `auto`.")
    upper = window.strip().upper()
    if window.strip().lower() != AUTO and upper not in WINDOWS:
        raise UserError("Invalid backup window: use W0, W2 … W22 (the two hours starting then, UTC) or `auto`.")
    return found_day, (upper if upper in WINDOWS else None)


def _entry(raw: dict[str, Any]) -> BackupEntry:
    size = sum(int(d.get("size") or 0) for d in raw.get("disks") or [] if isinstance(d, dict))
    return BackupEntry(int(raw["id"]), str(raw.get("type") or "auto"), raw.get("label"), str(raw.get("status") or ""),
                       raw.get("created"), raw.get("finished"), size)  # fmt: skip


async def listing(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, label: str
) -> BackupList:
    """Backups of the server called ``label`` (members may look)."""
    view = await vps.find_server(engine, actor, label)
    page = await server_page.load(engine, None, actor, view.label, datetime.now(UTC), live=False)
    if view.linode_id is None:
        raise UserError(STILL_CREATING)
    detail = await linode_call(engine, settings, gateway.instance_detail(view.linode_id))
    state = detail.get("backups") or {}
    entries: list[BackupEntry] = []
    if state.get("enabled"):
        raw = await linode_call(engine, settings, gateway.backups(view.linode_id))
        snapshot = raw.get("snapshot") or {}
        found = [*(raw.get("automatic") or []), snapshot.get("current"), snapshot.get("in_progress")]
        entries = [_entry(b) for b in found if isinstance(b, dict)]
    schedule = state.get("schedule") or {}
    return BackupList(view.id, view.label, bool(state.get("enabled")), schedule.get("day"), schedule.get("window"),
                      state.get("last_successful"), tuple(sorted(entries, key=lambda e: e.created or "", reverse=True)),
                      page.backup_price, page.can_manage)  # fmt: skip


async def offer(engine: AsyncEngine, settings: Settings, actor: Actor, server_id: uuid.UUID) -> Offer:
    """What turning backups on costs, shown before anything changes (admins; refused while owing)."""
    row = await vps.server_for_actor(engine, actor, server_id)
    await _paid_up(engine, settings, actor, row)
    page = await server_page.load(engine, None, actor, row.label, datetime.now(UTC), live=False)
    return Offer(row.id, row.label, page.backup_price)


async def _paid_up(engine: AsyncEngine, settings: Settings, actor: Actor, row: ServerRow) -> None:
    organization = actor.org.name if actor.org and actor.org.id == row.organization_id else ""
    await arrears.require_paid_up(engine, row.organization_id, organization=organization,
                                  command=settings.slack_command)  # fmt: skip


async def switch(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, server_id: uuid.UUID, *,
    on: bool, channel_id: str | None = None,
) -> str:  # fmt: skip
    """Turn backups on (refused while the organisation owes) or off (Linode deletes them)."""
    row = await vps.server_for_actor(engine, actor, server_id)
    if on:
        await _paid_up(engine, settings, actor, row)
        call, event, message = gateway.enable_backups, "vps.backups.enable", f"Enabled backups for VPS '{row.label}'"
    else:
        await _require_enabled(engine, gateway, settings, row)
        call, event, message = gateway.cancel_backups, "vps.backups.disable", f"Disabled backups for VPS '{row.label}'"
    await linode_call(engine, settings, call(linode_id_of(row)))
    await record_vps(engine, actor, row, event, message, channel_id=channel_id)
    return row.label


async def _require_enabled(engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, row: ServerRow) -> None:
    detail = await linode_call(engine, settings, gateway.instance_detail(linode_id_of(row)))
    if not (detail.get("backups") or {}).get("enabled"):
        raise UserError(NOT_ENABLED.format(label=row.label, command=settings.slack_command))


async def schedule(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, server_id: uuid.UUID, *,
    day: str, window: str, channel_id: str | None = None,
) -> tuple[str, str | None, str | None]:  # fmt: skip
    chosen_day, chosen_window = parse_schedule(day, window)
    row = await vps.server_for_actor(engine, actor, server_id)
    await _require_enabled(engine, gateway, settings, row)
    await linode_call(engine, settings, gateway.set_backup_schedule(linode_id_of(row), chosen_day, chosen_window))
    chosen = {"day": chosen_day or AUTO, "window": chosen_window or AUTO}
    message = f"Updated backup schedule for VPS '{row.label}'"
    await record_vps(engine, actor, row, "vps.backups.schedule", message, channel_id=channel_id, metadata=chosen)
    return row.label, chosen_day, chosen_window


def check_snapshot_label(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 255:
        raise UserError("Give the snapshot a name of 1 to 255 characters, e.g. `before-upgrade`.")
    return name


async def snapshot(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, server_id: uuid.UUID, *,
    name: str, report: vps.Report, channel_id: str | None = None,
) -> str:  # fmt: skip
    """Take a snapshot now and follow it until Linode says it succeeded (or failed)."""
    name = check_snapshot_label(name)
    row = await vps.server_for_actor(engine, actor, server_id)
    await _require_enabled(engine, gateway, settings, row)
    linode_id = linode_id_of(row)
    taken = await linode_call(engine, settings, gateway.snapshot(linode_id, name))
    await record_vps(engine, actor, row, "vps.backups.snapshot",
                     f"Triggered manual snapshot for VPS '{row.label}' ({name})", channel_id=channel_id)  # fmt: skip
    status = str(taken.get("status") or "pending")
    return await _follow_snapshot(gateway, linode_id, int(taken["id"]), status, report)


async def _follow_snapshot(
    gateway: LinodeGateway, linode_id: int, backup_id: int, status: str, report: vps.Report
) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + gateway.max_wait_seconds
    seen = None
    while True:
        if status != seen:
            await report(status)
            seen = status
        if status in ("successful", "failed", "userAborted") or loop.time() >= deadline:
            return status
        await asyncio.sleep(gateway.poll_seconds)
        snap = (await gateway.backups(linode_id)).get("snapshot") or {}
        current = next((b for b in (snap.get("in_progress"), snap.get("current"))
                        if isinstance(b, dict) and b.get("id") == backup_id), None)  # fmt: skip
        status = str(current.get("status")) if current else "failed"


async def check_restore(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, server_id: uuid.UUID, *,
    backup_id: int, typed: str | None = None,
) -> tuple[ServerRow, BackupEntry]:  # fmt: skip
    """The backup (a successful one of this server) and the server (not running; the label typed)."""
    row = await vps.server_for_actor(engine, actor, server_id)
    linode_id = linode_id_of(row)
    raw = await linode_call(engine, settings, gateway.backups(linode_id))
    snapshot = raw.get("snapshot") or {}
    every = [*(raw.get("automatic") or []), snapshot.get("current"), snapshot.get("in_progress")]
    found = next((_entry(b) for b in every if isinstance(b, dict) and b.get("id") == backup_id), None)
    if found is None:
        raise UserError(f"{row.label} has no backup {backup_id}. `{settings.slack_command} vps {row.label} backups` "
                        "lists them.")  # fmt: skip
    if found.status != "successful":
        raise UserError(f"Backup {backup_id} is {found.status}; only a successful backup can be restored.")
    status = (await linode_call(engine, settings, gateway.get_instance(linode_id)))["status"]
    if status != "offline":
        raise UserError(f"{row.label} is {status}. Stop it first (`{settings.slack_command} vps {row.label} stop`): "
                        "a restore replaces its disks while it is off.")  # fmt: skip
    if typed is not None and typed.strip() != row.label:
        raise FieldErrors({"confirm": f"Type {row.label} exactly to restore this backup."})
    return row, found


async def restore(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, server_id: uuid.UUID, *,
    backup_id: int, typed: str, report: vps.Report, channel_id: str | None = None,
) -> str:  # fmt: skip
    row, _ = await check_restore(engine, gateway, settings, actor, server_id, backup_id=backup_id, typed=typed)
    linode_id = linode_id_of(row)
    await linode_call(engine, settings, gateway.restore_backup(linode_id, backup_id, overwrite=True))
    async with engine.begin() as conn:
        await servers_db.set_status(conn, row.id, "restoring")
    await record_vps(engine, actor, row, "vps.backups.restore",
                     f"Initiated restore from backup {backup_id} for VPS '{row.label}'", channel_id=channel_id,
                     metadata={"backupId": backup_id, "overwrite": True})  # fmt: skip
    return await vps.follow_status(engine, gateway, row.id, linode_id, ("offline", "running"), report=report)
