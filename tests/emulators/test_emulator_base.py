"""The shared emulator base: server lifecycle, fault plans and call logs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from bot.emulators.base import CallLog, EmulatorServer, Fault, FaultPlan, retry_after_header


class EchoServer(EmulatorServer):
    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/ping", self._ping)
        return app

    async def _ping(self, request: web.Request) -> web.Response:
        return web.json_response({"path": request.path})


@dataclass(frozen=True)
class Seen:
    key: str
    ok: bool


async def test_server_serves_on_a_local_port_under_its_base_path() -> None:
    server = EchoServer(base_path="/api")
    with pytest.raises(RuntimeError, match="EchoServer is not started"):
        _ = server.base_url
    async with server, aiohttp.ClientSession() as session, session.get(server.base_url + "/ping") as response:
        assert server.origin.startswith("http://127.0.0.1:")
        assert await response.json() == {"path": "/api/ping"}
    await server.stop()  # stopping twice is harmless


def test_faults_are_consumed_in_order_per_key() -> None:
    plan: FaultPlan[Fault] = FaultPlan()
    plan.add("a", Fault(status=429, remaining=2))
    plan.add("a", Fault(status=500))
    plan.add("a", Fault(status=503, remaining=0))  # a fault for no request is not queued
    assert [f.status if (f := plan.take("a")) else None for _ in range(4)] == [429, 429, 500, None]
    assert plan.take("b") is None


def test_slowness_stays_until_cleared_and_unknown_keys_are_refused() -> None:
    plan: FaultPlan[Fault] = FaultPlan(keys=("orders.create",))
    plan.slow("orders.create", 0.5)
    plan.add("orders.create", Fault(status=500))
    assert plan.slowness("orders.create") == 0.5
    plan.clear()
    assert (plan.slowness("orders.create"), plan.take("orders.create")) == (0.0, None)
    with pytest.raises(ValueError, match=r"unknown route key 'orders\.delete'"):
        plan.add("orders.delete", Fault())


def test_retry_after_is_whole_seconds_with_an_optional_floor() -> None:
    assert retry_after_header(1.2) == {"Retry-After": "2"}
    assert retry_after_header(None) == {"Retry-After": "1"}
    assert retry_after_header(0) == {"Retry-After": "0"}
    assert retry_after_header(0, floor=1) == {"Retry-After": "1"}


async def test_call_log_filters_waits_and_explains_a_timeout() -> None:
    log: CallLog[Seen] = CallLog(lambda c: c.key, lambda c: f"{c.key} ok={c.ok}")
    log.append(Seen("a", ok=False))
    asyncio.get_running_loop().call_later(0.05, log.append, Seen("a", ok=True))
    assert await log.wait_for("a", 1, 2.0, lambda c: c.ok) == [Seen("a", ok=True)]
    assert log.to("a") == list(log) and log.to("b") == []
    with pytest.raises(AssertionError) as caught:
        await log.wait_for("a", 3, 0.05, lambda c: c.ok, wanted="ok call(s)")
    assert str(caught.value).splitlines() == [
        "expected 3 ok call(s) to a within 0.05s, 1 matched",
        "  a ok=False",
        "  a ok=True",
        "all calls: a×2",
    ]
