"""The Linode emulator's statistics, transfer, backups and Cloud Firewalls through the real linode-api4
client (its generic ``get``/``post``/``put``/``delete``, as the bot calls them), on a fake clock."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from linode_api4 import LinodeClient

from bot.emulators.linode import FakeClock, LinodeEmulator
from tests.emulators.test_linode_emulator import api_error, client_fixture, create_web, sdk  # noqa: F401 - fixtures


@pytest.fixture(name="clock")
def clock_fixture() -> FakeClock:
    return FakeClock()


@pytest.fixture(name="em")
async def emulator_fixture(clock: FakeClock) -> AsyncIterator[LinodeEmulator]:
    async with LinodeEmulator(clock=clock, provision_seconds=1.0, boot_seconds=1.0, backup_seconds=100.0,
                              restore_seconds=50.0, stats_delay_seconds=300.0) as emulator:  # fmt: skip
        yield emulator


async def test_stats_are_unavailable_for_a_new_linode_then_cover_the_last_day_in_5_minute_steps(
    em: LinodeEmulator, client: LinodeClient, clock: FakeClock
) -> None:
    inst = await sdk(create_web, client)
    error = await api_error(client.get, f"/linode/instances/{inst.id}/stats")
    assert error.status == 400 and error.errors == ["Stats are unavailable at this time."]

    clock.advance(26 * 3600)
    stats = await sdk(client.get, f"/linode/instances/{inst.id}/stats")
    data = stats["data"]
    assert set(data) == {"cpu", "io", "netv4", "netv6"} and set(data["netv4"]) >= {"in", "out"}
    times = [t for t, _ in data["cpu"]]
    assert len(times) in (288, 289) and times == sorted(times)  # 24 h of 5-minute samples
    assert all(b - a == 300_000 for a, b in itertools.pairwise(times))
    assert clock.now * 1000 - times[-1] < 300_000
    assert all(0 <= v <= 100 for _, v in data["cpu"])
    assert stats == em.stats(inst.id)  # deterministic: a test can recompute what the bot was given


async def test_transfer_answers_bytes_used_and_the_quota_in_gb(em: LinodeEmulator, client: LinodeClient) -> None:
    inst = await sdk(create_web, client)
    em.set_transfer_used(inst.id, 1_500_000_000_000)
    transfer = await sdk(client.get, f"/linode/instances/{inst.id}/transfer")
    assert transfer == {"used": 1_500_000_000_000, "quota": 1000, "billable": 500}


async def test_backups_enable_schedule_snapshot_restore_and_cancel(
    em: LinodeEmulator, client: LinodeClient, clock: FakeClock
) -> None:
    inst = await sdk(create_web, client)
    clock.advance(5)
    base = f"/linode/instances/{inst.id}"
    error = await api_error(client.post, base + "/backups", data={"label": "before"})
    assert error.status == 400 and "not enabled" in error.errors[0]

    assert await sdk(client.post, base + "/backups/enable") == {}
    assert em.instances[inst.id]["backups"]["schedule"] == {"day": "Scheduling", "window": "Scheduling"}
    error = await api_error(client.put, base, data={"backups": {"schedule": {"day": "Funday", "window": "W4"}}})
    assert error.status == 400 and error.json["errors"][0]["field"] == "backups.schedule.day"
    await sdk(client.put, base, data={"backups": {"schedule": {"day": "Monday", "window": "W4"}}})
    assert em.instances[inst.id]["backups"]["schedule"] == {"day": "Monday", "window": "W4"}

    snap = await sdk(client.post, base + "/backups", data={"label": "before-upgrade"})
    assert (snap["type"], snap["status"], snap["label"]) == ("snapshot", "pending", "before-upgrade")
    listing = await sdk(client.get, base + "/backups")
    assert listing["snapshot"]["in_progress"]["id"] == snap["id"] and listing["snapshot"]["current"] is None
    busy = await api_error(client.post, base + f"/backups/{snap['id']}/restore", data={"linode_id": inst.id})
    assert busy.status == 400  # only successful backups restore
    clock.advance(100)
    listing = await sdk(client.get, base + "/backups")
    assert listing["snapshot"]["current"]["status"] == "successful" and listing["snapshot"]["in_progress"] is None
    assert em.instances[inst.id]["backups"]["last_successful"] == listing["snapshot"]["current"]["finished"]

    missing = await api_error(client.post, base + "/backups/1/restore", data={"linode_id": inst.id})
    assert missing.status == 404
    await sdk(client.post, base + f"/backups/{snap['id']}/restore", data={"linode_id": inst.id, "overwrite": True})
    assert em.instances[inst.id]["status"] == "restoring"
    clock.advance(50)
    assert em.instances[inst.id]["status"] == "offline"
    assert ("backups_restore", "finished") in [(e["action"], e["status"]) for e in em.events]

    assert await sdk(client.post, base + "/backups/cancel") == {}
    empty = {"automatic": [], "snapshot": {"current": None, "in_progress": None}}
    assert await sdk(client.get, base + "/backups") == empty
    again = await api_error(client.post, base + "/backups/enable")
    assert again.status == 400 and "Please wait 24 hours before reactivating backups" in again.errors[0]
    clock.advance(24 * 3600)
    assert await sdk(client.post, base + "/backups/enable") == {}


async def test_firewalls_attach_one_enabled_firewall_per_linode_and_detach_by_device(
    em: LinodeEmulator, client: LinodeClient
) -> None:
    inst = await sdk(create_web, client)
    web = em.add_firewall("web-only")
    other = em.add_firewall("ssh-only")
    listing = await sdk(client.get, "/networking/firewalls")
    assert [f["label"] for f in listing["data"]] == ["web-only", "ssh-only"] and listing["results"] == 2

    devices = f"/networking/firewalls/{web['id']}/devices"
    device = await sdk(client.post, devices, data={"type": "linode", "id": inst.id})
    assert device["entity"] == {"id": inst.id, "type": "linode", "label": "web-1",
                                "url": f"/v4/linode/instances/{inst.id}"}  # fmt: skip
    taken = await api_error(client.post, f"/networking/firewalls/{other['id']}/devices",
                            data={"type": "linode", "id": inst.id})  # fmt: skip
    assert taken.status == 400 and "already has an active firewall" in taken.errors[0]
    unknown = await api_error(client.post, f"/networking/firewalls/{web['id']}/devices",
                              data={"type": "linode", "id": 1})  # fmt: skip
    assert unknown.status == 404
    attached = await sdk(client.get, f"/linode/instances/{inst.id}/firewalls")
    assert [f["id"] for f in attached["data"]] == [web["id"]]

    await sdk(client.delete, f"/networking/firewalls/{web['id']}/devices/{device['id']}")
    assert (await sdk(client.get, f"/linode/instances/{inst.id}/firewalls"))["data"] == []
    gone = await api_error(client.delete, f"/networking/firewalls/{web['id']}/devices/{device['id']}")
    assert gone.status == 404
