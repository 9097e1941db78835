"""Cloud Firewalls, hostname and reverse DNS from Slack end to end, with the panel's activity rows:
another organisation's firewall is neither listed nor attachable, detaching asks first, the
hostname follows the panel's rules (and Linode's), rDNS only for the server's own addresses."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from bot.rendering import server_page as page_render
from tests.paypal_fixtures import payer
from tests.server_page_fixtures import activity_rows, flat, quick_linode_fixture  # noqa: F401 - fixtures
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    action_buttons,
    add_plan,
    button,
    click,
    command,
    create_server,
    response_count,
    response_matching,
    server_row,
    vps_bot_fixture,
    world_fixture,
)


def accessory(message: dict, action_id: str) -> dict:
    return next(b["accessory"] for b in message["blocks"] if (b.get("accessory") or {}).get("action_id") == action_id)


def devices_of(world: VpsWorld, firewall_id: int) -> list[int]:
    return [e["id"] for e in world.linode.firewalls[firewall_id]["entities"]]


async def test_firewalls_attach_detach_and_another_organisations_firewall_is_refused(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    member = await payer(world.engine, world.slack, role="member", org=owner.org)
    other = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    plan_id = await add_plan(world.engine)
    mine = await create_server(world, owner, plan_id, "fw-1")
    theirs = await create_server(world, other, plan_id, "fw-other")
    web = world.linode.add_firewall("web")
    private = world.linode.add_firewall("globex-private")
    spare = world.linode.add_firewall("spare")
    await command(world, other, "vps fw-other firewall attach globex-private")
    await response_matching(world, other, "now protects")
    assert devices_of(world, private["id"]) == [int(theirs["provider_instance_id"])]

    await command(world, member, "vps fw-1 firewall")
    listing = await response_matching(world, member, "Cloud Firewalls of fw-1")
    assert "web" in flat(listing) and "spare" in flat(listing) and "globex-private" not in flat(listing)
    assert not action_buttons(listing) and "accessory" not in flat(listing)  # members look only
    refused = await command(world, member, "vps fw-1 firewall attach web")
    assert "admin" in flat(refused).lower()

    await command(world, owner, "vps fw-1 firewall attach globex-private")
    said = await response_matching(world, owner, "No Cloud Firewall called globex-private is available")
    assert "fw-1" not in devices_of(world, private["id"]) and said
    await command(world, owner, "vps fw-1 firewall attach nothing-here")
    await response_matching(world, owner, "No Cloud Firewall called nothing-here")

    linode_id = int(mine["provider_instance_id"])
    await command(world, owner, "vps fw-1 firewall attach web")
    await response_matching(world, owner, "*web* now protects *fw-1*")
    assert devices_of(world, web["id"]) == [linode_id]
    [attached] = await activity_rows(world, mine["id"], "vps.firewall.attach")
    assert attached["metadata"]["firewallId"] == web["id"]
    assert attached["message"] == f"Attached firewall {web['id']} to VPS 'fw-1'"
    before = response_count(world, owner)
    await command(world, owner, "vps fw-1 firewall attach spare")  # Linode: one enabled firewall per server
    await response_matching(world, owner, "already has an active firewall", after=before)
    assert devices_of(world, spare["id"]) == []

    before = response_count(world, owner)
    await command(world, owner, "vps fw-1 firewall detach web")
    ask = await response_matching(world, owner, page_render.FIREWALL_DETACH_ACTION_ID, after=before)
    detach = accessory(ask, page_render.FIREWALL_DETACH_ACTION_ID)
    assert "confirm" in detach and devices_of(world, web["id"]) == [linode_id]  # nothing yet
    before = response_count(world, owner)
    await click(world, owner, button(page_render.FIREWALL_DETACH_ACTION_ID, detach["value"]))
    await response_matching(world, owner, "no longer protects", after=before)
    assert devices_of(world, web["id"]) == []
    [detached] = await activity_rows(world, mine["id"], "vps.firewall.detach")
    assert detached["metadata"]["firewallId"] == web["id"] and isinstance(detached["metadata"]["deviceId"], int)


async def test_another_providers_server_with_the_same_numeric_id_does_not_hide_a_firewall(world: VpsWorld) -> None:
    """The panel also keeps DigitalOcean rows, whose numeric ids can equal a Linode id: only Linode rows
    say whose a Linode is (else the firewall on our server would look like another organisation's)."""
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    other = await payer(world.engine, world.slack)
    mine = await create_server(world, owner, await add_plan(world.engine), "fw-2")
    web = world.linode.add_firewall("web-2")
    await command(world, owner, "vps fw-2 firewall attach web-2")
    await response_matching(world, owner, "now protects")
    async with world.engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO vps_instances (organization_id, plan_id, provider_instance_id, provider_type, label, "
                 "status) VALUES (:o, 's-1vcpu-1gb', :i, 'digitalocean', 'droplet-1', 'running')"),
            {"o": other.org.id, "i": mine["provider_instance_id"]},
        )  # fmt: skip
    before = response_count(world, owner)
    await command(world, owner, "vps fw-2 firewall detach web-2")
    ask = await response_matching(world, owner, page_render.FIREWALL_DETACH_ACTION_ID, after=before)
    assert "web-2" in flat(ask) and devices_of(world, web["id"]) == [int(mine["provider_instance_id"])]


async def test_hostname_follows_the_panels_rules_renames_at_linode_and_here(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    plan_id = await add_plan(world.engine)
    row = await create_server(world, owner, plan_id, "host-1")
    await create_server(world, owner, plan_id, "host-2")
    linode_id = int(row["provider_instance_id"])

    for name, reason in (("ab", "between 3 and 64 characters"), ("bad/name", "can only contain letters")):
        refused = await command(world, owner, f"vps host-1 hostname {name}")
        assert reason in flat(refused), name
    taken = await command(world, owner, "vps host-1 hostname HOST-2")
    await response_matching(world, owner, "already has a server called HOST-2")
    assert taken
    await command(world, owner, "vps host-1 hostname 1web")  # the panel allows it; Linode wants a letter first
    await response_matching(world, owner, "Linode refused the request")
    assert world.linode.instances[linode_id]["label"] == f"cs-{row['id'].hex}"

    await command(world, owner, "vps host-1 hostname web.example")
    await response_matching(world, owner, "is now called *web.example*")
    assert world.linode.instances[linode_id]["label"] == "web.example"
    assert await server_row(world.engine, owner, "web.example") is not None
    [logged] = await activity_rows(world, row["id"], "vps.hostname.update")
    assert logged["metadata"]["oldHostname"] == "host-1" and logged["metadata"]["newHostname"] == "web.example"
    assert logged["message"] == "Updated hostname for VPS 'host-1' to 'web.example'"
    page = await command(world, owner, "vps web.example")
    assert "web.example" in page["text"]


async def test_reverse_dns_only_for_the_servers_own_address(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    plan_id = await add_plan(world.engine)
    row = await create_server(world, owner, plan_id, "dns-1")
    await command(world, owner, "vps dns-1 rdns 198.51.100.250 mail.example.com")
    await response_matching(world, owner, "Address not assigned to this instance")
    await command(world, owner, "vps dns-1 rdns mail.example.com")
    await response_matching(world, owner, "mail.example.com")
    assert world.linode.ip(row["ip"])["rdns"] == "mail.example.com"
    logged = await activity_rows(world, row["id"], "vps.network.rdns")
    assert logged[-1]["metadata"]["ip"] == row["ip"] and logged[-1]["metadata"]["rdns"] == "mail.example.com"
