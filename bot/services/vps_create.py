"""Creating a server: the modal's choices, validation, and an idempotent, crash-safe provisioning.

Order of work (each step survives a crash or a retry):
1. Before the ack: validate, check the wallet covers the first hour, and insert the `provisioning`
   row whose id is derived from the modal's view id (a double submit inserts nothing).
2. Linode create with the deterministic label ``cs-<row id hex>``. A retried POST (502) or a
   repeat hits "Label must be unique" and the existing instance is adopted, never duplicated.
3. Finalise in one transaction: Linode id, status and IP on the row, the first-hour charge
   (conditional debit + ledger + billing cycle + ledger key), activity, rDNS job and notices.
   The sync job runs the same finalisation for a row whose instance exists but was never recorded.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import crypto
from bot.db import jobs as jobs_db
from bot.db import ledger
from bot.db import servers as servers_db
from bot.errors import UserError
from bot.linode.errors import LinodeError
from bot.linode.gateway import CreateSpec, LinodeGateway
from bot.linode.keys import InvalidSshKey, validate_public_key
from bot.money import format_money
from bot.rendering import vps as render
from bot.services import billing, vps
from bot.services.audit import record_for_actor
from bot.services.identity import Actor
from bot.services.passwords import generate_root_password
from bot.services.permissions import Action
from bot.settings import Settings

log = logging.getLogger(__name__)

_NAMESPACE = uuid.UUID("6f1d3c52-8d59-4c64-9a53-2f0c0b9e6a11")
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{2,63}$")
_UDF_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
RDNS_JOB = "rdns"
POWER_OFF_JOB = "power_off"


class FieldErrors(UserError):
    """Some fields need attention."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class StackScriptChoice:
    id: int
    label: str
    description: str | None
    images: tuple[str, ...]
    fields: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class CreateForm:
    organization: str
    plans: list[vps.PlanView]
    regions: list[tuple[str, str]]
    images: list[tuple[str, str]]
    stackscripts: list[StackScriptChoice]
    balance: Decimal
    currency: str


@dataclass(frozen=True)
class CreateRequest:
    label: str
    plan_id: str
    region: str | None
    image: str
    ssh_key: str | None = None
    backups: bool = False
    stackscript_id: int | None = None
    stackscript_data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pending:
    """A `provisioning` row waiting for Linode; the password lives only here and in the envelope."""

    server_id: uuid.UUID
    label: str
    linode_type: str
    region: str
    request: CreateRequest
    root_pass: str = field(repr=False)
    repeated: bool = False


def linode_label(server_id: uuid.UUID) -> str:
    """Deterministic and valid for Linode (starts with a letter, 35 chars of [a-z0-9-])."""
    return f"cs-{server_id.hex}"


def server_id_for(request_key: str) -> uuid.UUID:
    """The row id for one submission (``team:user:view_id:label``): a repeated submit maps to the same row."""
    return uuid.uuid5(_NAMESPACE, request_key)


async def load_create_form(engine: AsyncEngine, gateway: LinodeGateway, actor: Actor) -> CreateForm:
    org_id = vps.in_org(actor)
    actor.require(Action.MANAGE_SERVERS)
    async with engine.connect() as conn:
        plans = [vps.plan_view(p) for p in await servers_db.active_plans(conn)]
        wallet = await ledger.read_wallet(conn, org_id)
        configs = await servers_db.enabled_stackscripts(conn)
    regions = [(r["id"], r.get("label") or r["id"]) for r in await gateway.regions()]
    images = [(i["id"], i.get("label") or i["id"]) for i in await gateway.images()]
    scripts = []
    for config in configs:
        live = await gateway.stackscript(config.stackscript_id)
        if live is None:  # like the panel: scripts Linode does not return are dropped
            continue
        scripts.append(
            StackScriptChoice(
                id=config.stackscript_id,
                label=config.label or str(live.get("label") or config.stackscript_id),
                description=config.description or live.get("description"),
                images=tuple(live["images"]),
                fields=tuple(live["user_defined_fields"]),
            )
        )
    return CreateForm(
        organization=actor.org.name if actor.org else "",
        plans=plans,
        regions=regions,
        images=images,
        stackscripts=scripts,
        balance=wallet.balance if wallet else Decimal("0"),
        currency=wallet.currency if wallet else "USD",
    )


def validate_label(label: str) -> str:
    label = label.strip()
    if not _LABEL.match(label) or any(d in label for d in ("--", "__", "..")):
        raise FieldErrors(
            {"label": "Use 3–64 letters, digits, '-', '_' or '.', starting with a letter (no doubled symbols)."}
        )
    return label


def parse_stackscript_data(text: str) -> dict[str, str]:
    """``NAME=value`` lines (blank lines ignored) into the UDF object Linode expects."""
    data: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _UDF_LINE.match(line)
        if match is None:
            raise FieldErrors({"stackscript_data": f"Write one NAME=value per line; cannot read “{line.strip()}”."})
        data[match.group(1)] = match.group(2).strip()
    return data


def validate_request(raw: dict[str, Any]) -> CreateRequest:
    """Check the submitted fields; every problem is reported on its own field."""
    errors: dict[str, str] = {}
    label = ""
    try:
        label = validate_label(str(raw.get("label") or ""))
    except FieldErrors as bad:
        errors.update(bad.errors)
    ssh_key = None
    if str(raw.get("ssh_key") or "").strip():
        try:
            ssh_key = validate_public_key(str(raw["ssh_key"]))
        except InvalidSshKey as bad:
            errors["ssh_key"] = str(bad)
    for name, missing in (("plan", "Choose a plan."), ("image", "Choose an image.")):
        if not raw.get(name):
            errors[name] = missing
    data: dict[str, str] = {}
    try:
        data = parse_stackscript_data(str(raw.get("stackscript_data") or ""))
    except FieldErrors as bad:
        errors.update(bad.errors)
    script = raw.get("stackscript")
    if errors:
        raise FieldErrors(errors)
    return CreateRequest(
        label=label,
        plan_id=str(raw["plan"]),
        region=raw.get("region") or None,
        image=str(raw["image"]),
        ssh_key=ssh_key,
        backups=bool(raw.get("backups")),
        stackscript_id=int(script) if script else None,
        stackscript_data=data,
    )


def check_stackscript(request: CreateRequest, script: StackScriptChoice | None) -> None:
    """Required user-defined fields present, ``oneOf`` respected, the image allowed by the script."""
    if request.stackscript_id is None:
        if request.stackscript_data:
            raise FieldErrors({"stackscript_data": "These values need a StackScript; choose one or clear them."})
        return
    if script is None:
        raise FieldErrors({"stackscript": "That StackScript is not available any more."})
    errors = {}
    if script.images and request.image not in script.images:
        errors["image"] = f"{script.label} runs on: {', '.join(script.images)}."
    known = {str(f.get("name")): f for f in script.fields}
    problems = [f"unknown field {name}" for name in request.stackscript_data if name not in known]
    for name, spec in known.items():
        value = request.stackscript_data.get(name)
        if not value and "default" not in spec:
            problems.append(f"{name} is required")
        elif value and spec.get("oneOf") and value not in str(spec["oneOf"]).split(","):
            problems.append(f"{name} must be one of {spec['oneOf']}")
    if problems:
        joined = "; ".join(problems)
        errors["stackscript_data"] = joined[:1].upper() + joined[1:] + "."
    if errors:
        raise FieldErrors(errors)


async def begin_create(
    engine: AsyncEngine, settings: Settings, actor: Actor, request: CreateRequest, *, request_key: str
) -> Pending:
    """Everything before Linode, in one transaction: checks, and the `provisioning` row."""
    org_id = vps.in_org(actor)
    actor.require(Action.MANAGE_SERVERS)
    secret = vps.credential_secret(settings)
    server_id = server_id_for(request_key)
    async with engine.begin() as conn:
        existing = await servers_db.server(conn, server_id)
        plan = await servers_db.plan(conn, request.plan_id)
        if existing is not None and existing.organization_id != org_id:
            raise UserError("That form was already used; open a new one with /cs vps create.")
        if existing is not None and plan is not None:
            return Pending(server_id, existing.label, plan.provider_plan_id, "", request, "", repeated=True)
        if plan is None:
            raise FieldErrors({"plan": "That plan is no longer offered; choose another."})
        view = vps.plan_view(plan)
        region = view.region or request.region
        if not region:
            raise FieldErrors({"region": "Choose a region."})
        if await servers_db.server_by_label(conn, org_id, request.label) is not None:
            raise FieldErrors({"label": f"This organisation already has a server called {request.label}."})
        first_hour = billing.hour_charge(view.monthly, 1)
        wallet = await ledger.read_wallet(conn, org_id)
        balance = wallet.balance if wallet else Decimal("0")
        if balance < first_hour:
            currency = wallet.currency if wallet else "USD"
            raise FieldErrors(
                {"plan": render.INSUFFICIENT_FUNDS.format(
                    needed=format_money(first_hour, currency), balance=format_money(balance, currency),
                    command=settings.slack_command)}
            )  # fmt: skip
        password = generate_root_password()
        configuration = {
            "type": plan.provider_plan_id,
            "region": region,
            "image": request.image,
            "backups": request.backups,
            "privateIP": False,
            "stackscriptId": request.stackscript_id,
            "stackscriptData": request.stackscript_data or None,
            "appSlug": None,
            "appData": None,
            "auth": {"method": "password", "user": "root", "password_enc": crypto.encrypt(password, secret)},
        }
        inserted = await servers_db.insert_provisioning(
            conn,
            server_id=server_id,
            organization_id=org_id,
            plan_id=str(plan.id),
            label=request.label,
            configuration=configuration,
        )
    return Pending(server_id, request.label, plan.provider_plan_id, region, request, password, repeated=not inserted)


async def provision(
    engine: AsyncEngine,
    gateway: LinodeGateway,
    settings: Settings,
    actor: Actor,
    pending: Pending,
    *,
    report: vps.Report,
    channel_id: str | None = None,
) -> vps.ServerView:
    """Call Linode, finalise, and follow the server until it runs (reporting each status)."""
    spec = CreateSpec(
        label=linode_label(pending.server_id),
        type=pending.linode_type,
        region=pending.region,
        image=pending.request.image,
        root_pass=pending.root_pass,
        authorized_keys=(pending.request.ssh_key,) if pending.request.ssh_key else (),
        backups=pending.request.backups,
        stackscript_id=pending.request.stackscript_id,
        stackscript_data=pending.request.stackscript_data,
    )
    try:
        instance = await gateway.create_instance(spec)
    except LinodeError as error:
        if not error.transient:
            # Linode refused: nothing exists there and nothing was charged; the row goes away.
            async with engine.begin() as conn:
                await servers_db.delete_server(conn, pending.server_id)
            await vps.alert_auth_failure(engine, settings, error)
        raise
    await finalize(engine, settings, pending.server_id, instance, actor=actor, channel_id=channel_id)
    try:
        await follow_status(engine, gateway, pending.server_id, instance["id"], report)
    except LinodeError as error:  # the server exists and is paid for; the sync job keeps its status current
        log.warning("vps.create_follow_failed", extra={"server_id": str(pending.server_id), "error": error.message})
    async with engine.connect() as conn:
        row = await servers_db.server(conn, pending.server_id)
        if row is None:
            raise vps.ServerNotFound("The server was deleted while it was being created.")
        return await vps.server_view(conn, row)


async def follow_status(
    engine: AsyncEngine, gateway: LinodeGateway, server_id: uuid.UUID, linode_id: int, report: vps.Report
) -> str:
    return await vps.follow_status(engine, gateway, server_id, linode_id, ("running", "offline"), report=report)


async def finalize(
    engine: AsyncEngine,
    settings: Settings,
    server_id: uuid.UUID,
    instance: dict[str, Any],
    *,
    actor: Actor | None,
    channel_id: str | None = None,
) -> bool:
    """Record the Linode instance on its row and charge the first hour, once; False if already done."""
    ip = instance["ipv4"][0] if instance["ipv4"] else None
    async with engine.begin() as conn:
        row = await servers_db.server(conn, server_id, for_update=True)
        if row is None:
            return False
        first_time = row.linode_id is None
        await servers_db.set_provisioned(conn, server_id, linode_id=instance["id"], status=instance["status"], ip=ip)
        plan = await servers_db.plan(conn, row.plan_id)
        rate = vps.hourly_rate(plan)
        # Hour 0 goes through the billing engine: the same ledger key (`vps:<id>:hour:0`) and
        # rounding as every later hour, so no path can charge it twice.
        charged = await billing.charge_first_hour(conn, server_id)
        if charged is not None and charged.hours_unpaid:
            await vps.alert_staff(
                conn,
                settings,
                "A new server could not be charged its first hour",
                [f"Server {row.label} ({server_id})", f"Needed {charged.amount_unpaid}; recorded as unpaid"],
                dedupe_key=f"vps:first-hour-unpaid:{server_id}",
            )
        if not first_time:
            return False
        metadata = {
            "label": row.label,
            "type": row.configuration.get("type"),
            "region": row.configuration.get("region"),
            "image": row.configuration.get("image"),
            "hourlyRate": f"{rate:.4f}",
            "linode_id": instance["id"],
            "adopted": bool(instance.get("adopted")),
            "charged": f"{charged.amount_charged:.2f}" if charged and charged.hours_charged else None,
        }
        message = f"Created server {row.label}"
        if actor is not None:
            await record_for_actor(
                conn, actor, event_type="vps.create", entity_type="vps", entity_id=str(server_id), message=message,
                organization_id=row.organization_id, channel_id=channel_id, metadata=metadata,
            )  # fmt: skip
        else:
            await vps.record_system(conn, row.organization_id, "vps.create", server_id, message, metadata=metadata)
        await jobs_db.enqueue(conn, RDNS_JOB, {"server_id": str(server_id)}, dedupe_key=f"rdns:{server_id}")
        await vps.notify_org(
            conn, row.organization_id, render.created_notice(row.label, ip, rate), dedupe_key=f"vps:created:{server_id}"
        )
    return True
