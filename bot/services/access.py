"""Acting on what a button or form is about, in that thing's own organisation.

Every button, select and form the bot shows is about something: an organisation, or a ticket or a
server (whose organisation never changes). `authorize` reads the actor's role *there*, fresh, each
time one is used, so it acts where it was shown, never in whichever organisation happens to be
active by then; and someone who is not (or no longer) a member learns nothing about the thing,
not even whether it exists.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import access as access_db
from bot.db.plain import SqlConnection
from bot.errors import UserError
from bot.services.identity import Actor, choose_organization
from bot.services.orgs import NoOrganization
from bot.services.permissions import Action, PermissionDenied


class StaleControl(UserError):
    """That button or form is no longer valid. Run the command again to get a fresh one."""


class NotInOrganisation(UserError):
    """This belongs to an organisation you are not (or no longer) a member of, so it does nothing for you."""


class TargetKind(enum.StrEnum):
    ORGANIZATION = "organization"
    TICKET = "ticket"
    SERVER = "server"


@dataclass(frozen=True)
class Target:
    """What a control is about; its organisation is looked up when it is used."""

    kind: TargetKind
    id: uuid.UUID

    @classmethod
    def parse(cls, kind: TargetKind, raw: object) -> Target:
        """From a button value or form metadata; anything but a uuid means the control is not ours (any more)."""
        try:
            return cls(kind, uuid.UUID(str(raw)))
        except ValueError:
            raise StaleControl from None


async def in_organization(conn: SqlConnection, actor: Actor, organization_id: uuid.UUID) -> Actor:
    """The actor acting in `organization_id` with their role there read now (staff: any organisation)."""
    org = await choose_organization(
        conn, actor.user_id, is_staff=actor.is_staff, channel_org=None, chosen_org=organization_id
    )
    if org is None or org.id != organization_id:
        raise NotInOrganisation
    return dataclasses.replace(actor, org=org)


async def authorize(
    engine: AsyncEngine, actor: Actor, *, target: Target | None, action: Action | None, staff_only: bool = False
) -> Actor:
    """The actor as they may act on `target` (in its organisation), or a refusal.

    Without a target the actor's current organisation applies (a control that is not about anything
    in particular, such as a message shortcut). `action` needs an organisation and the role for it.
    """
    if staff_only and not actor.is_staff:
        raise PermissionDenied(Action.STAFF, None)
    if target is not None:
        async with engine.connect() as conn:
            organization_id = await access_db.owning_organization(conn, target.kind, target.id)
            if organization_id is None:
                raise NotInOrganisation
            actor = await in_organization(conn, actor, organization_id)
    if action is not None:
        if actor.org is None:
            raise NoOrganization
        actor.require(action)
    return actor
