"""SQL for servers as the panel stores them: vps_instances, vps_plans, StackScript configs, rDNS base
domain and the Linode provider row. Status values follow the panel (``offline`` is stored ``stopped``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

DEFAULT_RDNS_BASE = "ip.rev.skyvps360.xyz"


@dataclass(frozen=True)
class PlanRow:
    id: uuid.UUID
    name: str
    provider_plan_id: str
    base_price: Decimal
    markup_price: Decimal
    specifications: dict[str, Any]


@dataclass(frozen=True)
class ServerRow:
    id: uuid.UUID
    organization_id: uuid.UUID
    plan_id: str
    provider_instance_id: str
    label: str
    status: str
    ip_address: str | None
    configuration: dict[str, Any]
    created_at: datetime
    last_billed_at: datetime | None

    @property
    def linode_id(self) -> int | None:
        return int(self.provider_instance_id) if self.provider_instance_id.isdigit() else None


@dataclass(frozen=True)
class StackScriptConfig:
    stackscript_id: int
    label: str | None
    description: str | None


_PLAN_COLUMNS = (
    "id, name, provider_plan_id, coalesce(base_price, 0) AS base_price, coalesce(markup_price, 0) AS markup_price, "
    "coalesce(specifications, '{}'::jsonb) AS specifications"
)
_SERVER_COLUMNS = (
    "id, organization_id, plan_id, provider_instance_id, label, coalesce(status, 'provisioning') AS status, "
    "host(ip_address) AS ip_address, coalesce(configuration, '{}'::jsonb) AS configuration, created_at, last_billed_at"
)
#: Plans the bot offers: active, and Linode's (no provider, as older panel rows, or a `linode` provider
#: row) — never the panel's seeded DigitalOcean plans, which Linode cannot create.
_OFFERED = (
    "active AND (provider_id IS NULL OR EXISTS (SELECT 1 FROM service_providers s "
    "WHERE s.id = vps_plans.provider_id AND s.type = 'linode'))"
)
_ACTIVE_PLANS = text(f"SELECT {_PLAN_COLUMNS} FROM vps_plans WHERE {_OFFERED} ORDER BY coalesce(base_price, 0) + "
                     "coalesce(markup_price, 0), name")  # fmt: skip
_OFFERED_PLAN = text(f"SELECT {_PLAN_COLUMNS} FROM vps_plans WHERE id::text = :plan AND {_OFFERED}")
_PLAN = text(f"SELECT {_PLAN_COLUMNS} FROM vps_plans WHERE id::text = :plan OR provider_plan_id = :plan "
             "ORDER BY (id::text = :plan) DESC LIMIT 1")  # fmt: skip
_ORG_SERVERS = text(
    f"SELECT {_SERVER_COLUMNS} FROM vps_instances WHERE organization_id = :org ORDER BY created_at, id "
    "LIMIT :limit OFFSET :offset"
)
_COUNT_ORG_SERVERS = text("SELECT count(*) FROM vps_instances WHERE organization_id = :org")
#: How many of the organisation's servers come before this one in the list's order (created_at, id).
_SERVER_POSITION = text(
    "SELECT count(*) FROM vps_instances v, vps_instances me WHERE me.id = :id AND v.organization_id = :org "
    "AND me.organization_id = :org AND (v.created_at, v.id) < (me.created_at, me.id)"
)
_SERVER_BY_LABEL = text(
    f"SELECT {_SERVER_COLUMNS} FROM vps_instances WHERE organization_id = :org AND lower(label) = lower(:label) "
    "ORDER BY created_at LIMIT 1"
)
_SERVER = text(f"SELECT {_SERVER_COLUMNS} FROM vps_instances WHERE id = :id")
_SERVER_FOR_UPDATE = text(f"SELECT {_SERVER_COLUMNS} FROM vps_instances WHERE id = :id FOR UPDATE")
_ALL_SERVERS = text(
    f"SELECT {_SERVER_COLUMNS} FROM vps_instances WHERE provider_type IS NULL OR provider_type = 'linode' "
    "ORDER BY created_at"
)
_INSERT = text(
    """
    INSERT INTO vps_instances (id, organization_id, plan_id, provider_instance_id, label, status, configuration)
    VALUES (:id, :org, :plan, '', :label, 'provisioning', CAST(:configuration AS jsonb))
    ON CONFLICT (id) DO NOTHING RETURNING created_at
    """
)
_SET_PROVISIONED = text(
    """
    UPDATE vps_instances SET provider_instance_id = :linode_id, status = :status,
        ip_address = coalesce(CAST(:ip AS inet), ip_address)
    WHERE id = :id
    """
)
_SET_STATUS = text(
    "UPDATE vps_instances SET status = :status, ip_address = coalesce(CAST(:ip AS inet), ip_address) WHERE id = :id"
)
_SET_PLAN = text(
    """
    UPDATE vps_instances SET plan_id = :plan,
        configuration = jsonb_set(coalesce(configuration, '{}'::jsonb), '{type}', to_jsonb(CAST(:type AS text)))
    WHERE id = :id
    """
)
_MERGE_CONFIGURATION = text(
    "UPDATE vps_instances SET configuration = coalesce(configuration, '{}'::jsonb) || CAST(:patch AS jsonb) "
    "WHERE id = :id"
)
_DELETE = text("DELETE FROM vps_instances WHERE id = :id RETURNING id")
_ENABLED_STACKSCRIPT = text(
    "SELECT stackscript_id, label, description FROM vps_stackscript_configs WHERE is_enabled AND stackscript_id = :id"
)
_STACKSCRIPTS = text(
    "SELECT stackscript_id, label, description FROM vps_stackscript_configs WHERE is_enabled "
    "ORDER BY display_order, created_at, stackscript_id"
)
_RDNS_BASE = text("SELECT rdns_base_domain FROM networking_config ORDER BY updated_at DESC NULLS LAST LIMIT 1")
_LINODE_KEY = text(
    "SELECT api_key_encrypted FROM service_providers WHERE type = 'linode' AND active "
    "ORDER BY updated_at DESC, created_at DESC LIMIT 1"
)


def stored_status(linode_status: str | None) -> str:
    """The panel's stored value for a Linode status: offline → stopped, none → unknown."""
    if not linode_status:
        return "unknown"
    return "stopped" if linode_status == "offline" else linode_status


def _plan(row: Any) -> PlanRow:
    return PlanRow(**row._mapping)


def _server(row: Any) -> ServerRow:
    return ServerRow(**row._mapping)


async def active_plans(conn: AsyncConnection) -> list[PlanRow]:
    """The plans the bot offers (active, Linode's), cheapest first."""
    return [_plan(r) for r in (await conn.execute(_ACTIVE_PLANS)).all()]


async def offered_plan(conn: AsyncConnection, plan_id: str) -> PlanRow | None:
    """The plan with this uuid if the bot offers it (see `active_plans`), else None."""
    row = (await conn.execute(_OFFERED_PLAN, {"plan": plan_id})).first()
    return None if row is None else _plan(row)


async def plan(conn: AsyncConnection, plan_id: str) -> PlanRow | None:
    """The plan a vps_instances.plan_id points at (its uuid as text, or a Linode type id)."""
    row = (await conn.execute(_PLAN, {"plan": plan_id})).first()
    return None if row is None else _plan(row)


async def org_servers(conn: AsyncConnection, organization_id: uuid.UUID, *, limit: int, offset: int) -> list[ServerRow]:
    params = {"org": organization_id, "limit": limit, "offset": offset}
    return [_server(r) for r in (await conn.execute(_ORG_SERVERS, params)).all()]


async def count_org_servers(conn: AsyncConnection, organization_id: uuid.UUID) -> int:
    return int((await conn.execute(_COUNT_ORG_SERVERS, {"org": organization_id})).scalar_one())


async def server_position(conn: AsyncConnection, organization_id: uuid.UUID, server_id: uuid.UUID) -> int:
    """The server's index in `org_servers`' order (0 when it is not the organisation's)."""
    params = {"org": organization_id, "id": server_id}
    return int((await conn.execute(_SERVER_POSITION, params)).scalar_one())


async def server_by_label(conn: AsyncConnection, organization_id: uuid.UUID, label: str) -> ServerRow | None:
    row = (await conn.execute(_SERVER_BY_LABEL, {"org": organization_id, "label": label})).first()
    return None if row is None else _server(row)


async def server(conn: AsyncConnection, server_id: uuid.UUID, *, for_update: bool = False) -> ServerRow | None:
    row = (await conn.execute(_SERVER_FOR_UPDATE if for_update else _SERVER, {"id": server_id})).first()
    return None if row is None else _server(row)


async def all_servers(conn: AsyncConnection) -> list[ServerRow]:
    return [_server(r) for r in (await conn.execute(_ALL_SERVERS)).all()]


async def insert_provisioning(
    conn: AsyncConnection,
    *,
    server_id: uuid.UUID,
    organization_id: uuid.UUID,
    plan_id: str,
    label: str,
    configuration: dict[str, Any],
) -> datetime | None:
    """Insert the `provisioning` row before Linode is called: its created_at (the start of hour 0),
    or None if this id already exists."""
    params = {
        "id": server_id,
        "org": organization_id,
        "plan": plan_id,
        "label": label,
        "configuration": json.dumps(configuration),
    }
    return (await conn.execute(_INSERT, params)).scalar_one_or_none()


async def set_provisioned(
    conn: AsyncConnection, server_id: uuid.UUID, *, linode_id: int, status: str, ip: str | None
) -> None:
    params = {"id": server_id, "linode_id": str(linode_id), "status": stored_status(status), "ip": ip}
    await conn.execute(_SET_PROVISIONED, params)


async def set_status(conn: AsyncConnection, server_id: uuid.UUID, status: str, ip: str | None = None) -> None:
    await conn.execute(_SET_STATUS, {"id": server_id, "status": status, "ip": ip})


async def set_plan(conn: AsyncConnection, server_id: uuid.UUID, plan_id: str, linode_type: str) -> None:
    await conn.execute(_SET_PLAN, {"id": server_id, "plan": plan_id, "type": linode_type})


async def merge_configuration(conn: AsyncConnection, server_id: uuid.UUID, patch: dict[str, Any]) -> None:
    await conn.execute(_MERGE_CONFIGURATION, {"id": server_id, "patch": json.dumps(patch)})


async def delete_server(conn: AsyncConnection, server_id: uuid.UUID) -> bool:
    return (await conn.execute(_DELETE, {"id": server_id})).first() is not None


async def enabled_stackscript(conn: AsyncConnection, stackscript_id: int) -> StackScriptConfig | None:
    row = (await conn.execute(_ENABLED_STACKSCRIPT, {"id": stackscript_id})).first()
    return None if row is None else StackScriptConfig(**row._mapping)


async def enabled_stackscripts(conn: AsyncConnection) -> list[StackScriptConfig]:
    return [StackScriptConfig(**r._mapping) for r in (await conn.execute(_STACKSCRIPTS)).all()]


async def rdns_base_domain(conn: AsyncConnection) -> str:
    """The newest networking_config row's base domain, trimmed of spaces and dots; else the default."""
    value = (await conn.execute(_RDNS_BASE)).scalar_one_or_none()
    cleaned = str(value or "").strip().strip(".")
    return cleaned or DEFAULT_RDNS_BASE


_PASSWORD_ENVELOPE = text(
    "SELECT configuration->'auth'->>'password_enc' FROM vps_instances "
    "WHERE configuration->'auth'->>'password_enc' IS NOT NULL ORDER BY created_at DESC LIMIT 1"
)


async def newest_password_envelope(conn: AsyncConnection) -> str | None:
    """The newest server's encrypted root password (the panel's envelope), to test SSH_CRED_SECRET on."""
    value = (await conn.execute(_PASSWORD_ENVELOPE)).scalar_one_or_none()
    return str(value) if value else None


async def linode_provider_key(conn: AsyncConnection) -> str | None:
    """api_key_encrypted of the newest active linode provider row (an envelope or legacy plaintext)."""
    value = (await conn.execute(_LINODE_KEY)).scalar_one_or_none()
    return str(value) if value else None
