"""The Linode emulator driven through the real linode-api4 SDK: lifecycle, faults, listings.

The SDK is synchronous, so every call runs in a worker thread (as the bot runs it); the emulator
keeps serving on the test's event loop. Time is a fake clock: transitions never need sleeps.
Helpers and fixtures here are shared with ``test_linode_rules.py``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import json
import re
import struct
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
import pytest
from linode_api4 import Event, Instance, LinodeClient
from linode_api4.errors import ApiError
from linode_api4.objects.filtering import Filter

from bot.emulators.linode import LABEL_NOT_UNIQUE, RESIZE_STATUS, FakeClock, LinodeEmulator

TOKEN = "emu-linode-token"
STRONG_PASSWORD = "Correct-Horse-42"
T = TypeVar("T")


def ssh_key(name: str = "alice") -> str:
    """A well-formed ed25519 public key line; the SDK would read anything else as a file path."""
    key_type = b"ssh-ed25519"
    material = hashlib.sha256(name.encode()).digest()
    blob = struct.pack(">I", len(key_type)) + key_type + struct.pack(">I", len(material)) + material
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {name}@example.com"


async def sdk(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The SDK is synchronous: run each call in a worker thread, as the bot does."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def api_error(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await sdk(fn, *args, **kwargs)
    return caught.value


def fields(error: ApiError) -> list[str | None]:
    return [e.get("field") for e in (error.json or {}).get("errors", [])]


def status_of(client: LinodeClient, linode_id: int) -> str:
    """A fresh GET: the SDK caches ``status`` for 15 s of real time, which a fake clock never passes."""
    return str(client.load(Instance, linode_id).status)


# Registered under short names; the function names differ so other modules can import them.
@pytest.fixture(name="clock")
def clock_fixture() -> FakeClock:
    return FakeClock()


@pytest.fixture(name="em")
async def emulator_fixture(clock: FakeClock) -> AsyncIterator[LinodeEmulator]:
    async with LinodeEmulator(clock=clock, provision_seconds=1.0, boot_seconds=2.0) as emulator:
        yield emulator


@pytest.fixture(name="client")
def client_fixture(em: LinodeEmulator) -> Iterator[LinodeClient]:
    linode = LinodeClient(TOKEN, base_url=em.base_url, retry_rate_limit_interval=0.01)
    yield linode
    linode.session.close()


def create_web(client: LinodeClient, label: str = "web-1", **extra: Any) -> Instance:
    return client.linode.instance_create(
        "g6-nanode-1",
        "us-east",
        image="linode/debian12",
        root_pass=STRONG_PASSWORD,
        label=label,
        **extra,
    )


# --- lifecycle ----------------------------------------------------------------------------------


async def test_create_instance_walks_provisioning_booting_running(
    em: LinodeEmulator, client: LinodeClient, clock: FakeClock
) -> None:
    """A full create answers 200 with a provisioning Instance that boots as the clock advances."""
    inst = await sdk(
        create_web,
        client,
        authorized_keys=[ssh_key()],
        stackscript=10079,
        stackscript_data={"DB_PASSWORD": "hunter2"},
        tags=["customer-7"],
    )

    assert inst.status == "provisioning"
    assert isinstance(inst.created, datetime)  # the SDK only parses zone-less timestamps
    assert ipaddress.ip_address(inst.ipv4[0]) in ipaddress.ip_network("203.0.113.0/24")
    assert inst.specs.memory == 1024 and inst.type.id == "g6-nanode-1"
    raw = em.instances[inst.id]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", raw["created"])
    assert raw["tags"] == ["customer-7"] and raw["ipv6"].endswith("/128")

    clock.advance(1.0)
    assert await sdk(status_of, client, inst.id) == "booting"
    clock.advance(2.0)
    assert await sdk(status_of, client, inst.id) == "running"
    assert [(e["action"], e["status"]) for e in em.events] == [
        ("linode_boot", "finished"),
        ("linode_create", "finished"),
    ]


async def test_create_with_booted_false_ends_offline(
    em: LinodeEmulator, client: LinodeClient, clock: FakeClock
) -> None:
    inst = await sdk(create_web, client, booted=False)
    clock.advance(10)
    assert await sdk(status_of, client, inst.id) == "offline"
    assert [e["action"] for e in em.events] == ["linode_create"]


async def test_power_actions_through_sdk_move_status_and_reject_while_busy(
    em: LinodeEmulator, client: LinodeClient, clock: FakeClock
) -> None:
    """shutdown/boot/reboot get 200 ``{}`` (the SDK needs a body); a second action mid-way is 400."""
    seeded = em.seed_instance("app-1")
    inst = Instance(client, seeded["id"])

    assert await sdk(inst.shutdown) is True
    assert em.instances[inst.id]["status"] == "shutting_down"
    busy = await api_error(inst.boot)
    assert busy.status == 400 and busy.errors == ["Linode busy."]
    clock.advance(1.0)
    assert await sdk(status_of, client, inst.id) == "offline"

    assert await sdk(inst.boot) is True
    assert em.instances[inst.id]["status"] == "booting"
    clock.advance(2.0)
    assert await sdk(inst.reboot) is True
    assert em.instances[inst.id]["status"] == "rebooting"
    clock.advance(2.0)
    assert await sdk(status_of, client, inst.id) == "running"
    assert all(c.response == {} for c in em.calls if c.ok and c.route_key.endswith(("boot", "shutdown")))


async def test_rebuild_returns_instance_and_ends_running(
    em: LinodeEmulator, client: LinodeClient, clock: FakeClock
) -> None:
    inst = Instance(client, em.seed_instance("app-1")["id"])

    assert await sdk(inst.rebuild, "linode/ubuntu24.04", root_pass=STRONG_PASSWORD) is True

    assert inst.status == "rebuilding" and inst.image.id == "linode/ubuntu24.04"
    clock.advance(3.0)
    assert await sdk(status_of, client, inst.id) == "running"
    assert em.events[0]["action"] == "linode_rebuild" and em.events[0]["status"] == "finished"


async def test_resize_migrates_then_runs_with_new_type_and_specs(
    em: LinodeEmulator, client: LinodeClient, clock: FakeClock
) -> None:
    inst = Instance(client, em.seed_instance("app-1")["id"])

    assert await sdk(inst.resize, "g6-standard-2") is True

    assert em.instances[inst.id]["status"] == RESIZE_STATUS
    assert em.calls_to("instances.resize")[0].body["migration_type"] == "cold"
    clock.advance(3.0)
    fresh = await sdk(client.load, Instance, inst.id)
    assert (fresh.status, fresh.type.id, fresh.specs.vcpus, fresh.specs.memory) == ("running", "g6-standard-2", 2, 4096)


async def test_delete_makes_instance_404_and_frees_label_and_ips(em: LinodeEmulator, client: LinodeClient) -> None:
    inst = await sdk(create_web, client)
    address = inst.ipv4[0]

    assert await sdk(inst.delete) is True

    gone = await api_error(client.load, Instance, inst.id)
    assert gone.status == 404 and gone.errors == ["Not found"]
    assert em.ip(address) is None
    assert em.events[0]["action"] == "linode_delete" and em.events[0]["status"] == "finished"
    again = await sdk(create_web, client)
    assert again.label == "web-1" and again.id != inst.id


async def test_set_status_and_remove_instance_hooks_change_what_the_sdk_sees(
    em: LinodeEmulator, client: LinodeClient
) -> None:
    inst = await sdk(create_web, client)

    em.set_status(inst.id, "billing_suspension")
    assert await sdk(status_of, client, inst.id) == "billing_suspension"
    assert {e["status"] for e in em.events} == {"failed"}  # the interrupted create
    em.remove_instance(inst.id)
    assert (await api_error(client.load, Instance, inst.id)).status == 404
    assert em.instance_by_label("web-1") is None
    with pytest.raises(ValueError, match="unknown Linode status"):
        em.set_status(1, "resizing")


# --- faults -------------------------------------------------------------------------------------


async def test_a_restored_instance_keeps_its_id_address_and_state(em: LinodeEmulator, client: LinodeClient) -> None:
    """What the sandbox does after a restart: the in-memory account gets back what its database kept."""
    em.restore_instance(
        50_000_042, label="cs-kept", type="g6-standard-1", region="eu-west", image="linode/debian12",
        status="offline", ipv4="198.51.100.7",
    )  # fmt: skip
    kept = await sdk(client.load, Instance, 50_000_042)
    assert (kept.label, kept.status, kept.type.id, kept.region.id) == ("cs-kept", "offline", "g6-standard-1", "eu-west")
    assert kept.ipv4 == ["198.51.100.7"]
    assert (await sdk(create_web, client)).id > 50_000_042  # later creates never reuse a restored id
    with pytest.raises(ValueError, match="already exists"):
        em.restore_instance(50_000_042, label="again", type="g6-nanode-1", region="us-east", image=None)


async def test_duplicate_label_is_400_on_label_field(em: LinodeEmulator, client: LinodeClient) -> None:
    await sdk(create_web, client)

    error = await api_error(create_web, client)

    assert error.status == 400 and error.errors == [LABEL_NOT_UNIQUE]
    assert fields(error) == ["label"]


async def test_create_502_after_effect_sdk_retry_hits_unique_label_and_one_instance_exists(
    em: LinodeEmulator, client: LinodeClient
) -> None:
    """The server is created but the gateway answers 502; the SDK re-POSTs and the label saves us."""
    em.fail("instances.create", status=502, after_effect=True)

    error = await api_error(create_web, client)

    assert error.status == 400 and LABEL_NOT_UNIQUE in error.errors
    assert [c.status for c in em.calls_to("instances.create")] == [502, 400]
    assert len(em.instances) == 1
    assert em.instance_by_label("web-1") is not None


async def test_429_retry_after_is_honoured_by_the_sdk(em: LinodeEmulator, client: LinodeClient) -> None:
    em.fail("instances.create", status=429, retry_after=1)
    started = time.monotonic()

    inst = await sdk(create_web, client)

    assert time.monotonic() - started >= 0.9  # Retry-After, not the 0.01 s retry interval
    assert [c.status for c in em.calls_to("instances.create")] == [429, 200]
    assert em.instances[inst.id]["label"] == "web-1"


async def test_fault_without_after_effect_does_nothing_and_500_is_not_retried(
    em: LinodeEmulator, client: LinodeClient
) -> None:
    em.fail("instances.create", status=500)

    error = await api_error(create_web, client)

    assert error.status == 500 and error.errors == ["Internal Server Error"]
    assert em.instances == {} and len(em.calls_to("instances.create")) == 1


async def test_after_effect_on_boot_boots_although_the_sdk_sees_an_error(
    em: LinodeEmulator, client: LinodeClient
) -> None:
    inst = Instance(client, em.seed_instance("app-1", status="offline")["id"])
    em.fail("instances.boot", status=500, body={"errors": [{"reason": "oops"}]}, after_effect=True)

    error = await api_error(inst.boot)

    assert error.errors == ["oops"] and em.instances[inst.id]["status"] == "booting"
    assert em.calls_to("instances.boot")[0].faulted


async def test_responses_carry_rate_limit_headers_and_429_retry_after(em: LinodeEmulator) -> None:
    em.fail("regions.list", status=429, retry_after=2.5)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{em.base_url}/regions", headers=headers) as limited:
            assert limited.status == 429 and limited.headers["Retry-After"] == "3"
        async with http.get(f"{em.base_url}/regions", headers=headers) as ok:
            assert ok.status == 200
            assert ok.headers["X-RateLimit-Limit"] == "800"
            assert ok.headers["X-RateLimit-Remaining"] == "798"
            assert int(ok.headers["X-RateLimit-Reset"]) > 0
        async with http.get(f"{em.base_url}/nowhere", headers=headers) as missing:
            assert missing.status == 404 and await missing.json() == {"errors": [{"reason": "Not found"}]}


async def test_slow_route_delays_and_wait_for_sees_the_call(em: LinodeEmulator, client: LinodeClient) -> None:
    em.slow("instances.create", 0.3)
    started = time.monotonic()
    creating = asyncio.create_task(sdk(create_web, client))

    [call] = await em.wait_for("instances.create")

    assert call.status == 200 and call.headers["authorization"] == f"Bearer {TOKEN}"
    assert time.monotonic() - started >= 0.3
    await creating
    em.clear_faults()
    with pytest.raises(AssertionError, match=r"expected 1 call\(s\) to instances.delete"):
        await em.wait_for("instances.delete", timeout=0.05)
    with pytest.raises(ValueError, match="unknown route key"):
        em.fail("instances.explode")


async def test_bad_token_is_401_and_token_rotation_takes_effect(em: LinodeEmulator, client: LinodeClient) -> None:
    stranger = LinodeClient("wrong-token", base_url=em.base_url)
    try:
        error = await api_error(lambda: list(stranger.linode.instances()))
    finally:
        stranger.session.close()
    assert error.status == 401 and error.errors == ["Invalid Token"]

    em.set_token("rotated-token")
    assert (await api_error(lambda: list(client.regions()))).status == 401
    client.token = "rotated-token"
    assert len(await sdk(lambda: list(client.regions()))) == 11


async def test_profile_answers_with_the_tokens_scopes_in_x_oauth_scopes(em: LinodeEmulator) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{em.base_url}/profile", headers=headers) as full:
            assert full.status == 200 and (await full.json())["username"]
            assert full.headers["X-OAuth-Scopes"] == "*"
        em.scopes = "linodes:read_only ips:read_write"
        async with http.get(f"{em.base_url}/regions", headers=headers) as narrow:
            assert narrow.headers["X-OAuth-Scopes"] == "linodes:read_only ips:read_write"
        async with http.get(f"{em.base_url}/profile", headers={"Authorization": "Bearer wrong"}) as refused:
            assert refused.status == 401 and "X-OAuth-Scopes" not in refused.headers


# --- listings -----------------------------------------------------------------------------------


async def test_paginated_listing_walks_every_page_with_consistent_sizes(
    em: LinodeEmulator, client: LinodeClient
) -> None:
    for number in range(130):
        em.seed_instance(f"node-{number:03d}")
    small_pages = LinodeClient(TOKEN, base_url=em.base_url, page_size=25)

    try:
        by_default = await sdk(lambda: [i.label for i in client.linode.instances()])
        by_25 = await sdk(lambda: [i.label for i in small_pages.linode.instances()])
    finally:
        small_pages.session.close()

    expected = [f"node-{n:03d}" for n in range(130)]
    assert by_default == expected and by_25 == expected
    queries = [c.query for c in em.calls_to("instances.list")]
    assert queries[:2] == [{}, {"page": "2", "page_size": "100"}]
    assert queries[2:] == [{"page_size": "25"}] + [{"page": str(p), "page_size": "25"} for p in range(2, 7)]


async def test_x_filter_on_label_id_and_tags_with_ordering(em: LinodeEmulator, client: LinodeClient) -> None:
    ids = [
        em.seed_instance(label, tags=tags)["id"]
        for label, tags in [("alpha", ["prod"]), ("beta", []), ("gamma", ["prod", "eu"])]
    ]

    by_label = await sdk(lambda: [i.id for i in client.linode.instances(Instance.label == "beta")])
    by_id = await sdk(lambda: [i.label for i in client.linode.instances(Instance.id == ids[2])])
    prod_desc = await sdk(
        lambda: [
            i.label for i in client.linode.instances((Instance.tags == "prod").order_by(Instance.label, desc=True))
        ]
    )

    assert by_label == [ids[1]] and by_id == ["gamma"] and prod_desc == ["gamma", "alpha"]
    assert json.loads(em.calls_to("instances.list")[0].headers["x-filter"]) == {"label": "beta"}


async def test_events_for_one_instance_filtered_by_entity_and_ordered_by_created(
    em: LinodeEmulator, client: LinodeClient, clock: FakeClock
) -> None:
    mine = await sdk(create_web, client)
    await sdk(create_web, client, label="web-2")
    clock.advance(1.5)  # create finished, boot half-way
    by_entity = Filter({"entity.id": mine.id, "entity.type": "linode", "+order_by": "created", "+order": "asc"})

    events = await sdk(
        lambda: [(e.action, e.status, e.percent_complete, e.entity.id) for e in client.account.events(by_entity)]
    )

    assert events == [("linode_create", "finished", 100, mine.id), ("linode_boot", "started", 25, mine.id)]
    boots = await sdk(lambda: list(client.account.events(Event.action == "linode_boot")))
    assert {e.entity.label for e in boots} == {"web-1", "web-2"}
    one = await sdk(client.load, Event, boots[0].id)
    assert one.created.year >= 2025 and one.entity.url == f"/v4/linode/instances/{one.entity.id}"
