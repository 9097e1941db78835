"""Creating a server: the modal's choices, validation, and an idempotent, crash-safe provisioning
that pays before it provisions.

Order of work (each step survives a crash or a retry):
1. Before the ack: every value that came back from Slack is checked against what the bot offers
   (plan active and creatable at Linode, region, image, StackScript; the wallet in the plan's
   currency), then ONE transaction locks the wallet, refuses while the organisation owes anything,
   inserts the `provisioning` row (its id derived from the modal's view id, so a double submit
   inserts nothing) and charges hour 0 under its key `vps:<id>:hour:0`. Submissions racing on one
   wallet queue on its lock: with money for one hour, one server; the others are refused.
2. Linode create with the deterministic label ``cs-<row id hex>``. A retried POST (502) or a
   repeat hits "Label must be unique" and the existing instance is adopted, never duplicated.
   If Linode refuses (4xx), hour 0 is given back (a credit row) and the row removed, together.
3. Finalise in one transaction: Linode id, status and IP on the row, activity, rDNS job and notices.
   The sync job runs the same finalisation for a row whose instance exists but was never recorded,
   and gives hour 0 back when it removes a row that never reached Linode.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import crypto
from bot.db import billing as billing_db
from bot.db import jobs as jobs_db
from bot.db import ledger
from bot.db import servers as servers_db
from bot.db.servers import PlanRow, ServerRow
from bot.errors import UserError
from bot.linode.errors import LinodeError
from bot.linode.gateway import CreateSpec, LinodeGateway
from bot.linode.keys import InvalidSshKey, validate_public_key
from bot.money import format_money
from bot.services import arrears, billing, notices, vps
from bot.services.audit import record as audit_record
from bot.services.audit import record_for_actor
from bot.services.identity import Actor
from bot.services.passwords import generate_root_password
from bot.services.permissions import Action
from bot.settings import Settings

log = logging.getLogger(__name__)

_NAMESPACE = uuid.UUID("6f1d3c52-8d59-4c64-9a53-2f0c0b9e6a11")
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{2,63}$")
_UDF_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
_STACKSCRIPT_ID = re.compile(r"^[0-9]{1,9}$")  # ASCII digits that fit the panel's integer column
RDNS_JOB = "rdns"
POWER_OFF_JOB = "power_off"
#: Plans are priced in the panel's (and Linode's) currency; the panel has no per-plan currency.
PLAN_CURRENCY = "USD"
#: How long a submission may wait for Linode's catalogue (normally already read for the form).
CATALOGUE_WAIT_SECONDS = 2.0
#: A StackScript whose `images` holds this accepts any image.
ANY_IMAGE = "any/all"
NOT_OFFERED = {
    "plan": "That plan is not offered; choose another.",
    "region": "That region is not offered; choose another.",
    "image": "That image is not offered; choose another.",
    "stackscript": "That StackScript is not offered; choose another or none.",
}
CATALOGUE_SLOW = "Linode is slow to answer right now, so your choices could not be checked. Please submit again."
CURRENCY_MISMATCH = (
    "Plans are priced in {plan}, and this organisation's wallet is in {wallet}: a server cannot be paid in "
    "another currency than its plan's. Please contact support."
)


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
class CreateCatalogue:
    """What the create form offers: the same plans, regions, images and StackScripts the submission is
    checked against (`offered`, `check_offered`)."""

    plans: list[vps.PlanView]
    regions: list[tuple[str, str]]
    images: list[tuple[str, str]]
    stackscripts: list[StackScriptChoice]


@dataclass(frozen=True)
class CreateForm(CreateCatalogue):
    organization: str
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


async def load_create_form(
    engine: AsyncEngine, gateway: LinodeGateway, actor: Actor, *, command: str = "/cs"
) -> CreateForm:
    org_id = vps.in_org(actor)
    actor.require(Action.MANAGE_SERVERS)
    async with engine.connect() as conn:
        wallet = await ledger.read_wallet(conn, org_id)
        await arrears.check_paid_up(conn, org_id, organization=actor.org.name if actor.org else "", command=command)
    check_currency(wallet.currency if wallet else PLAN_CURRENCY)
    catalogue = await create_catalogue(engine, gateway, actor)
    return CreateForm(
        plans=catalogue.plans,
        regions=catalogue.regions,
        images=catalogue.images,
        stackscripts=catalogue.stackscripts,
        organization=actor.org.name if actor.org else "",
        balance=wallet.balance if wallet else Decimal("0"),
        currency=wallet.currency if wallet else "USD",
    )


async def create_catalogue(engine: AsyncEngine, gateway: LinodeGateway, actor: Actor) -> CreateCatalogue:
    """Every choice the create form offers (also searched by its menus when there are too many to list)."""
    vps.in_org(actor)
    actor.require(Action.MANAGE_SERVERS)
    async with engine.connect() as conn:
        plans = await servers_db.active_plans(conn)
        configs = await servers_db.enabled_stackscripts(conn)
    creatable = {t["id"] for t in await gateway.types()}
    regions = [(r["id"], r.get("label") or r["id"]) for r in await gateway.regions()]
    images = [(i["id"], i.get("label") or i["id"]) for i in await gateway.images()]
    scripts = []
    for config in configs:
        live = await gateway.stackscript(config.stackscript_id)
        if live is None:  # like the panel: scripts Linode does not return are dropped
            continue
        scripts.append(stackscript_choice(config, live))
    return CreateCatalogue(
        plans=[vps.plan_view(p) for p in plans if p.provider_plan_id in creatable],
        regions=regions,
        images=images,
        stackscripts=scripts,
    )


def stackscript_choice(config: servers_db.StackScriptConfig, live: dict[str, Any]) -> StackScriptChoice:
    return StackScriptChoice(
        id=config.stackscript_id,
        label=config.label or str(live.get("label") or config.stackscript_id),
        description=config.description or live.get("description"),
        images=tuple(live["images"]),
        fields=tuple(live["user_defined_fields"]),
    )


def check_currency(wallet_currency: str) -> None:
    """A plan is only ever charged in the currency it is priced in."""
    if wallet_currency.upper() != PLAN_CURRENCY:
        raise FieldErrors({"plan": CURRENCY_MISMATCH.format(plan=PLAN_CURRENCY, wallet=wallet_currency.upper())})


@dataclass(frozen=True)
class Offered:
    """What the bot offers in the create form, as Linode's catalogue and the panel's tables say now."""

    types: frozenset[str]
    regions: frozenset[str]
    images: frozenset[str]
    stackscript: StackScriptChoice | None


async def offered(engine: AsyncEngine, gateway: LinodeGateway, request: CreateRequest) -> Offered:
    """Read the catalogue the form was built from (normally remembered), within a short wait: this
    runs before Slack's ack."""

    async def read() -> Offered:
        script = None
        if request.stackscript_id is not None:
            async with engine.connect() as conn:
                config = await servers_db.enabled_stackscript(conn, request.stackscript_id)
            live = await gateway.stackscript(request.stackscript_id) if config is not None else None
            script = stackscript_choice(config, live) if config is not None and live is not None else None
        return Offered(
            types=frozenset(t["id"] for t in await gateway.types()),
            regions=frozenset(r["id"] for r in await gateway.regions()),
            images=frozenset(i["id"] for i in await gateway.images()),
            stackscript=script,
        )

    try:
        return await asyncio.wait_for(read(), CATALOGUE_WAIT_SECONDS)
    except (TimeoutError, LinodeError) as error:
        log.warning("vps.create_catalogue_unavailable", extra={"error": type(error).__name__})
        raise FieldErrors({"region": CATALOGUE_SLOW}) from error


def check_offered(request: CreateRequest, plan: PlanRow | None, offer: Offered) -> tuple[PlanRow, str]:
    """Every value from Slack is one the bot offered: (the plan, the region to use) or FieldErrors."""
    errors: dict[str, str] = {}
    if plan is None or plan.provider_plan_id not in offer.types:
        errors["plan"] = NOT_OFFERED["plan"]
    fixed = vps.plan_view(plan).region if plan is not None else None
    region = fixed or request.region
    if not region:
        errors["region"] = "Choose a region."
    elif region not in offer.regions:
        errors["region"] = NOT_OFFERED["region"]
    if request.stackscript_id is not None and offer.stackscript is None:
        errors["stackscript"] = NOT_OFFERED["stackscript"]
    allowed = set(offer.stackscript.images) if offer.stackscript else set()
    if request.image not in offer.images and (ANY_IMAGE in allowed or request.image not in allowed):
        errors["image"] = NOT_OFFERED["image"]
    if errors:
        raise FieldErrors(errors)
    check_stackscript(request, offer.stackscript)
    assert plan is not None and region  # checked above
    return plan, region


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
    if script and not _STACKSCRIPT_ID.match(str(script)):
        errors["stackscript"] = NOT_OFFERED["stackscript"]
    if errors:
        raise FieldErrors(errors)
    return CreateRequest(
        label=label,
        plan_id=str(raw["plan"]),
        region=str(raw["region"]) if raw.get("region") else None,
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
    if script.images and ANY_IMAGE not in script.images and request.image not in script.images:
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
    engine: AsyncEngine,
    gateway: LinodeGateway,
    settings: Settings,
    actor: Actor,
    request: CreateRequest,
    *,
    request_key: str,
) -> Pending:
    """Everything before Linode: the checks, then one transaction that writes the `provisioning` row
    and pays its first hour (or refuses and writes nothing)."""
    org_id = vps.in_org(actor)
    actor.require(Action.MANAGE_SERVERS)
    secret = vps.credential_secret(settings)
    server_id = server_id_for(request_key)
    async with engine.connect() as conn:
        existing = await servers_db.server(conn, server_id)
    if existing is not None:
        return _repeated(existing, org_id, request)
    offer = await offered(engine, gateway, request)
    async with engine.begin() as conn:
        await billing_db.lock_wallet(conn, org_id)  # concurrent creates of one organisation queue here
        existing = await servers_db.server(conn, server_id)
        if existing is not None:
            return _repeated(existing, org_id, request)
        plan, region = check_offered(request, await servers_db.offered_plan(conn, request.plan_id), offer)
        wallet = await ledger.read_wallet(conn, org_id)
        currency = wallet.currency if wallet else PLAN_CURRENCY
        check_currency(currency)
        try:
            debt = await arrears.check_paid_up(
                conn, org_id, organization=actor.org.name if actor.org else "", command=settings.slack_command
            )
        except arrears.OrganisationOwes as owes:  # in the form, next to the plan it would be paid from
            raise FieldErrors({"plan": owes.message}) from owes
        if await servers_db.server_by_label(conn, org_id, request.label) is not None:
            raise FieldErrors({"label": f"This organisation already has a server called {request.label}."})
        first_hour = billing.hour_charge(vps.plan_view(plan).monthly, 1)
        available = debt.balance - debt.hours_amount  # hours a top-up covers but no run collected yet come first
        if available < first_hour:
            raise FieldErrors({"plan": _insufficient(first_hour, available, currency, settings.slack_command)})
        password = generate_root_password()
        started = await servers_db.insert_provisioning(
            conn,
            server_id=server_id,
            organization_id=org_id,
            plan_id=str(plan.id),
            label=request.label,
            configuration=_configuration(plan, region, request, crypto.encrypt(password, secret)),
        )
        if started is None:  # cannot happen under the lock; refuse rather than provision unpaid
            raise UserError("That form was already used; open a new one with /cs vps create.")
        charged = await billing.charge_first_hour(conn, server_id, started)
        if charged is None or charged.hours_charged != 1:
            raise FieldErrors({"plan": _insufficient(first_hour, available, currency, settings.slack_command)})
    return Pending(server_id, request.label, plan.provider_plan_id, region, request, password)


def _repeated(existing: ServerRow, org_id: uuid.UUID, request: CreateRequest) -> Pending:
    """A second submit of the same form: the first one owns the row and reports its own outcome."""
    if existing.organization_id != org_id:
        raise UserError("That form was already used; open a new one with /cs vps create.")
    return Pending(existing.id, existing.label, str(existing.configuration.get("type") or ""), "", request, "",
                   repeated=True)  # fmt: skip


#: The refusal of a create the wallet cannot start paying for.
INSUFFICIENT_FUNDS = (
    "Your wallet ({balance}) does not cover the first hour of this plan ({needed}). "
    "Top up with {command} wallet topup first."
)


def _insufficient(needed: Decimal, balance: Decimal, currency: str, command: str) -> str:
    return INSUFFICIENT_FUNDS.format(
        needed=format_money(needed, currency), balance=format_money(balance, currency), command=command
    )


def _configuration(plan: PlanRow, region: str, request: CreateRequest, password_enc: str) -> dict[str, Any]:
    """`vps_instances.configuration` as the panel writes it (its console reads `auth.password_enc`)."""
    return {
        "type": plan.provider_plan_id,
        "region": region,
        "image": request.image,
        "backups": request.backups,
        "privateIP": False,
        "stackscriptId": request.stackscript_id,
        "stackscriptData": request.stackscript_data or None,
        "appSlug": None,
        "appData": None,
        "auth": {"method": "password", "user": "root", "password_enc": password_enc},
    }


async def refund_and_remove(conn: AsyncConnection, row: ServerRow, *, reason: str) -> Decimal | None:
    """A row that never became a server at Linode: give its first hour back (a credit row) and remove
    it, in the caller's transaction. Returns the amount given back (None: nothing had been charged)."""
    refunded = await billing_db.refund_first_hour(conn, row.id, label=row.label, reason=reason)
    await servers_db.delete_server(conn, row.id)
    return refunded[0] if refunded else None


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
            # Linode refused: nothing exists there; the first hour is given back and the row goes away.
            await _refused(engine, actor, pending, error, channel_id=channel_id)
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


async def _refused(
    engine: AsyncEngine, actor: Actor, pending: Pending, error: LinodeError, *, channel_id: str | None
) -> None:
    async with engine.begin() as conn:
        row = await servers_db.server(conn, pending.server_id, for_update=True)
        if row is None or row.linode_id is not None:
            return
        refunded = await refund_and_remove(conn, row, reason="linode_refused")
        await audit_record(
            conn, user_id=actor.user_id, slack=actor.slack, event_type="vps.create", entity_type="vps",
            entity_id=str(row.id), message=f"Linode refused to create server {row.label}; its first hour was refunded",
            organization_id=row.organization_id, channel_id=channel_id, status="error",
            metadata={"label": row.label, "linode_status": error.status, "reasons": error.reasons,
                      "refunded": f"{refunded:.2f}" if refunded is not None else None},
        )  # fmt: skip


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
            conn,
            row.organization_id,
            notices.server_created(row.label, ip, rate),
            dedupe_key=f"vps:created:{server_id}",
        )
    return True
