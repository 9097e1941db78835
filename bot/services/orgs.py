"""Organisations and their members, as Slack users manage them (plain arguments in, plain results out).

Rules kept here: the panel's slug rule, who may change which membership (through
`bot.services.permissions` only), and that an organisation always keeps an owner. Membership
changes lock the organisation's rows first, so concurrent changes are checked one after another.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from difflib import get_close_matches
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import identities as identities_db
from bot.db import invites as invites_db
from bot.db import orgs as orgs_db
from bot.db import outbox
from bot.db.identities import MembershipRow
from bot.db.orgs import LockedMember, MemberRow, OrgRow
from bot.errors import UserError
from bot.services import audit
from bot.services.choices import like_patterns
from bot.services.identity import Actor, OrgContext, SlackRef
from bot.services.link_tokens import link_url
from bot.services.paging import Span, read_page
from bot.services.permissions import Action, Grant, OrgRole, require

NAME_MAX_CHARS = 255
SLUG_MAX_CHARS = 255
SLUG_SUFFIX_CHARS = 8
SUGGESTED_SLUGS = 10
SLUG_ECHO_CHARS = 100
#: Rows on one page of `/cs org list` and `/cs org members`.
LIST_PAGE = 25
ENTITY = "organization"
_NOT_SLUG = re.compile(r"[^a-z0-9]")


# --- errors ----------------------------------------------------------------------------------------


class NoOrganization(UserError):
    """You are not in an organisation yet, so there is nothing to show or change."""


class OrgNameInvalid(UserError):
    """Enter a name for the organisation."""


class UnknownOrganization(UserError):
    """No organisation of yours has that slug."""

    def __init__(self, slug: str, yours: Sequence[str], command: str = "/cs") -> None:
        # Someone in hundreds of organisations gets the closest few and the way to see the rest.
        shown = list(yours) if len(yours) <= SUGGESTED_SLUGS else get_close_matches(slug, yours, SUGGESTED_SLUGS, 0)
        listed = ", ".join(shown) if shown else "none yet"
        if len(shown) < len(yours):
            listed = f"{listed} …and {len(yours) - len(shown):,} more — `{command} org list` shows them all"
        label = "Your organisations" if len(shown) == len(yours) else "The closest of your organisations"
        typed = slug if len(slug) <= SLUG_ECHO_CHARS else slug[: SLUG_ECHO_CHARS - 1] + "…"
        super().__init__(f"None of your organisations has the slug “{typed}”. {label}: {listed}.")


class InvalidRole(UserError):
    """That is not a role."""

    def __init__(self, word: str, allowed: Sequence[OrgRole]) -> None:
        choices = ", ".join(role.label for role in allowed)
        super().__init__(f"“{word}” is not a role here. Use one of: {choices}.")


class OwnerInviteRefused(UserError):
    """Invites are for members and admins. Invite them first, then make them an owner with the role command."""


class NotLinked(UserError):
    """That person has not linked a ContainerStacks account in Slack yet, so I cannot tell which member they are.
    Ask them to link first, or manage them in the ContainerStacks panel."""


class NotAMember(UserError):
    """That person is not a member of this organisation."""


class AlreadyMember(UserError):
    """That person is already a member of this organisation."""


class SameRole(UserError):
    """Nothing to change: that is already their role."""


class LastOwner(UserError):
    """An organisation always needs an owner: make another member an owner first."""


# --- pure rules --------------------------------------------------------------------------------------


def validate_name(raw: str) -> str:
    """The organisation name as stored: trimmed, 1–255 characters (the column is varchar(255))."""
    name = raw.strip()
    if not name:
        raise OrgNameInvalid
    if len(name) > NAME_MAX_CHARS:
        raise OrgNameInvalid(f"Use at most {NAME_MAX_CHARS} characters (this name has {len(name)}).")
    return name


def slug_for(name: str, org_id: uuid.UUID) -> str:
    """The panel's slug for organisations created after registration.

    Lower-case the name, replace every character outside `[a-z0-9]` with `-`, then append `-` and
    the first 8 characters of the new organisation's uuid. The base is shortened when needed so
    the slug fits the column (the panel would fail on such a name instead).
    """
    suffix = "-" + str(org_id)[:SLUG_SUFFIX_CHARS]
    base = _NOT_SLUG.sub("-", name.lower())
    return base[: SLUG_MAX_CHARS - len(suffix)] + suffix


def parse_role(word: str, allowed: Sequence[OrgRole] = tuple(OrgRole)) -> OrgRole:
    try:
        role = OrgRole.parse(word)
    except KeyError:
        raise InvalidRole(word, allowed) from None
    if role not in allowed:
        raise InvalidRole(word, allowed)
    return role


def owner_count(members: Sequence[LockedMember]) -> int:
    return sum(1 for m in members if m.role == OrgRole.OWNER.label)


def check_role_change(grant: Grant, *, old: OrgRole, new: OrgRole, owners: int, org_name: str) -> None:
    """Owners (and staff) change roles; the last owner can never be demoted."""
    require(grant, Action.CHANGE_ROLES, org_name)
    if old == new:
        raise SameRole(f"Nothing to change: they are already an {new.label} of “{org_name}”.")
    if old is OrgRole.OWNER and owners <= 1:
        raise LastOwner(f"They are the last owner of “{org_name}”. Make another member an owner first.")


def check_removal(grant: Grant, *, target_role: OrgRole, self_removal: bool, owners: int, org_name: str) -> None:
    """Admins remove members, owners remove admins and owners, anyone may leave; never the last owner."""
    if not self_removal:
        require(grant, Action.REMOVE_ADMINS if target_role >= OrgRole.ADMIN else Action.REMOVE_MEMBERS, org_name)
    if target_role is OrgRole.OWNER and owners <= 1:
        who = "You are" if self_removal else "They are"
        raise LastOwner(f"{who} the last owner of “{org_name}”. Make another member an owner first.")


# --- results and the messages a service queues ------------------------------------------------------


@dataclass(frozen=True)
class CreatedOrg:
    id: uuid.UUID
    name: str
    slug: str
    already_existed: bool = False  # the same modal submission arrived twice


@dataclass(frozen=True)
class OrgCard:
    id: uuid.UUID
    name: str
    slug: str
    role: str | None  # None: staff looking at an organisation they are not a member of
    member_count: int
    balance: Decimal | None
    currency: str | None
    is_staff: bool


@dataclass(frozen=True)
class OrgEntry:
    name: str
    slug: str
    role: str | None
    active: bool


@dataclass(frozen=True)
class OrgListing:
    """One page of the organisations someone may act in (staff: every organisation)."""

    entries: list[OrgEntry]
    is_staff: bool
    span: Span


@dataclass(frozen=True)
class MemberList:
    """One page of an organisation's members, owners first."""

    org: OrgContext
    members: list[MemberRow]
    span: Span


@dataclass(frozen=True)
class InviteOutcome:
    organization_id: uuid.UUID
    organization_name: str
    invitee_slack_user_id: str
    inviter_slack_user_id: str
    inviter_name: str
    role: str
    added: bool  # True: linked, now a member; False: a pending invite, accepted when they link
    refresh: tuple[SlackRef, ...] = ()


@dataclass(frozen=True)
class RoleChange:
    organization_name: str
    target_slack_user_id: str
    target_name: str
    old_role: str
    new_role: str
    refresh: tuple[SlackRef, ...] = ()


@dataclass(frozen=True)
class RemovalPlan:
    organization_id: uuid.UUID
    organization_name: str
    target_user_id: uuid.UUID
    target_slack_user_id: str
    target_name: str
    target_role: str
    self_removal: bool


@dataclass(frozen=True)
class Removal:
    organization_name: str
    target_name: str
    target_role: str
    self_removal: bool
    refresh: tuple[SlackRef, ...] = ()


class OrgMessages(Protocol):
    """Direct messages queued with a change (rendered elsewhere; this layer knows no Block Kit)."""

    def created(self, org: CreatedOrg) -> dict[str, Any]: ...

    def added(self, outcome: InviteOutcome) -> dict[str, Any]: ...

    def invited(self, outcome: InviteOutcome, link_url: str | None) -> dict[str, Any]: ...


# --- reading ---------------------------------------------------------------------------------------------


def _active(actor: Actor) -> OrgContext:
    if actor.org is None:
        raise NoOrganization
    return actor.org


async def org_card(engine: AsyncEngine, actor: Actor) -> OrgCard | None:
    """The active organisation's card, or None when the actor has no organisation."""
    if actor.org is None:
        return None
    actor.require(Action.VIEW)
    async with engine.connect() as conn:
        row = await orgs_db.summary(conn, actor.org.id)
    if row is None:
        return None
    role = actor.org.role.label if actor.org.role else None
    return OrgCard(
        id=row.id, name=row.name, slug=row.slug, role=role, member_count=row.member_count, balance=row.balance,
        currency=row.currency, is_staff=actor.is_staff,
    )  # fmt: skip


async def list_organizations(engine: AsyncEngine, actor: Actor, *, offset: int = 0) -> OrgListing:
    """A page of the actor's organisations, memberships first; staff list every organisation."""
    active_id = actor.org.id if actor.org else None
    everything = actor.is_staff
    async with engine.connect() as conn:
        rows, span = await read_page(
            lambda: orgs_db.count_listable_organizations(conn, actor.user_id, everything=everything),
            lambda n, at: orgs_db.listable_organizations(conn, actor.user_id, everything=everything, limit=n,
                                                         offset=at),
            offset=max(0, offset),
            limit=LIST_PAGE,
        )  # fmt: skip
    entries = [OrgEntry(r.name, r.slug, r.role, r.organization_id == active_id) for r in rows]
    return OrgListing(entries=entries, is_staff=actor.is_staff, span=span)


async def list_members(engine: AsyncEngine, actor: Actor, *, offset: int = 0) -> MemberList:
    org = _active(actor)
    actor.require(Action.VIEW)
    slack = actor.slack
    async with engine.connect() as conn:
        rows, span = await read_page(
            lambda: orgs_db.count_members(conn, org.id),
            lambda n, at: orgs_db.members(conn, org.id, enterprise_id=slack.enterprise_id, team_id=slack.team_id,
                                          limit=n, offset=at),
            offset=max(0, offset),
            limit=LIST_PAGE,
        )  # fmt: skip
    return MemberList(org, rows, span)


async def organization_choices(engine: AsyncEngine, actor: Actor, *, limit: int) -> tuple[list[MembershipRow], int]:
    """The first `limit` organisations the actor may switch to (staff: every one), and how many there are."""
    everything = actor.is_staff
    async with engine.connect() as conn:
        total = await orgs_db.count_listable_organizations(conn, actor.user_id, everything=everything)
        rows = await orgs_db.listable_organizations(conn, actor.user_id, everything=everything, limit=limit, offset=0)
    return rows, total


async def find_organizations(engine: AsyncEngine, actor: Actor, query: str, *, limit: int) -> list[MembershipRow]:
    """Organisations the actor may switch to whose name or slug contains `query` (case-insensitive)."""
    pattern, prefix = like_patterns(query)
    async with engine.connect() as conn:
        return await orgs_db.search_listable_organizations(
            conn, actor.user_id, everything=actor.is_staff, pattern=pattern, prefix=prefix, limit=limit
        )


# --- choosing and creating -------------------------------------------------------------------------------


async def use_organization(
    engine: AsyncEngine, actor: Actor, slug: str | None = None, *, channel_id: str | None,
    organization_id: uuid.UUID | None = None, command: str = "/cs",
) -> OrgContext:  # fmt: skip
    """Remember the organisation with `slug` (or the id a menu sent) as the actor's active one
    (members, or staff for any organisation)."""
    async with engine.begin() as conn:
        memberships = await identities_db.memberships(conn, actor.user_id)
        if organization_id is not None:
            org = await orgs_db.organization(conn, organization_id)
        else:
            org = await orgs_db.organization_by_slug(conn, (slug or "").strip())
        role = next((m.role for m in memberships if org is not None and m.organization_id == org.id), None)
        if org is None or (role is None and not actor.is_staff):
            raise UnknownOrganization(slug or str(organization_id), [m.slug for m in memberships], command)
        await identities_db.set_active_organization(
            conn,
            enterprise_id=actor.slack.enterprise_id,
            team_id=actor.slack.team_id,
            slack_user_id=actor.slack.user_id,
            organization_id=org.id,
        )
        await audit.record_for_actor(
            conn, actor, event_type="org.use", entity_type=ENTITY, entity_id=str(org.id), organization_id=org.id,
            message=f"Chose {org.name} as the active organisation in Slack", channel_id=channel_id,
            metadata={"slug": org.slug},
        )  # fmt: skip
    return OrgContext(id=org.id, name=org.name, slug=org.slug, role=OrgRole.parse(role) if role else None)


async def create_organization(
    engine: AsyncEngine,
    actor: Actor,
    raw_name: str,
    *,
    view_id: str,
    channel_id: str | None,
    messages: OrgMessages,
) -> CreatedOrg:
    """Organisation + owner membership + USD wallet + audit + confirmation DM, in one transaction.

    The modal's view id makes a repeated submission harmless: an advisory lock on it serialises
    duplicates, and the audit row (which records the view id) tells the second one it is done.
    """
    name = validate_name(raw_name)
    async with engine.begin() as conn:
        await orgs_db.lock_key(conn, f"org.create:{view_id}")
        existing = await orgs_db.created_by_view(conn, actor.user_id, view_id)
        if existing is not None:
            return CreatedOrg(existing.id, existing.name, existing.slug, already_existed=True)
        org_id = uuid.uuid4()
        created = CreatedOrg(id=org_id, name=name, slug=slug_for(name, org_id))
        await orgs_db.insert_organization(conn, org_id=org_id, name=name, slug=created.slug, owner_id=actor.user_id)
        await invites_db.add_member(conn, org_id, actor.user_id, OrgRole.OWNER.label)
        await orgs_db.insert_wallet(conn, org_id)
        await identities_db.set_active_organization(
            conn,
            enterprise_id=actor.slack.enterprise_id,
            team_id=actor.slack.team_id,
            slack_user_id=actor.slack.user_id,
            organization_id=org_id,
        )
        await audit.record_for_actor(
            conn, actor, event_type="org.create", entity_type=ENTITY, entity_id=str(org_id), organization_id=org_id,
            message=f"Created organisation {name} from Slack", channel_id=channel_id,
            metadata={"name": name, "slug": created.slug, "slack_view_id": view_id},
        )  # fmt: skip
        dedupe_key = f"org.create:{actor.user_id}:{view_id}"
        await outbox.enqueue(conn, actor.slack.user_id, messages.created(created), dedupe_key=dedupe_key)
    return created


# --- members -----------------------------------------------------------------------------------------------


async def invite(
    engine: AsyncEngine,
    actor: Actor,
    invitee: SlackRef,
    role: OrgRole,
    *,
    channel_id: str | None,
    messages: OrgMessages,
    link_secret: str | None,
    public_url: str,
) -> InviteOutcome:
    """Add a linked Slack user at once, or keep a pending invite and DM them a link prompt."""
    org = _active(actor)
    actor.require(Action.INVITE_MEMBERS)
    if role is OrgRole.OWNER:
        raise OwnerInviteRefused
    async with engine.connect() as conn:
        linked = await identities_db.get_identity(conn, invitee.enterprise_id, invitee.team_id, invitee.user_id)
    url = None
    if linked is None and link_secret is not None:
        url = await link_url(engine, link_secret, public_url, invitee)
    outcome = InviteOutcome(
        organization_id=org.id, organization_name=org.name, invitee_slack_user_id=invitee.user_id,
        inviter_slack_user_id=actor.slack.user_id, inviter_name=actor.name, role=role.label, added=False,
    )  # fmt: skip
    async with engine.begin() as conn:
        # Linked in the meantime? Then treat them as linked (their pending invites were already accepted).
        identity = await identities_db.get_identity(conn, invitee.enterprise_id, invitee.team_id, invitee.user_id)
        if identity is not None:
            if not await invites_db.add_member(conn, org.id, identity.user_id, role.label):
                current = await orgs_db.role_of(conn, org.id, identity.user_id)
                raise AlreadyMember(f"They are already a member of “{org.name}” (as {current}).")
            outcome = replace(outcome, added=True, refresh=(invitee,))
            await audit.record_for_actor(
                conn, actor, event_type="org.member.add", entity_type=ENTITY, entity_id=str(org.id),
                organization_id=org.id, message=f"Added {identity.name} to {org.name} as {role.label} from Slack",
                channel_id=channel_id,
                metadata={"target_user_id": str(identity.user_id), "target_slack_user_id": invitee.user_id,
                          "role": role.label},
            )  # fmt: skip
            await outbox.enqueue(conn, invitee.user_id, messages.added(outcome))
            return outcome
        await invites_db.upsert_invite(
            conn,
            organization_id=org.id,
            enterprise_id=invitee.enterprise_id,
            team_id=invitee.team_id,
            slack_user_id=invitee.user_id,
            role=role.label,
            invited_by=actor.user_id,
        )
        await audit.record_for_actor(
            conn, actor, event_type="org.member.invite", entity_type=ENTITY, entity_id=str(org.id),
            organization_id=org.id, channel_id=channel_id,
            message=f"Invited Slack user {invitee.user_id} to {org.name} as {role.label} (pending account link)",
            metadata={"target_slack_user_id": invitee.user_id, "role": role.label},
        )  # fmt: skip
        await outbox.enqueue(conn, invitee.user_id, messages.invited(outcome, url))
    return outcome


async def _linked_user(conn: AsyncConnection, slack: SlackRef) -> identities_db.IdentityRow:
    identity = await identities_db.get_identity(conn, slack.enterprise_id, slack.team_id, slack.user_id)
    if identity is None:
        raise NotLinked
    return identity


def _grant_in(actor: Actor, members: Sequence[LockedMember]) -> Grant:
    """The actor's grant from the locked rows: a role changed a moment ago counts, a stale one not."""
    role = next((m.role for m in members if m.user_id == actor.user_id), None)
    return Grant(org_role=OrgRole.parse(role) if role else None, is_staff=actor.is_staff)


async def _lock(conn: AsyncConnection, org_id: uuid.UUID) -> tuple[OrgRow, list[LockedMember]]:
    locked = await orgs_db.lock_organization(conn, org_id)
    if locked is None:
        raise NoOrganization("That organisation no longer exists.")
    return locked


async def _keep_owner_valid(
    conn: AsyncConnection, org: OrgRow, members: Sequence[LockedMember], leaving: uuid.UUID
) -> uuid.UUID | None:
    """If `leaving` is organizations.owner_id, hand owner_id to the longest-standing remaining owner."""
    if org.owner_id != leaving:
        return None
    successor = next((m.user_id for m in members if m.role == OrgRole.OWNER.label and m.user_id != leaving), None)
    if successor is not None:
        await orgs_db.set_owner(conn, org.id, successor)
    return successor


async def _refresh_targets(conn: AsyncConnection, actor: Actor, user_id: uuid.UUID) -> tuple[SlackRef, ...]:
    ids = await orgs_db.slack_ids_of_user(
        conn, user_id, enterprise_id=actor.slack.enterprise_id, team_id=actor.slack.team_id
    )
    return tuple(SlackRef(actor.slack.enterprise_id, actor.slack.team_id, slack_id) for slack_id in ids)


async def change_role(
    engine: AsyncEngine, actor: Actor, target: SlackRef, new_role: OrgRole, *, channel_id: str | None
) -> RoleChange:
    org_ctx = _active(actor)
    actor.require(Action.CHANGE_ROLES)
    async with engine.begin() as conn:
        identity = await _linked_user(conn, target)
        org, members = await _lock(conn, org_ctx.id)
        current = next((m for m in members if m.user_id == identity.user_id), None)
        if current is None:
            raise NotAMember(f"{identity.name} is not a member of “{org.name}”.")
        old_role = OrgRole.parse(current.role)
        check_role_change(_grant_in(actor, members), old=old_role, new=new_role, owners=owner_count(members),
                          org_name=org.name)  # fmt: skip
        await orgs_db.set_role(conn, org.id, identity.user_id, new_role.label)
        transferred = None
        if old_role is OrgRole.OWNER:
            transferred = await _keep_owner_valid(conn, org, members, identity.user_id)
        await audit.record_for_actor(
            conn, actor, event_type="org.member.role", entity_type=ENTITY, entity_id=str(org.id),
            organization_id=org.id, channel_id=channel_id,
            message=f"Changed {identity.name}'s role in {org.name} from {old_role.label} to {new_role.label}",
            metadata={"target_user_id": str(identity.user_id), "target_slack_user_id": target.user_id,
                      "old_role": old_role.label, "new_role": new_role.label,
                      "owner_id_transferred_to": str(transferred) if transferred else None},
        )  # fmt: skip
        refresh = await _refresh_targets(conn, actor, identity.user_id)
    return RoleChange(
        organization_name=org.name, target_slack_user_id=target.user_id, target_name=identity.name,
        old_role=old_role.label, new_role=new_role.label, refresh=refresh,
    )  # fmt: skip


async def plan_removal(engine: AsyncEngine, actor: Actor, target: SlackRef) -> RemovalPlan:
    """Check a removal without changing anything (the confirmation button performs it)."""
    org_ctx = _active(actor)
    async with engine.connect() as conn:
        try:
            identity = await _linked_user(conn, target)
        except NotLinked:
            actor.require(Action.REMOVE_MEMBERS)  # an unlinked person is never the actor themselves
            raise
        members = await orgs_db.members(
            conn, org_ctx.id, enterprise_id=actor.slack.enterprise_id, team_id=actor.slack.team_id
        )
    member = next((m for m in members if m.user_id == identity.user_id), None)
    self_removal = identity.user_id == actor.user_id
    if member is None:
        actor.require(Action.REMOVE_MEMBERS)  # outsiders learn nothing about who is a member
        raise NotAMember(f"{identity.name} is not a member of “{org_ctx.name}”.")
    role = OrgRole.parse(member.role)
    owners = sum(1 for m in members if m.role == OrgRole.OWNER.label)
    check_removal(actor.grant(), target_role=role, self_removal=self_removal, owners=owners, org_name=org_ctx.name)
    return RemovalPlan(
        organization_id=org_ctx.id, organization_name=org_ctx.name, target_user_id=identity.user_id,
        target_slack_user_id=target.user_id, target_name=identity.name, target_role=role.label,
        self_removal=self_removal,
    )  # fmt: skip


async def remove_member(
    engine: AsyncEngine, actor: Actor, organization_id: uuid.UUID, target_user_id: uuid.UUID, *, channel_id: str | None
) -> Removal:
    """Perform a confirmed removal, re-checking every rule against the rows as they are now."""
    async with engine.begin() as conn:
        org, members = await _lock(conn, organization_id)
        grant = _grant_in(actor, members)
        target = next((m for m in members if m.user_id == target_user_id), None)
        self_removal = target_user_id == actor.user_id
        if target is None:
            require(grant, Action.VIEW, org.name)
            raise NotAMember(f"They are no longer a member of “{org.name}”.")
        role = OrgRole.parse(target.role)
        check_removal(grant, target_role=role, self_removal=self_removal, owners=owner_count(members),
                      org_name=org.name)  # fmt: skip
        refresh = await _refresh_targets(conn, actor, target_user_id)
        await orgs_db.delete_member(conn, org.id, target_user_id)
        transferred = await _keep_owner_valid(conn, org, members, target_user_id)
        target_name = await _user_name(conn, target_user_id)
        await audit.record_for_actor(
            conn, actor, event_type="org.member.remove", entity_type=ENTITY, entity_id=str(org.id),
            organization_id=org.id, channel_id=channel_id,
            message=f"Removed {target_name} ({role.label}) from {org.name}",
            metadata={"target_user_id": str(target_user_id), "role": role.label, "self_removal": self_removal,
                      "owner_id_transferred_to": str(transferred) if transferred else None},
        )  # fmt: skip
    return Removal(
        organization_name=org.name, target_name=target_name, target_role=role.label, self_removal=self_removal,
        refresh=refresh,
    )  # fmt: skip


async def _user_name(conn: AsyncConnection, user_id: uuid.UUID) -> str:
    row = await orgs_db.user_name(conn, user_id)
    return row or "a former member"
