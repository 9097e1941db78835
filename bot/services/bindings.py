"""Channel bindings: a Slack channel receives one organisation's notices (billing, VPS, tickets).

A channel belongs to at most one organisation. Binding or unbinding needs the admin role in the
organisation concerned; taking over a channel bound to another organisation needs that role there
too, so nobody can silence another organisation's channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import bindings as bindings_db
from bot.db import orgs as orgs_db
from bot.db.bindings import BindingRow
from bot.errors import UserError
from bot.services import audit
from bot.services.identity import Actor, OrgContext, SlackRef
from bot.services.orgs import ENTITY, LIST_PAGE, NoOrganization
from bot.services.paging import Span, read_page
from bot.services.permissions import Action, Grant, OrgRole, allowed, require

#: Notification kinds, in display order; each is a `notify_<kind>` column of bot_channel_bindings.
KINDS: tuple[str, ...] = ("billing", "vps", "tickets")


class UnknownKind(UserError):
    """That is not a kind of notification."""

    def __init__(self, words: Sequence[str]) -> None:
        quoted = ", ".join(f"“{w}”" for w in words)
        super().__init__(f"Unknown notification kind {quoted}. Valid kinds: {', '.join(KINDS)} (none means all).")


class NotBound(UserError):
    """This channel is not bound to an organisation."""


class BoundElsewhere(UserError):
    """This channel already receives another organisation's notices; an admin of that organisation
    must unbind it first."""


@dataclass(frozen=True)
class BindOutcome:
    organization_name: str
    channel_id: str
    kinds: tuple[str, ...]
    updated: bool  # the channel was already bound to this organisation
    refresh: tuple[SlackRef, ...] = ()


@dataclass(frozen=True)
class UnbindOutcome:
    organization_name: str
    channel_id: str
    refresh: tuple[SlackRef, ...] = ()


def parse_kinds(words: Iterable[str]) -> tuple[str, ...]:
    """Kind words → kinds in display order; no words means every kind."""
    lowered = [w.strip().lower() for w in words if w.strip()]
    unknown = [w for w in lowered if w not in KINDS]
    if unknown:
        raise UnknownKind(unknown)
    return tuple(k for k in KINDS if k in lowered) if lowered else KINDS


def kinds_of(row: BindingRow) -> tuple[str, ...]:
    return tuple(k for k in KINDS if getattr(row, f"notify_{k}"))


def _active(actor: Actor) -> OrgContext:
    if actor.org is None:
        raise NoOrganization
    return actor.org


def prepare_bind(actor: Actor, words: Iterable[str]) -> tuple[str, ...]:
    """Check what can be checked before asking Slack about the channel: permission, then kinds."""
    _active(actor)
    actor.require(Action.MANAGE_BINDINGS)
    return parse_kinds(words)


async def _grant_for(conn: AsyncConnection, actor: Actor, organization_id: uuid.UUID) -> Grant:
    role = await orgs_db.role_of(conn, organization_id, actor.user_id)
    return Grant(org_role=OrgRole.parse(role) if role else None, is_staff=actor.is_staff)


async def _members_to_refresh(conn: AsyncConnection, actor: Actor, organization_id: uuid.UUID) -> tuple[SlackRef, ...]:
    ids = await orgs_db.slack_ids_of_members(
        conn, organization_id, enterprise_id=actor.slack.enterprise_id, team_id=actor.slack.team_id
    )
    return tuple(SlackRef(actor.slack.enterprise_id, actor.slack.team_id, slack_id) for slack_id in ids)


async def bind(engine: AsyncEngine, actor: Actor, channel_id: str, kinds: Sequence[str]) -> BindOutcome:
    """Bind the channel to the actor's active organisation for `kinds` (an upsert)."""
    org = _active(actor)
    actor.require(Action.MANAGE_BINDINGS)
    team_id = actor.slack.team_id
    async with engine.begin() as conn:
        # Serialise binds of this channel, including the very first one (no row to lock yet).
        await orgs_db.lock_key(conn, f"binding:{team_id}:{channel_id}")
        previous = await bindings_db.get(conn, team_id, channel_id, for_update=True)
        if (
            previous is not None
            and previous.organization_id != org.id
            and not allowed(await _grant_for(conn, actor, previous.organization_id), Action.MANAGE_BINDINGS)
        ):
            raise BoundElsewhere
        await bindings_db.upsert(
            conn,
            team_id=team_id,
            channel_id=channel_id,
            organization_id=org.id,
            notify_billing="billing" in kinds,
            notify_vps="vps" in kinds,
            notify_tickets="tickets" in kinds,
            created_by=actor.user_id,
        )
        metadata: dict[str, object] = {"kinds": list(kinds), "team_id": team_id}
        if previous is not None:
            metadata["previous_kinds"] = list(kinds_of(previous))
            if previous.organization_id != org.id:
                metadata["previous_organization_id"] = str(previous.organization_id)
        await audit.record_for_actor(
            conn, actor, event_type="org.bind", entity_type=ENTITY, entity_id=str(org.id), organization_id=org.id,
            channel_id=channel_id, message=f"Bound Slack channel {channel_id} to {org.name} ({', '.join(kinds)})",
            metadata=metadata,
        )  # fmt: skip
        refresh = await _members_to_refresh(conn, actor, org.id)
        if previous is not None and previous.organization_id != org.id:
            refresh += await _members_to_refresh(conn, actor, previous.organization_id)
    updated = previous is not None and previous.organization_id == org.id
    return BindOutcome(org.name, channel_id, tuple(kinds), updated, tuple(dict.fromkeys(refresh)))


async def unbind(engine: AsyncEngine, actor: Actor, channel_id: str) -> UnbindOutcome:
    """Remove the channel's binding; needs the admin role in the organisation it is bound to."""
    team_id = actor.slack.team_id
    async with engine.begin() as conn:
        binding = await bindings_db.get(conn, team_id, channel_id, for_update=True)
        if binding is None:
            raise NotBound
        require(await _grant_for(conn, actor, binding.organization_id), Action.MANAGE_BINDINGS,
                binding.organization_name)  # fmt: skip
        await bindings_db.delete(conn, team_id, channel_id)
        await audit.record_for_actor(
            conn, actor, event_type="org.unbind", entity_type=ENTITY, entity_id=str(binding.organization_id),
            organization_id=binding.organization_id, channel_id=channel_id,
            message=f"Unbound Slack channel {channel_id} from {binding.organization_name}",
            metadata={"kinds": list(kinds_of(binding)), "team_id": team_id},
        )  # fmt: skip
        refresh = await _members_to_refresh(conn, actor, binding.organization_id)
    return UnbindOutcome(binding.organization_name, channel_id, refresh)


@dataclass(frozen=True)
class BindingList:
    """One page of the channels bound to an organisation in this workspace."""

    org: OrgContext
    bindings: list[BindingRow]
    span: Span


async def list_bindings(engine: AsyncEngine, actor: Actor, *, offset: int = 0) -> BindingList:
    org = _active(actor)
    actor.require(Action.VIEW)
    team = actor.slack.team_id
    async with engine.connect() as conn:
        rows, span = await read_page(
            lambda: bindings_db.count_for_organization(conn, org.id, team),
            lambda n, at: bindings_db.for_organization(conn, org.id, team, limit=n, offset=at),
            offset=max(0, offset),
            limit=LIST_PAGE,
        )
    return BindingList(org, rows, span)
