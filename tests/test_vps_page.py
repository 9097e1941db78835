"""`/cs vps <label>` is the server's page, and `/cs vps <label> stats` its last 24 hours as a chart:
through really signed requests, the running bot, the Linode emulator and the Slack emulator's files."""

from __future__ import annotations

import uuid
from decimal import Decimal

from bot.rendering import server_page as page_render
from bot.rendering import vps as render
from tests.paypal_fixtures import payer
from tests.png_reader import read_png
from tests.server_page_fixtures import dm_of, flat, quick_linode_fixture, shared_file  # noqa: F401 - fixtures
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    action_buttons,
    add_plan,
    bind_vps_channel,
    button,
    click,
    command,
    create_server,
    response_count,
    response_matching,
    vps_bot_fixture,
    world_fixture,
)

NOTICES = "C0PAGENOTE"


async def test_the_page_shows_specs_transfer_backups_firewalls_and_cost_and_members_get_no_changes(
    world: VpsWorld,
) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    plan_id = await add_plan(world.engine, "g6-nanode-1", base="5.00", markup="1.00", name="Nano")
    row = await create_server(world, owner, plan_id, "page-1")
    linode_id = int(row["provider_instance_id"])
    world.linode.set_transfer_used(linode_id, 250_000_000_000)
    firewall = world.linode.add_firewall("web <only>")
    await world.linode.wait_for("ips.rdns")

    before = response_count(world, owner)
    ack = await command(world, owner, "vps page-1")
    assert "page-1" in ack["text"] and "Asking Linode for live details" in flat(ack)
    page = await response_matching(world, owner, "Transfer this month", after=before)
    text = flat(page)
    assert "1 vCPU" in text and "1.0 GB RAM" in text and "20.0 GB disk" in text  # Linode's specs: no plan specs
    assert "Transfer this month: 250.00 GB of 1000.00 GB (25.0%)" in text  # the plan names none: Linode's quota
    assert "Backups: off (would cost $2.40/month" in text  # 40 % of (5 + 1), the panel's quote
    assert "Cloud Firewalls: none" in text and "this month 1 h billed, *$0.01*" in text
    assert f"{row['ip'].replace('.', '-')}.ip.rev.skyvps360.xyz" in text  # rDNS
    assert f"cs-{row['id'].hex}" in text  # the Linode label is the hostname
    buttons = action_buttons(page)
    assert {page_render.STATS_ACTION_ID, page_render.HOSTNAME_OPEN_ACTION_ID, render.POWER_ACTION_IDS["stop"]} <= set(
        buttons
    )
    assert render.POWER_ACTION_IDS["start"] not in buttons  # running: no Start

    member = await payer(world.engine, world.slack, role="member", org=owner.org)
    before = response_count(world, member)
    await command(world, member, "vps page-1")
    seen = await response_matching(world, member, "Transfer this month", after=before)
    assert set(action_buttons(seen)) == set(page_render.VIEW_ACTION_IDS)  # looks, changes nothing
    assert firewall["label"] not in flat(seen)


async def test_stats_come_as_a_png_chart_of_the_series_linode_gave_with_the_numbers_in_words(
    world: VpsWorld,
) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    plan_id = await add_plan(world.engine)
    row = await create_server(world, owner, plan_id, "stats-1")
    linode_id = int(row["provider_instance_id"])
    world.linode.age_instance(linode_id, 2 * 86400)  # Linode has a whole day of samples

    ack = await command(world, owner, "vps stats-1 stats")
    assert "last 24 hours" in ack["text"]
    card = await response_matching(world, owner, "CPU average")
    assert "in your DM with the bot" in flat(card)
    png_file = await shared_file(world.slack, dm_of(owner.slack_id), "stats-1-24h.png")
    png = read_png(png_file.data or b"")
    assert (png.width, png.height) == (1000, 780)  # three panels, 10 × 7.8 in at 100 dpi
    given = world.linode.calls_to("instances.stats")[-1].response["data"]
    plotted = png.plotted["panels"]
    assert [p["title"] for p in plotted] == ["CPU", "Network (IPv4)", "Disk I/O"]
    cpu = plotted[0]["series"][0]
    assert cpu["x"] == [t / 1000 for t, _ in given["cpu"]] and cpu["y"] == [v for _, v in given["cpu"]]
    assert plotted[1]["series"][1]["y"] == [v for _, v in given["netv4"]["out"]]
    average = sum(v for _, v in given["cpu"]) / len(given["cpu"])
    assert f"CPU average {average:.1f}%" in flat(card)
    [message] = [m for m in world.slack.channel_messages(dm_of(owner.slack_id)) if m.get("files")]
    assert "CPU average" in message["text"] and len(given["cpu"]) in (288, 289)


async def test_stats_of_a_brand_new_server_say_linode_has_none_yet(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    plan_id = await add_plan(world.engine)
    world.linode.set_stats_delay(3600)
    await create_server(world, owner, plan_id, "fresh-1")

    await command(world, owner, "vps fresh-1 stats")
    said = await response_matching(world, owner, "no statistics for fresh-1 yet")
    assert "a few minutes after a server is created" in flat(said)
    assert world.linode.calls_to("instances.stats")[-1].status == 400
    assert not world.slack.files()


async def test_a_channel_bound_for_server_notices_gets_the_chart_in_the_channel(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    await bind_vps_channel(world.engine, owner, NOTICES)
    world.slack.add_channel(NOTICES, name="ops", members=[owner.slack_id])
    plan_id = await add_plan(world.engine)
    await create_server(world, owner, plan_id, "bound-1")
    request = world.requests.slash_command(owner.slack_id, "vps bound-1 stats", channel_id=NOTICES)
    status, _ = await world.bot.send(request)
    assert status == 200
    await shared_file(world.slack, NOTICES, "bound-1-24h.png")
    assert not world.slack.files(dm_of(owner.slack_id))


async def test_page_subcommands_of_an_unknown_server_or_another_organisation_are_refused(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    stranger = await payer(world.engine, world.slack, balance=Decimal("20.00"))
    plan_id = await add_plan(world.engine)
    await create_server(world, owner, plan_id, "mine-1")
    for words in ("vps mine-1 stats", "vps mine-1 backups", "vps mine-1 hostname other-1"):
        answer = await command(world, stranger, words)
        assert "No server with that label" in flat(answer), words
    assert not world.linode.calls_to("instances.stats")
    assert uuid.UUID(int=0)  # nothing else to check: no Linode call was made for the stranger
    await click(world, stranger, button(page_render.STATS_ACTION_ID, str(uuid.uuid4())))
