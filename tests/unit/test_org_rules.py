"""Organisation rules without a database: slugs, names, roles, kinds, membership checks and renderers."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from bot.rendering import orgs as render
from bot.services.bindings import KINDS, BindingList, UnknownKind, parse_kinds
from bot.services.identity import OrgContext
from bot.services.orgs import (
    NAME_MAX_CHARS,
    InvalidRole,
    LastOwner,
    MemberList,
    OrgCard,
    OrgNameInvalid,
    RemovalPlan,
    SameRole,
    check_removal,
    check_role_change,
    parse_role,
    slug_for,
    validate_name,
)
from bot.services.paging import Span
from bot.services.permissions import Grant, OrgRole, PermissionDenied

ORG_ID = uuid.UUID("3f2a9c1e-0b7d-4e55-9a61-2c8d4b7e1f00")
MEMBER = Grant(OrgRole.MEMBER, is_staff=False)
ADMIN = Grant(OrgRole.ADMIN, is_staff=False)
OWNER = Grant(OrgRole.OWNER, is_staff=False)
STAFF = Grant(None, is_staff=True)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme", "acme-3f2a9c1e"),
        ("Acme Rockets Ltd.", "acme-rockets-ltd--3f2a9c1e"),
        ("Ada's  Org", "ada-s--org-3f2a9c1e"),
        ("ÄRGER & Co", "-rger---co-3f2a9c1e"),
        ("web2.0", "web2-0-3f2a9c1e"),
    ],
)
def test_slug_follows_the_panels_rule_with_the_uuid_suffix(name: str, slug: str) -> None:
    assert slug_for(name, ORG_ID) == slug


def test_slug_of_a_maximal_name_still_fits_the_column() -> None:
    slug = slug_for("a" * NAME_MAX_CHARS, ORG_ID)
    assert len(slug) == 255
    assert slug.endswith("-3f2a9c1e")


def test_name_is_trimmed_and_bounded() -> None:
    assert validate_name("  Acme  ") == "Acme"
    assert validate_name("x" * 255) == "x" * 255
    with pytest.raises(OrgNameInvalid, match="Enter a name"):
        validate_name("   ")
    with pytest.raises(OrgNameInvalid, match="at most 255 characters"):
        validate_name("x" * 256)


def test_role_words_are_case_insensitive_and_unknown_ones_list_the_choices() -> None:
    assert parse_role("Admin") is OrgRole.ADMIN
    with pytest.raises(InvalidRole, match="Use one of: member, admin, owner"):
        parse_role("boss")
    with pytest.raises(InvalidRole, match=r"Use one of: member, admin\."):
        parse_role("owner", (OrgRole.MEMBER, OrgRole.ADMIN))


def test_kinds_default_to_all_and_keep_display_order() -> None:
    assert parse_kinds([]) == KINDS
    assert parse_kinds(["TICKETS", "billing"]) == ("billing", "tickets")
    with pytest.raises(UnknownKind, match=r"“invoices”, “sms”\. Valid kinds: billing, vps, tickets"):
        parse_kinds(["billing", "invoices", "sms"])


# --- membership rules ------------------------------------------------------------------------------------


def test_admins_remove_members_owners_remove_admins_and_owners() -> None:
    check_removal(ADMIN, target_role=OrgRole.MEMBER, self_removal=False, owners=1, org_name="Acme")
    with pytest.raises(PermissionDenied, match="owner"):
        check_removal(ADMIN, target_role=OrgRole.ADMIN, self_removal=False, owners=1, org_name="Acme")
    with pytest.raises(PermissionDenied, match="admin"):
        check_removal(MEMBER, target_role=OrgRole.MEMBER, self_removal=False, owners=1, org_name="Acme")
    check_removal(OWNER, target_role=OrgRole.OWNER, self_removal=False, owners=2, org_name="Acme")
    check_removal(STAFF, target_role=OrgRole.OWNER, self_removal=False, owners=2, org_name="Acme")


def test_anyone_may_leave_except_the_last_owner() -> None:
    check_removal(MEMBER, target_role=OrgRole.MEMBER, self_removal=True, owners=1, org_name="Acme")
    check_removal(OWNER, target_role=OrgRole.OWNER, self_removal=True, owners=2, org_name="Acme")
    with pytest.raises(LastOwner, match="You are the last owner"):
        check_removal(OWNER, target_role=OrgRole.OWNER, self_removal=True, owners=1, org_name="Acme")


def test_not_even_staff_can_remove_or_demote_the_last_owner() -> None:
    with pytest.raises(LastOwner):
        check_removal(STAFF, target_role=OrgRole.OWNER, self_removal=False, owners=1, org_name="Acme")
    with pytest.raises(LastOwner):
        check_role_change(STAFF, old=OrgRole.OWNER, new=OrgRole.ADMIN, owners=1, org_name="Acme")


def test_role_changes_need_an_owner_and_a_real_change() -> None:
    check_role_change(OWNER, old=OrgRole.MEMBER, new=OrgRole.OWNER, owners=1, org_name="Acme")
    check_role_change(OWNER, old=OrgRole.OWNER, new=OrgRole.MEMBER, owners=2, org_name="Acme")
    with pytest.raises(PermissionDenied, match="owner"):
        check_role_change(ADMIN, old=OrgRole.MEMBER, new=OrgRole.ADMIN, owners=1, org_name="Acme")
    with pytest.raises(SameRole):
        check_role_change(OWNER, old=OrgRole.ADMIN, new=OrgRole.ADMIN, owners=1, org_name="Acme")


# --- renderers escape what people typed --------------------------------------------------------------------

NASTY = "<!channel> & *bold* `tick`"


def test_card_escapes_names_and_formats_money_as_decimal() -> None:
    card = OrgCard(
        id=ORG_ID, name=NASTY, slug="nasty-3f2a9c1e", role="owner", member_count=1, balance=Decimal("0.5"),
        currency="usd", is_staff=False,
    )  # fmt: skip
    message = render.render_org_card(card, "/cs")
    body = json.dumps(message)
    assert "<!channel>" not in body
    assert "&lt;!channel&gt; &amp;" in body
    assert "$0.50 USD" in body and "1 member" in body
    assert message["text"]


def test_removal_confirmation_is_a_danger_button_with_a_confirm_dialog() -> None:
    plan = RemovalPlan(
        organization_id=ORG_ID, organization_name=NASTY, target_user_id=ORG_ID, target_slack_user_id="U0X",
        target_name="<b>Bob</b>", target_role="member", self_removal=False,
    )  # fmt: skip
    message = render.render_remove_confirmation(plan)
    body = json.dumps(message)
    assert "<!channel>" not in body and "<b>" not in body
    [button] = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"] if "confirm" in e]
    assert button["style"] == "danger" and button["confirm"]["style"] == "danger"
    assert render.parse_remove_value(button["value"]) == (str(ORG_ID), str(ORG_ID))
    long_plan = RemovalPlan(
        organization_id=ORG_ID, organization_name="&" * 255, target_user_id=ORG_ID, target_slack_user_id="U0X",
        target_name="<" * 255, target_role="admin", self_removal=False,
    )  # fmt: skip
    [long_button] = [
        e for b in render.render_remove_confirmation(long_plan)["blocks"] if b["type"] == "actions"
        for e in b["elements"] if "confirm" in e
    ]  # fmt: skip
    dialog_text = long_button["confirm"]["text"]["text"]
    assert len(dialog_text) <= 300 and "&amp;" in dialog_text and not dialog_text.startswith("&lt;&l…")
    assert render.parse_remove_value("not json") is None


def test_modal_carries_the_channel_and_caps_the_prefill() -> None:
    view = render.render_create_modal("y" * 300, channel_id="C0ABC")
    assert render.create_metadata(view["private_metadata"]) == "C0ABC"
    assert len(view["blocks"][0]["element"]["initial_value"]) == NAME_MAX_CHARS
    assert render.create_metadata("garbage") is None
    assert "initial_value" not in render.render_create_modal("  ", channel_id=None)["blocks"][0]["element"]


def test_members_and_bindings_escape_and_always_have_text() -> None:
    org = OrgContext(id=ORG_ID, name=NASTY, slug="s", role=OrgRole.OWNER)
    empty = Span(offset=0, limit=25, total=0, count=0)
    members, bindings = MemberList(org, [], empty), BindingList(org, [], empty)
    for message in (render.render_members(members, "/cs"), render.render_bindings(bindings, "/cs")):
        assert message["text"] and "<!channel>" not in json.dumps(message)
