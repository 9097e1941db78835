"""A form acts in the organisation it was shown for, never in whichever one is active at submit time,
and only while the submitter's role there still allows it (read afresh at submit)."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import text

from bot.rendering import tickets as ticket_render
from bot.rendering import vps as render
from tests.factories import OrgRecord, make_org
from tests.paypal_fixtures import Payer, balance_of, payer
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    add_plan,
    command,
    create_values,
    linode_fixture,
    rows,
    submit,
    until,
    vps_bot_fixture,
    wait_modal,
    world_fixture,
)


async def two_organisations(world: VpsWorld) -> tuple[Payer, OrgRecord]:
    """An owner of organisation A (the payer's) and of B, acting in A for now."""
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"), org_name="Alpha Org")
    other = await make_org(world.engine, owner.user, name="Beta Org", balance=Decimal("10.00"))
    chosen = await command(world, owner, f"org use {owner.org.slug}")
    assert "Alpha Org" in json.dumps(chosen)
    return owner, other


async def switch_to(world: VpsWorld, who: Payer, org: OrgRecord) -> None:
    answer = await command(world, who, f"org use {org.slug}")
    assert org.name in json.dumps(answer), answer


async def set_role(world: VpsWorld, who: Payer, org: OrgRecord, role: str) -> None:
    async with world.engine.begin() as conn:
        await conn.execute(
            text("UPDATE organization_members SET role = :r WHERE organization_id = :o AND user_id = :u"),
            {"r": role, "o": org.id, "u": who.user.id},
        )


async def servers(world: VpsWorld, org_id: object) -> list[str]:
    found = await rows(world.engine, "SELECT label FROM vps_instances WHERE organization_id = :o", o=org_id)
    return [r["label"] for r in found]


async def test_the_create_form_creates_in_the_organisation_it_was_opened_for(world: VpsWorld) -> None:
    owner, beta = await two_organisations(world)
    plan_id = await add_plan(world.engine, base="5.00", markup="1.00")
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
    assert "Alpha Org" in json.dumps(modal)

    await switch_to(world, owner, beta)
    answer = await submit(world, owner, modal, create_values(plan_id, label="bound-1"))

    assert answer["response_action"] == "update", answer
    assert await until(lambda: servers(world, owner.org.id), what="the server in Alpha") == ["bound-1"]
    assert await servers(world, beta.id) == []
    assert await balance_of(world.engine, beta) == Decimal("10.00")  # the other wallet is never billed


async def test_the_create_form_is_refused_once_the_role_where_it_was_opened_no_longer_allows_it(
    world: VpsWorld,
) -> None:
    owner, beta = await two_organisations(world)
    plan_id = await add_plan(world.engine, base="5.00", markup="1.00")
    await command(world, owner, "vps create")
    modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)

    await set_role(world, owner, owner.org, "member")  # still an owner of Beta, now active
    await switch_to(world, owner, beta)
    answer = await submit(world, owner, modal, create_values(plan_id, label="refused-1"))

    assert answer["response_action"] == "update"
    assert "You need to be an organisation admin of “Alpha Org”" in json.dumps(answer["view"], ensure_ascii=False)
    assert await servers(world, owner.org.id) == [] and await servers(world, beta.id) == []
    assert world.linode.calls_to("instances.create") == []
    assert await balance_of(world.engine, owner.org) == await balance_of(world.engine, beta) == Decimal("10.00")


async def tickets_of(world: VpsWorld, org_id: object) -> list[str]:
    found = await rows(world.engine, "SELECT subject FROM support_tickets WHERE organization_id = :o", o=org_id)
    return [r["subject"] for r in found]


TICKET = {
    "subject": {"value": "Bound ticket"},
    "category": {"value": "general"},
    "priority": {"value": {"type": "static_select", "selected_option": {"value": "low"}}},
    "message": {"value": "Filed where the form was opened."},
}


async def test_the_ticket_form_files_where_it_was_opened_and_not_after_leaving(world: VpsWorld) -> None:
    owner, beta = await two_organisations(world)
    await command(world, owner, "ticket new")
    first = await wait_modal(world.slack, owner, ticket_render.NEW_CALLBACK_ID)
    await switch_to(world, owner, beta)
    assert await submit(world, owner, first, TICKET) == {}
    assert await until(lambda: tickets_of(world, owner.org.id), what="the ticket in Alpha") == ["Bound ticket"]
    assert await tickets_of(world, beta.id) == []

    await switch_to(world, owner, owner.org)
    world.slack.clear_views(owner.slack_id)
    await command(world, owner, "ticket new")
    second = await wait_modal(world.slack, owner, ticket_render.NEW_CALLBACK_ID)
    async with world.engine.begin() as conn:  # they leave Alpha (another owner keeps it)
        await conn.execute(
            text("DELETE FROM organization_members WHERE organization_id = :o AND user_id = :u"),
            {"o": owner.org.id, "u": owner.user.id},
        )
    refused = await submit(world, owner, second, {**TICKET, "subject": {"value": "After leaving"}})
    assert refused["response_action"] == "update"
    assert "not (or no longer) a member" in json.dumps(refused["view"], ensure_ascii=False)
    assert "After leaving" not in await tickets_of(world, owner.org.id) + await tickets_of(world, beta.id)
