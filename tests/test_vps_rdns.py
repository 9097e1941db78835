"""Reverse DNS of a new server's first IPv4, retried through the durable job table."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text

from bot.rendering import vps as render
from tests.paypal_fixtures import payer
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
    wait_status,
    world_fixture,
)


async def test_rdns_failure_is_retried_by_the_job_until_linode_accepts_it(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("10.00"))
    plan_id = await add_plan(world.engine)
    async with world.engine.begin() as conn:  # the panel's rule: newest row, trimmed, stripped of dots
        await conn.execute(text("INSERT INTO networking_config (rdns_base_domain) VALUES ('  .rev.example.net. ')"))
    world.linode.set_rdns_resolves(False)
    try:
        await command(world, owner, "vps create")
        modal = await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
        await submit(world, owner, modal, create_values(plan_id, label="named-1"))
        row = await wait_status(world.engine, owner, "named-1", "running")
        key = f"rdns:{row['id']}"

        async def failed_twice() -> bool:
            job = await rows(world.engine, "SELECT attempts, last_error, status FROM bot_jobs WHERE dedupe_key = :k",
                             k=key)  # fmt: skip
            return bool(job) and job[0]["attempts"] >= 2 and job[0]["status"] != "done"

        await until(failed_twice, what="two failed rDNS attempts")
        [job] = await rows(world.engine, "SELECT last_error FROM bot_jobs WHERE dedupe_key = :k", k=key)
        assert "validation" in job["last_error"]
        world.linode.set_rdns_resolves(True)

        async def done() -> bool:
            found = await rows(world.engine, "SELECT status FROM bot_jobs WHERE dedupe_key = :k", k=key)
            return found[0]["status"] == "done"

        await until(done, what="the rDNS job to finish")
        address = row["ip"]
        assert world.linode.ip(address)["rdns"] == f"{address.replace('.', '-')}.rev.example.net"
        statuses = [c.status for c in world.linode.calls_to("ips.rdns")]
        assert statuses[-1] == 200 and statuses.count(400) >= 2
    finally:
        async with world.engine.begin() as conn:
            await conn.execute(text("DELETE FROM networking_config WHERE rdns_base_domain LIKE '%rev.example.net%'"))
