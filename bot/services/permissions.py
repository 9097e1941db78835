"""The one place that decides who may do what (documented as a matrix in the README).

Roles come from the panel: `organization_members.role` (member < admin < owner) within an
organisation, and `users.role = 'admin'` for ContainerStacks staff, who may act in every
organisation and use `/cs admin …`. Channel membership in Slack grants nothing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.errors import UserError


class OrgRole(enum.IntEnum):
    MEMBER = 1
    ADMIN = 2
    OWNER = 3

    @classmethod
    def parse(cls, value: str) -> OrgRole:
        return cls[value.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


class Action(enum.Enum):
    VIEW = "view the organisation, its wallet, servers and tickets"
    TOP_UP_WALLET = "top up the wallet"
    MANAGE_SERVERS = "create, change or delete servers"
    INVITE_MEMBERS = "invite members"
    REMOVE_MEMBERS = "remove members"
    MANAGE_BINDINGS = "bind channels to the organisation"
    CHANGE_ROLES = "change member roles"
    REMOVE_ADMINS = "remove admins or owners"
    STAFF = "use staff commands"


#: The minimum organisation role for each action; STAFF is staff-only.
REQUIRED_ROLE: dict[Action, OrgRole | None] = {
    Action.VIEW: OrgRole.MEMBER,
    Action.TOP_UP_WALLET: OrgRole.ADMIN,
    Action.MANAGE_SERVERS: OrgRole.ADMIN,
    Action.INVITE_MEMBERS: OrgRole.ADMIN,
    Action.REMOVE_MEMBERS: OrgRole.ADMIN,
    Action.MANAGE_BINDINGS: OrgRole.ADMIN,
    Action.CHANGE_ROLES: OrgRole.OWNER,
    Action.REMOVE_ADMINS: OrgRole.OWNER,
    Action.STAFF: None,
}


class PermissionDenied(UserError):
    """You do not have permission to do that."""

    def __init__(self, action: Action, needed: OrgRole | None, organization_name: str | None = None) -> None:
        self.action = action
        self.needed = needed
        if needed is None:
            message = f"Only ContainerStacks staff can {action.value}."
        else:
            where = f" of “{organization_name}”" if organization_name else ""
            message = f"You need to be an organisation {needed.label}{where} to {action.value}."
        super().__init__(message)


@dataclass(frozen=True)
class Grant:
    """What the actor holds: their role in the organisation (None if not a member) and staff flag."""

    org_role: OrgRole | None
    is_staff: bool


def allowed(grant: Grant, action: Action) -> bool:
    if grant.is_staff:
        return True
    needed = REQUIRED_ROLE[action]
    return needed is not None and grant.org_role is not None and grant.org_role >= needed


def require(grant: Grant, action: Action, organization_name: str | None = None) -> None:
    """Raise `PermissionDenied` naming the role needed, unless the grant allows the action."""
    if not allowed(grant, action):
        raise PermissionDenied(action, REQUIRED_ROLE[action], organization_name)
