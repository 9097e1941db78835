"""The whole permission matrix, one row per action: who may, who may not, and what a refusal says."""

from __future__ import annotations

import pytest

from bot.services.permissions import REQUIRED_ROLE, Action, Grant, OrgRole, PermissionDenied, allowed, require

OUTSIDER = Grant(org_role=None, is_staff=False)
MEMBER = Grant(org_role=OrgRole.MEMBER, is_staff=False)
ADMIN = Grant(org_role=OrgRole.ADMIN, is_staff=False)
OWNER = Grant(org_role=OrgRole.OWNER, is_staff=False)
STAFF = Grant(org_role=None, is_staff=True)  # ContainerStacks staff outside the organisation
STAFF_MEMBER = Grant(org_role=OrgRole.MEMBER, is_staff=True)

GRANTS = {"outsider": OUTSIDER, "member": MEMBER, "admin": ADMIN, "owner": OWNER, "staff": STAFF,
          "staff member": STAFF_MEMBER}  # fmt: skip

#: Action → the grants allowed to perform it (the README's matrix, as data).
MATRIX: dict[Action, set[str]] = {
    Action.VIEW: {"member", "admin", "owner", "staff", "staff member"},
    Action.TOP_UP_WALLET: {"admin", "owner", "staff", "staff member"},
    Action.MANAGE_SERVERS: {"admin", "owner", "staff", "staff member"},
    Action.INVITE_MEMBERS: {"admin", "owner", "staff", "staff member"},
    Action.REMOVE_MEMBERS: {"admin", "owner", "staff", "staff member"},
    Action.MANAGE_BINDINGS: {"admin", "owner", "staff", "staff member"},
    Action.CHANGE_ROLES: {"owner", "staff", "staff member"},
    Action.REMOVE_ADMINS: {"owner", "staff", "staff member"},
    Action.STAFF: {"staff", "staff member"},
}


def test_matrix_covers_every_action() -> None:
    assert set(MATRIX) == set(Action) == set(REQUIRED_ROLE)


@pytest.mark.parametrize(
    ("action", "who"), [(action, who) for action in Action for who in GRANTS], ids=lambda v: getattr(v, "name", v)
)
def test_each_grant_is_allowed_exactly_what_the_matrix_says(action: Action, who: str) -> None:
    expected = who in MATRIX[action]
    assert allowed(GRANTS[who], action) is expected
    if expected:
        require(GRANTS[who], action, "Acme")
    else:
        with pytest.raises(PermissionDenied) as denied:
            require(GRANTS[who], action, "Acme")
        assert denied.value.action is action


@pytest.mark.parametrize("action", [a for a in Action if a is not Action.STAFF], ids=lambda a: a.name)
def test_a_denial_names_the_role_needed_and_the_organisation(action: Action) -> None:
    needed = REQUIRED_ROLE[action]
    assert needed is not None
    with pytest.raises(PermissionDenied) as denied:
        require(OUTSIDER, action, "Acme & Co")
    assert denied.value.needed is needed
    assert denied.value.message == f"You need to be an organisation {needed.label} of “Acme & Co” to {action.value}."


def test_staff_only_actions_say_only_staff_can() -> None:
    with pytest.raises(PermissionDenied) as denied:
        require(OWNER, Action.STAFF)
    assert denied.value.message == "Only ContainerStacks staff can use staff commands."


def test_roles_are_ordered_member_admin_owner() -> None:
    assert OrgRole.MEMBER < OrgRole.ADMIN < OrgRole.OWNER
    assert [OrgRole.parse(w) for w in ("member", "Admin", "OWNER")] == [OrgRole.MEMBER, OrgRole.ADMIN, OrgRole.OWNER]
