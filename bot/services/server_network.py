"""A server's network settings from Slack: Cloud Firewalls (attach, detach), hostname and reverse DNS.

Cloud Firewalls live on the reseller's one Linode account, which every organisation shares. The
panel offers each customer all of them; the bot offers an organisation only the firewalls that
protect no other organisation's server, so one customer can neither see nor join another's rules.
Detaching uses the device Linode holds for this server. The hostname is the Linode label and the
server's label, changed together with the panel's validation (3–64 letters, digits, `.`, `_`, `-`);
Linode adds its own rules (start with a letter, no doubled symbols) and answers in its words.
Activity rows are the panel's: `vps.firewall.attach|detach`, `vps.hostname.update`, `vps.network.rdns`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import server_page as page_db
from bot.db import servers as servers_db
from bot.db.servers import ServerRow
from bot.errors import UserError
from bot.linode.gateway import LinodeGateway
from bot.services import vps
from bot.services.audit import record_for_actor
from bot.services.identity import Actor
from bot.services.server_common import linode_call, linode_id_of, record_vps
from bot.settings import Settings

_HOSTNAME = re.compile(r"[a-zA-Z0-9._-]+")


@dataclass(frozen=True)
class FirewallChoice:
    id: int
    label: str
    status: str
    inbound_policy: str | None
    rules: int
    attached: bool


async def offered(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, row: ServerRow
) -> list[FirewallChoice]:
    """The account's firewalls this organisation may use, marking those on ``row``'s server."""
    linode_id = linode_id_of(row)
    everything = await linode_call(engine, settings, gateway.firewalls())
    entity_ids = {int(e["id"]) for f in everything for e in f.get("entities") or [] if e.get("type") == "linode"}
    async with engine.connect() as conn:
        owner_of = await page_db.owners(conn, sorted(entity_ids))
    choices = []
    for firewall in everything:
        linodes = [int(e["id"]) for e in firewall.get("entities") or [] if e.get("type") == "linode"]
        if any(owner_of.get(i, row.organization_id) != row.organization_id for i in linodes):
            continue  # protects another organisation's server
        rules = firewall.get("rules") or {}
        choices.append(FirewallChoice(int(firewall["id"]), str(firewall.get("label") or firewall["id"]),
                                      str(firewall.get("status") or ""), rules.get("inbound_policy"),
                                      len(rules.get("inbound") or []) + len(rules.get("outbound") or []),
                                      linode_id in linodes))  # fmt: skip
    return choices


def _pick(choices: list[FirewallChoice], wanted: str, organization: str) -> FirewallChoice:
    exact = [c for c in choices if c.label == wanted or str(c.id) == wanted]
    loose = exact or [c for c in choices if c.label.lower() == wanted.lower()]
    if len(loose) != 1:
        raise UserError(f"No Cloud Firewall called {wanted} is available to {organization or 'this organisation'}.")
    return loose[0]


async def firewall_choices(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, label: str
) -> tuple[vps.ServerView, list[FirewallChoice]]:
    """For the firewall picker and `/cs vps <label> firewall` (members may look)."""
    view = await vps.find_server(engine, actor, label)
    async with engine.connect() as conn:
        row = await servers_db.server(conn, view.id)
    if row is None:
        raise vps.ServerNotFound()
    return view, await offered(engine, gateway, settings, row)


async def attach(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, server_id: uuid.UUID, *,
    firewall: str, channel_id: str | None = None,
) -> tuple[str, str]:  # fmt: skip
    row = await vps.server_for_actor(engine, actor, server_id)
    chosen = _pick(await offered(engine, gateway, settings, row), firewall, actor.org.name if actor.org else "")
    if chosen.attached:
        raise UserError(f"{chosen.label} already protects {row.label}.")
    await linode_call(engine, settings, gateway.attach_firewall(chosen.id, linode_id_of(row)))
    await record_vps(engine, actor, row, "vps.firewall.attach", f"Attached firewall {chosen.id} to VPS '{row.label}'",
                     channel_id=channel_id, metadata={"firewallId": chosen.id})  # fmt: skip
    return row.label, chosen.label


async def detach(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, server_id: uuid.UUID, *,
    firewall: str, channel_id: str | None = None,
) -> tuple[str, str]:  # fmt: skip
    row = await vps.server_for_actor(engine, actor, server_id)
    linode_id = linode_id_of(row)
    attached = [c for c in await offered(engine, gateway, settings, row) if c.attached]
    try:
        chosen = _pick(attached, firewall, "")
    except UserError:
        raise UserError(f"No Cloud Firewall called {firewall} protects {row.label}.") from None
    devices = await linode_call(engine, settings, gateway.firewall_devices(chosen.id))
    device = next((d for d in devices if (d.get("entity") or {}).get("id") == linode_id), None)
    if device is None:
        raise UserError(f"No Cloud Firewall called {firewall} protects {row.label}.")
    await linode_call(engine, settings, gateway.detach_firewall(chosen.id, int(device["id"])))
    ids = {"firewallId": chosen.id, "deviceId": int(device["id"])}
    message = f"Detached firewall {chosen.id} from VPS '{row.label}'"
    await record_vps(engine, actor, row, "vps.firewall.detach", message, channel_id=channel_id, metadata=ids)
    return row.label, chosen.label


def check_hostname(hostname: str) -> str:
    """The panel's rules, with its messages."""
    name = hostname.strip()
    if not name:
        raise UserError("Hostname is required")
    if not 3 <= len(name) <= 64:
        raise UserError("Hostname must be between 3 and 64 characters")
    if not _HOSTNAME.fullmatch(name):
        raise UserError("Hostname can only contain letters, numbers, hyphens, underscores, and periods")
    return name


async def set_hostname(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, server_id: uuid.UUID, *,
    hostname: str, channel_id: str | None = None,
) -> tuple[str, str]:  # fmt: skip
    """Rename at Linode, then the row (its label is how the panel and `/cs vps` name it)."""
    name = check_hostname(hostname)
    row = await vps.server_for_actor(engine, actor, server_id)
    async with engine.connect() as conn:
        if await page_db.label_taken(conn, row.organization_id, row.id, name):
            raise UserError(f"This organisation already has a server called {name}.")
    await linode_call(engine, settings, gateway.set_label(linode_id_of(row), name))
    async with engine.begin() as conn:
        await page_db.set_label(conn, row.id, name)
        await record_for_actor(
            conn, actor, event_type="vps.hostname.update", entity_type="vps", entity_id=str(row.id),
            message=f"Updated hostname for VPS '{row.label}' to '{name}'", organization_id=row.organization_id,
            channel_id=channel_id, metadata={"oldHostname": row.label, "newHostname": name},
        )  # fmt: skip
    return row.label, name


async def set_rdns(
    engine: AsyncEngine, gateway: LinodeGateway, settings: Settings, actor: Actor, server_id: uuid.UUID, *,
    address: str | None, rdns: str | None, channel_id: str | None = None,
) -> tuple[str, str, str | None]:  # fmt: skip
    """Reverse DNS of one of the server's own addresses (its first public IPv4 when none is named);
    ``rdns`` None resets Linode's default name."""
    row = await vps.server_for_actor(engine, actor, server_id)
    instance = await linode_call(engine, settings, gateway.get_instance(linode_id_of(row)))
    addresses = [a for a in instance["ipv4"] if not a.startswith(("10.", "192.168."))]
    ip = (address or (addresses[0] if addresses else "")).strip()
    if ip not in addresses:
        raise UserError("Address not assigned to this instance")
    value = rdns.strip() if rdns and rdns.strip() else None
    await linode_call(engine, settings, gateway.set_rdns(ip, value))
    await record_vps(engine, actor, row, "vps.network.rdns", f"Updated rDNS for {ip} on VPS '{row.label}'",
                     channel_id=channel_id, metadata={"ip": ip, "rdns": value})  # fmt: skip
    return row.label, ip, value
