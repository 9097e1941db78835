"""The Linode catalogue cache: concurrent create modals share one slow read, failures are retried."""

from __future__ import annotations

import asyncio

import pytest

from bot.linode.catalogue_cache import CatalogueCache
from bot.rendering import vps as render
from tests.paypal_fixtures import payer
from tests.vps_fixtures import (  # noqa: F401 - fixtures
    VpsWorld,
    add_plan,
    linode_fixture,
    vps_bot_fixture,
    wait_modal,
    world_fixture,
)


class Loader:
    """Counts loads; each waits for `release` so several callers overlap."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.fail_next = False

    async def __call__(self) -> list[str]:
        self.calls += 1
        await self.release.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("linode is down")
        return [f"answer {self.calls}"]


async def test_concurrent_callers_share_one_read() -> None:
    cache, load = CatalogueCache(ttl_seconds=60), Loader()
    waiting = [asyncio.create_task(cache.get("regions", load)) for _ in range(20)]
    await asyncio.sleep(0)
    load.release.set()
    assert await asyncio.gather(*waiting) == [["answer 1"]] * 20
    assert load.calls == 1


async def test_answer_is_reused_until_it_is_older_than_the_ttl() -> None:
    now = [100.0]
    cache, load = CatalogueCache(ttl_seconds=60, clock=lambda: now[0]), Loader()
    load.release.set()
    assert await cache.get("images", load) == ["answer 1"]
    now[0] += 59
    assert await cache.get("images", load) == ["answer 1"]
    now[0] += 2
    assert await cache.get("images", load) == ["answer 2"]
    assert await cache.get("regions", load) == ["answer 3"]  # another key is its own entry


async def test_a_failure_reaches_every_waiter_and_is_not_remembered() -> None:
    cache, load = CatalogueCache(ttl_seconds=60), Loader()
    load.fail_next = True
    waiting = [asyncio.create_task(cache.get("regions", load)) for _ in range(3)]
    await asyncio.sleep(0)
    load.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results) and load.calls == 1
    assert await cache.get("regions", load) == ["answer 2"]


async def test_a_caller_giving_up_does_not_cancel_the_shared_read() -> None:
    cache, load = CatalogueCache(ttl_seconds=60), Loader()
    patient = asyncio.create_task(cache.get("regions", load))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(cache.get("regions", load), timeout=0.01)
    load.release.set()
    assert await patient == ["answer 1"] and load.calls == 1


async def test_modals_opened_while_linode_is_slow_share_one_catalogue_read(world: VpsWorld) -> None:
    """Three owners open the create modal at once against a Linode taking 1 s per listing."""
    owners = [await payer(world.engine, world.slack) for _ in range(3)]
    await add_plan(world.engine)
    world.linode.slow("regions.list", 1)
    world.linode.slow("images.list", 1)
    for owner in owners:
        status, _ = await world.bot.send(world.requests.slash_command(owner.slack_id, "vps create"))
        assert status == 200
    for owner in owners:
        await wait_modal(world.slack, owner, render.CREATE_CALLBACK_ID)
    assert len(world.linode.calls_to("regions.list")) == 1
    assert len(world.linode.calls_to("images.list")) == 1
