"""Reconciliation with Linode: adopting a create that crashed before our database heard of it,
following status and IP, flagging servers gone at Linode, and the power-off job kind."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text

from bot.app_keys import SERVICES
from bot.db import jobs as jobs_db
from bot.rendering.notices import written
from bot.services.identity import SlackRef, resolve_actor
from bot.services.vps_create import CreateRequest, begin_create, linode_label
from tests.conftest import TEAM_ID
from tests.paypal_fixtures import Payer, balance_of, payer
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    STAFF_CHANNEL,
    VpsWorld,
    add_plan,
    bind_vps_channel,
    linode_fixture,
    rows,
    server_row,
    sync_of,
    until,
    vps_bot_fixture,
    world_fixture,
)

NOTICE_CHANNEL = "C0VPSSYNC1"


async def provisioning_row(world: VpsWorld, owner: Payer, label: str, *, monthly: str = "5.00") -> object:
    """Step 1 of a create exactly as the bot runs it (row inserted and its first hour paid, Linode not
    yet answered)."""
    actor = await resolve_actor(world.bot.app[SERVICES].pool, SlackRef("", TEAM_ID, owner.slack_id), None)
    assert actor is not None
    plan_id = await add_plan(world.engine, base=monthly, markup="1.00" if monthly == "5.00" else "0.00")
    request = CreateRequest(label=label, plan_id=str(plan_id), region="us-east", image="linode/debian12")
    services = world.bot.app[SERVICES]
    assert services.linode is not None
    return await begin_create(
        world.engine, services.linode, services.settings, actor, request, request_key=secrets.token_hex(8)
    )


async def test_sync_adopts_an_instance_created_before_a_crash_and_charges_the_first_hour_once(
    world: VpsWorld,
) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("5.00"))
    pending = await provisioning_row(world, owner, "crash-1")
    seeded = world.linode.seed_instance(linode_label(pending.server_id), status="running")  # type: ignore[attr-defined]

    report = await sync_of(world).run_once()

    assert "crash-1" in report.adopted
    row = await server_row(world.engine, owner, "crash-1")
    assert row is not None
    assert row["provider_instance_id"] == str(seeded["id"]) and row["status"] == "running"
    assert row["ip"] == seeded["ipv4"][0]
    assert row["last_billed_at"] == row["created_at"] + timedelta(hours=1)
    await sync_of(world).run_once()  # a second pass charges nothing more
    cycles = await rows(world.engine, "SELECT * FROM vps_billing_cycles WHERE vps_instance_id = :v", v=row["id"])
    money = await rows(
        world.engine, "SELECT amount FROM payment_transactions WHERE organization_id = :o", o=owner.org.id
    )
    assert len(cycles) == 1 and [m["amount"] for m in money] == [Decimal("-0.01")]
    [created] = await rows(
        world.engine, "SELECT entity_type, metadata FROM activity_logs WHERE event_type = 'vps.create' "
        "AND entity_id = :e", e=str(row["id"]),
    )  # fmt: skip
    assert created["entity_type"] == "system" and created["metadata"]["adopted"] is True
    job = await rows(world.engine, "SELECT kind FROM bot_jobs WHERE dedupe_key = :k", k=f"rdns:{row['id']}")
    assert job == [{"kind": "rdns"}]


async def test_sync_follows_status_and_settles_and_removes_a_server_gone_at_linode(world: VpsWorld) -> None:
    """Gone at Linode: the hours begun since it was last billed are charged, the row is removed like the
    panel removes a deleted server's row (one left behind would stay billable by the panel's biller),
    and the organisation's channel and staff are told once."""
    owner = await payer(world.engine, world.slack)
    await bind_vps_channel(world.engine, owner, NOTICE_CHANNEL)
    pending = await provisioning_row(world, owner, "gone-1", monthly="73.00")  # 0.10/h
    seeded = world.linode.seed_instance(linode_label(pending.server_id), status="running")  # type: ignore[attr-defined]
    await sync_of(world).run_once()

    world.linode.set_status(seeded["id"], "offline")
    await sync_of(world).run_once()
    row = await server_row(world.engine, owner, "gone-1")
    assert row is not None and row["status"] == "stopped"

    async with world.engine.begin() as conn:  # two hours later, not billed since (the bot was down)
        await conn.execute(
            text("UPDATE vps_instances SET created_at = created_at - interval '2 hours', "
                 "last_billed_at = last_billed_at - interval '2 hours' WHERE id = :s"), {"s": row["id"]},
        )  # fmt: skip
    world.linode.remove_instance(seeded["id"])
    report = await sync_of(world).run_once()
    assert "gone-1" in report.missing
    assert await server_row(world.engine, owner, "gone-1") is None
    money = await rows(world.engine, "SELECT amount, description FROM payment_transactions WHERE organization_id = :o "
                       "ORDER BY created_at, id", o=owner.org.id)  # fmt: skip
    assert [m["amount"] for m in money] == [Decimal("-0.10")] * 3  # hour 0 at creation, hours 1 and 2 at the end
    assert await balance_of(world.engine, owner.org) == Decimal("9.70")
    notices = await rows(world.engine, "SELECT channel, payload FROM bot_outbox WHERE dedupe_key LIKE :k",
                         k=f"vps:missing:{row['id']}%")  # fmt: skip
    assert {n["channel"] for n in notices} == {NOTICE_CHANNEL, STAFF_CHANNEL}
    assert all("gone-1" in json.dumps(written(n["payload"])) for n in notices)
    [event] = await rows(
        world.engine, "SELECT metadata FROM activity_logs WHERE event_type = 'vps.sync.missing' AND entity_id = :e",
        e=str(row["id"]),
    )  # fmt: skip
    assert event["metadata"]["final_charge"] == "0.20"
    again = await sync_of(world).run_once()
    assert "gone-1" not in again.missing  # told once


async def test_sync_settles_a_row_an_earlier_version_only_marked_error_up_to_when_it_vanished(
    world: VpsWorld,
) -> None:
    """A row left `error` by an earlier version (gone at Linode, billed by nobody since): charged up to
    the time it was seen gone, not up to now, and removed."""
    owner = await payer(world.engine, world.slack)
    pending = await provisioning_row(world, owner, "legacy-1")
    seeded = world.linode.seed_instance(linode_label(pending.server_id), status="running")  # type: ignore[attr-defined]
    await sync_of(world).run_once()
    row = await server_row(world.engine, owner, "legacy-1")
    assert row is not None
    created = row["created_at"] - timedelta(days=30)
    async with world.engine.begin() as conn:
        await conn.execute(
            text("UPDATE vps_instances SET status = 'error', created_at = CAST(:c AS timestamptz), "
                 "last_billed_at = CAST(:c AS timestamptz) + interval '1 hour', "
                 "configuration = configuration || jsonb_build_object('botSync', jsonb_build_object('missingAt', "
                 "CAST(:m AS text))) WHERE id = :s"),
            {"s": row["id"], "c": created, "m": (created + timedelta(hours=1, minutes=30)).isoformat()},
        )  # fmt: skip
    world.linode.remove_instance(seeded["id"])
    report = await sync_of(world).run_once()
    assert "legacy-1" in report.missing
    assert await server_row(world.engine, owner, "legacy-1") is None
    money = await rows(world.engine, "SELECT amount FROM payment_transactions WHERE organization_id = :o",
                       o=owner.org.id)  # fmt: skip
    assert [m["amount"] for m in money] == [Decimal("-0.01")] * 2  # hour 0, and hour 1 (it vanished in hour 1)


async def test_sync_removes_a_provisioning_row_that_never_reached_linode_and_refunds_its_first_hour(
    world: VpsWorld,
) -> None:
    owner = await payer(world.engine, world.slack, balance=Decimal("5.00"))
    await bind_vps_channel(world.engine, owner, "C0VPSN" + secrets.token_hex(3).upper())
    pending = await provisioning_row(world, owner, "never-1")
    assert await balance_of(world.engine, owner.org) == Decimal("4.99")  # paid before Linode was asked
    report = await sync_of(world, provisioning_grace=timedelta(0)).run_once()
    assert "never-1" in report.abandoned
    assert await server_row(world.engine, owner, "never-1") is None
    assert await balance_of(world.engine, owner.org) == Decimal("5.00")
    money = await rows(
        world.engine, "SELECT amount, payment_method, payment_provider, status, description, metadata "
        "FROM payment_transactions WHERE organization_id = :o ORDER BY amount", o=owner.org.id,
    )  # fmt: skip
    assert [m["amount"] for m in money] == [Decimal("-0.01"), Decimal("0.01")]
    refund = money[1]
    assert (refund["payment_method"], refund["payment_provider"], refund["status"]) == (
        "wallet_credit", "internal", "completed",
    )  # fmt: skip
    assert refund["description"] == "Refund - VPS Creation - never-1 (Initial Hour)"
    assert refund["metadata"]["balance_after"] == "5.00" and refund["metadata"]["reason"] == "never_created_at_linode"
    key = await rows(world.engine, "SELECT amount FROM bot_ledger_keys WHERE key = :k",
                     k=f"vps:{pending.server_id}:hour:0:refund")  # type: ignore[attr-defined]  # fmt: skip
    assert key == [{"amount": Decimal("0.01")}]
    [notice] = await rows(world.engine, "SELECT payload FROM bot_outbox WHERE dedupe_key LIKE :k",
                          k=f"vps:abandoned:{pending.server_id}%")  # type: ignore[attr-defined]  # fmt: skip
    assert "was refunded" in written(notice["payload"])["text"]


async def test_power_off_job_shuts_the_server_down(world: VpsWorld) -> None:
    owner = await payer(world.engine, world.slack)
    pending = await provisioning_row(world, owner, "arrears-1")
    seeded = world.linode.seed_instance(linode_label(pending.server_id), status="running")  # type: ignore[attr-defined]
    await sync_of(world).run_once()
    row = await server_row(world.engine, owner, "arrears-1")
    assert row is not None

    async with world.engine.begin() as conn:
        await jobs_db.enqueue(conn, "power_off", {"server_id": str(row["id"]), "reason": "billing_arrears"},
                              dedupe_key=f"power_off:{row['id']}")  # fmt: skip

    async def done() -> bool:
        job = await rows(world.engine, "SELECT status FROM bot_jobs WHERE dedupe_key = :k", k=f"power_off:{row['id']}")
        return bool(job) and job[0]["status"] == "done"

    await until(done, what="the power_off job")
    assert world.linode.calls_to("instances.shutdown")
    assert world.linode.instances[seeded["id"]]["status"] in ("shutting_down", "offline")


async def test_most_servers_vanishing_at_once_removes_nothing_and_alerts_staff(world: VpsWorld) -> None:
    """A wrong token (another Linode account) makes every server look gone: that is not a reason to
    charge and remove them all."""
    owner = await payer(world.engine, world.slack)
    seeded = []
    for n in range(5):
        pending = await provisioning_row(world, owner, f"many-{n}")
        seeded.append(world.linode.seed_instance(linode_label(pending.server_id), status="running"))  # type: ignore[attr-defined]
    await sync_of(world).run_once()
    for instance in seeded:
        world.linode.remove_instance(instance["id"])

    report = await sync_of(world, mass_missing_share=0.5).run_once()

    assert report.missing == []
    kept = await rows(world.engine, "SELECT label FROM vps_instances WHERE organization_id = :o", o=owner.org.id)
    assert sorted(r["label"] for r in kept) == [f"many-{n}" for n in range(5)]
    alerts = await rows(world.engine, "SELECT payload FROM bot_outbox WHERE channel = :c AND dedupe_key LIKE "
                        "'vps:mass-missing:%'", c=STAFF_CHANNEL)  # fmt: skip
    assert alerts and "Nothing was charged or removed" in json.dumps(written(alerts[-1]["payload"]))
