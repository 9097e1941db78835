"""Servers of an organisation: listing, one server, the plan catalogue and prices, and the shared
pieces the create/action/sync flows use (Linode token, notices, status polling)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import crypto
from bot.db import notify_targets
from bot.db import servers as servers_db
from bot.db.activity import insert_activity
from bot.db.outbox import enqueue
from bot.db.servers import PlanRow, ServerRow
from bot.errors import UserError
from bot.linode.errors import LinodeError, LinodeFailure
from bot.linode.gateway import LinodeGateway
from bot.services import notices
from bot.services.audit import SLACK_USER_AGENT
from bot.services.identity import Actor
from bot.services.paging import Span, clamp, read_page
from bot.services.permissions import Action, allowed
from bot.settings import Settings

log = logging.getLogger(__name__)

HOURS_PER_MONTH = Decimal(730)
#: The panel bills a server whose plan_id matches no plan at this rate (billingService.ts).
DEFAULT_HOURLY_RATE = Decimal("0.027")
Report = Callable[[str], Awaitable[None]]
#: Servers on one page of `/cs vps`: each is a line and a row of buttons, within Slack's 50 blocks.
LIST_PAGE = 15


class NoOrganisation(UserError):
    """You are not acting in an organisation yet. Create one with /cs org create or pick one with /cs org use."""


class ServerNotFound(UserError):
    """No server with that label in this organisation. Type /cs vps to see your servers."""


@dataclass(frozen=True)
class PlanView:
    id: uuid.UUID
    name: str
    linode_type: str
    hourly: Decimal
    monthly: Decimal
    region: str | None
    specs: dict[str, Any]


@dataclass(frozen=True)
class ServerView:
    id: uuid.UUID
    label: str
    status: str
    ip_address: str | None
    plan_id: str
    plan_name: str | None
    region: str | None
    image: str | None
    hourly: Decimal
    linode_id: int | None
    created_at: datetime
    last_billed_at: datetime | None


@dataclass(frozen=True)
class ServerList:
    """One page of an organisation's servers."""

    organization: str
    servers: list[ServerView]
    can_manage: bool
    organization_id: uuid.UUID  # what the list's Create and page buttons are bound to
    span: Span


def hourly_rate(plan: PlanRow | None) -> Decimal:
    """(base_price + markup_price) / 730, as the panel computes it; 0.027 when no plan matches."""
    if plan is None:
        return DEFAULT_HOURLY_RATE
    return (plan.base_price + plan.markup_price) / HOURS_PER_MONTH


def plan_view(plan: PlanRow) -> PlanView:
    region = plan.specifications.get("region")
    return PlanView(
        id=plan.id,
        name=plan.name,
        linode_type=plan.provider_plan_id,
        hourly=hourly_rate(plan),
        monthly=(plan.base_price + plan.markup_price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        region=str(region) if region else None,
        specs=plan.specifications,
    )


async def server_view(conn: AsyncConnection, row: ServerRow) -> ServerView:
    plan = await servers_db.plan(conn, row.plan_id)
    return ServerView(
        id=row.id,
        label=row.label,
        status=row.status,
        ip_address=row.ip_address,
        plan_id=row.plan_id,
        plan_name=plan.name if plan else None,
        region=row.configuration.get("region"),
        image=row.configuration.get("image"),
        hourly=hourly_rate(plan),
        linode_id=row.linode_id,
        created_at=row.created_at,
        last_billed_at=row.last_billed_at,
    )


def in_org(actor: Actor) -> uuid.UUID:
    if actor.org is None:
        raise NoOrganisation()
    return actor.org.id


async def list_servers(
    engine: AsyncEngine, actor: Actor, *, offset: int = 0, limit: int = LIST_PAGE, around: uuid.UUID | None = None
) -> ServerList:
    """One page of the organisation's servers, oldest first (counted in SQL, never all loaded); with
    `around`, the page that server is on (a row's action redraws the page the row was clicked on)."""
    org_id = in_org(actor)
    actor.require(Action.VIEW)
    offset, limit = clamp(offset, limit, maximum=LIST_PAGE)
    async with engine.connect() as conn:
        if around is not None:
            offset = await servers_db.server_position(conn, org_id, around) // limit * limit
        rows, span = await read_page(
            lambda: servers_db.count_org_servers(conn, org_id),
            lambda n, at: servers_db.org_servers(conn, org_id, limit=n, offset=at),
            offset=offset,
            limit=limit,
        )
        views = [await server_view(conn, row) for row in rows]
    can_manage = allowed(actor.grant(), Action.MANAGE_SERVERS)
    return ServerList(actor.org.name if actor.org else "", views, can_manage, org_id, span)


async def find_server(engine: AsyncEngine, actor: Actor, label: str) -> ServerView:
    org_id = in_org(actor)
    actor.require(Action.VIEW)
    async with engine.connect() as conn:
        row = await servers_db.server_by_label(conn, org_id, label)
        if row is None:
            raise ServerNotFound()
        return await server_view(conn, row)


async def show_server(
    engine: AsyncEngine, actor: Actor, server_id: uuid.UUID, *, gateway: LinodeGateway | None = None
) -> ServerView:
    """One server of the actor's organisation as it is now. With a gateway, Linode is asked first
    (one GET) and what it says is stored, so a Refresh shows the real state, not the last one seen."""
    row = await _visible_row(engine, actor, server_id, Action.VIEW)
    if gateway is not None and row.linode_id is not None:
        try:
            instance = await gateway.get_instance(row.linode_id)
        except LinodeError as error:  # the stored state is still worth showing
            log.info("vps.refresh_failed", extra={"server_id": str(row.id), "category": error.category.value})
        else:
            ip = instance["ipv4"][0] if instance["ipv4"] else None
            async with engine.begin() as conn:
                await servers_db.set_status(conn, row.id, servers_db.stored_status(instance["status"]), ip)
    async with engine.connect() as conn:
        fresh = await servers_db.server(conn, server_id)
        if fresh is None:
            raise ServerNotFound("That server no longer exists in this organisation.")
        return await server_view(conn, fresh)


async def server_for_actor(engine: AsyncEngine, actor: Actor, server_id: uuid.UUID) -> ServerRow:
    """A server the actor may change (organisation admin or owner, or staff), re-checked at click time."""
    return await _visible_row(engine, actor, server_id, Action.MANAGE_SERVERS)


async def _visible_row(engine: AsyncEngine, actor: Actor, server_id: uuid.UUID, action: Action) -> ServerRow:
    """The server, if it is in the actor's organisation (or they are staff) and they may do `action`."""
    org_id = in_org(actor)
    actor.require(action)
    async with engine.connect() as conn:
        row = await servers_db.server(conn, server_id)
    if row is None or (row.organization_id != org_id and not actor.is_staff):
        raise ServerNotFound("That server no longer exists in this organisation.")
    return row


async def list_plans(engine: AsyncEngine) -> list[PlanView]:
    async with engine.connect() as conn:
        return [plan_view(p) for p in await servers_db.active_plans(conn)]


# --- the Linode token --------------------------------------------------------------------------


def token_source(engine: AsyncEngine, settings: Settings) -> Callable[[], Awaitable[str | None]]:
    """LINODE_API_TOKEN, else the newest active linode service_providers row (envelope or plaintext)."""

    async def resolve() -> str | None:
        if settings.linode_api_token is not None:
            return settings.linode_api_token.get_secret_value()
        async with engine.connect() as conn:
            stored = await servers_db.linode_provider_key(conn)
        if not stored:
            return None
        secret = settings.ssh_cred_secret.get_secret_value() if settings.ssh_cred_secret else None
        try:
            return crypto.decrypt_or_plaintext(stored, secret) or None
        except crypto.EnvelopeError:
            log.error("linode.provider_token_unreadable")
            return None

    return resolve


def build_gateway(settings: Settings, engine: AsyncEngine, **options: Any) -> LinodeGateway:
    return LinodeGateway(settings.linode_api_url, token_source(engine, settings), **options)


def credential_secret(settings: Settings) -> str:
    """SSH_CRED_SECRET, needed to store root passwords the way the panel can read them."""
    if settings.ssh_cred_secret is None:
        raise UserError("Servers cannot be created yet: SSH_CRED_SECRET is not configured on the bot.")
    return settings.ssh_cred_secret.get_secret_value()


# --- notices -----------------------------------------------------------------------------------


async def notify_org(
    conn: AsyncConnection, organization_id: uuid.UUID, message: dict[str, Any], dedupe_key: str
) -> None:
    """Queue ``message`` for each channel bound to the organisation for VPS notices."""
    for channel in await notify_targets.bound_channels(conn, organization_id, "vps"):
        await enqueue(conn, channel, message, dedupe_key=f"{dedupe_key}:{channel}")


async def alert_staff(conn: AsyncConnection, settings: Settings, title: str, lines: list[str], dedupe_key: str) -> None:
    log.warning("vps.staff_alert", extra={"title": title, "details": " | ".join(lines)})
    if settings.admin_channel:
        await enqueue(conn, settings.admin_channel, notices.servers_alert(title, lines), dedupe_key=dedupe_key)


async def alert_auth_failure(engine: AsyncEngine, settings: Settings, error: LinodeError) -> None:
    """401/403 from Linode: the token needs fixing by staff (one alert per hour)."""
    if error.category is not LinodeFailure.AUTH:
        return
    hour = datetime.now().astimezone().strftime("%Y-%m-%dT%H")
    async with engine.begin() as conn:
        await alert_staff(
            conn,
            settings,
            "Linode rejected the bot's API token",
            [f"HTTP {error.status}: {'; '.join(error.reasons) or 'unauthorised'}", "Check LINODE_API_TOKEN or the "
             "active linode service provider row."],
            dedupe_key=f"linode:auth:{hour}",
        )  # fmt: skip


# --- waiting for Linode ------------------------------------------------------------------------


async def follow_status(
    engine: AsyncEngine,
    gateway: LinodeGateway,
    server_id: uuid.UUID,
    linode_id: int,
    targets: tuple[str, ...],
    *,
    report: Report,
) -> str:
    """Poll single GETs (``asyncio.sleep`` between them) until Linode shows a target status.

    Every status seen is stored (``offline`` as ``stopped``) and reported once. Returns the final
    stored status, or the last one seen when ``gateway.max_wait_seconds`` runs out.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + gateway.max_wait_seconds
    seen: str | None = None
    while True:
        instance = await gateway.get_instance(linode_id)
        stored = servers_db.stored_status(instance["status"])
        ip = instance["ipv4"][0] if instance["ipv4"] else None
        if stored != seen:
            async with engine.begin() as conn:
                await servers_db.set_status(conn, server_id, stored, ip)
            seen = stored
            await report(stored)
        if instance["status"] in targets or loop.time() >= deadline:
            return stored
        await asyncio.sleep(gateway.poll_seconds)


async def record_system(
    conn: AsyncConnection,
    organization_id: uuid.UUID,
    event_type: str,
    server_id: uuid.UUID,
    message: str,
    *,
    metadata: dict[str, Any],
    status: str = "success",
) -> None:
    """Activity for work no user did (sync, jobs); the panel's CHECK wants entity_type 'system' then."""
    await insert_activity(
        conn,
        user_id=None,
        organization_id=organization_id,
        event_type=event_type,
        entity_type="system",
        entity_id=str(server_id),
        message=message,
        status=status,
        metadata={"source": "slack_bot", **metadata},
        user_agent=SLACK_USER_AGENT,
    )
