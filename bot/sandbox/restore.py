"""After a restart, the Linode emulator (in memory, empty) gets back the servers the database keeps.

Without this the sandbox shows two worlds: `/cs vps` lists servers as running, and the first Linode
sync then finds none of them and marks each "no longer exists". Each server with a Linode id is
recreated in the emulator under the same id, deterministic label, type, region, image and IPv4, in
the state the database last saw (a transition in flight is taken as finished).
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import servers as servers_db
from bot.emulators.linode import LinodeEmulator
from bot.services.vps_create import linode_label

log = logging.getLogger(__name__)

#: Stored status → the emulator's settled status (`offline` is stored as `stopped`, as the panel does);
#: anything else (running, unknown) comes back running.
_SETTLED = {
    "stopped": "offline",
    "offline": "offline",
    "shutting_down": "offline",
    "provisioning": "running",
    "booting": "running",
    "rebooting": "running",
    "rebuilding": "running",
    "migrating": "running",
    "resizing": "running",
}
_GONE = frozenset({"error", "deleted", "deleting"})


async def restore_servers(engine: AsyncEngine, linode: LinodeEmulator) -> list[str]:
    """Recreate every stored server the emulator does not know; returns their labels."""
    async with engine.connect() as conn:
        rows = await servers_db.all_servers(conn)
        plans = {row.plan_id: await servers_db.plan(conn, row.plan_id) for row in rows}
    restored = []
    for row in rows:
        if row.linode_id is None or row.status in _GONE or row.linode_id in linode.instances:
            continue
        plan = plans.get(row.plan_id)
        config = row.configuration
        try:
            linode.restore_instance(
                row.linode_id,
                label=linode_label(row.id),
                type=str(config.get("type") or (plan.provider_plan_id if plan else "")),
                region=str(config.get("region") or "us-east"),
                image=config.get("image"),
                status=_SETTLED.get(row.status, "running"),
                ipv4=row.ip_address,
            )
        except ValueError as error:  # a row the emulator cannot hold (unknown type); the sync will flag it
            log.warning("sandbox.restore_skipped", extra={"server": row.label, "reason": str(error)})
            continue
        restored.append(row.label)
    return restored
