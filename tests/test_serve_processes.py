"""`csbot serve` with WEB_CONCURRENCY=2: real processes, real signals, one port.

The primary binds the port and starts a helper that accepts on the same socket; the helper is
restarted when it dies, stops when the primary stops and also when the primary is killed outright;
/metrics answered by either process counts the requests of both.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import aiohttp
import pytest

from bot.emulators.slack import SlackEmulator
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.serve_fixtures import Served, children_of, csbot_env, free_port, is_running, serve_settings, serving

T = TypeVar("T")
METRICS_TOKEN = "serve-metrics-token-0123456789abcdef01"


@pytest.fixture
def two_processes(database_url: str, slack: SlackEmulator) -> dict[str, str]:
    return serve_settings(database_url, slack.api_url, SCHEDULER_ENABLED="false", WEB_CONCURRENCY="2")


async def _until(check: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _get(url: str, **headers: str) -> tuple[int, str]:
    """One request on a connection of its own, so the kernel hands it to whichever process accepts."""
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url, timeout=10, headers=headers) as response,
    ):
        return response.status, await response.text()


def _readyz_count(metrics: str) -> float:
    found = re.search(r'csbot_http_requests_total\{method="GET",route="/readyz",status="200"\} (\S+)', metrics)
    return float(found.group(1)) if found else 0.0


async def _helper(served: Served, other_than: int | None = None) -> int:
    """The primary's helper process (a new one, when `other_than` is the one it replaces)."""

    def found() -> int:
        return next((pid for pid in children_of(served.process.pid) if pid != other_than), 0)

    return await _until(found, "a helper process")


async def test_the_helper_answers_on_the_same_port_and_metrics_count_both(
    tmp_path: Path, two_processes: dict[str, str]
) -> None:
    listener = free_port()
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    metered = {**two_processes, "METRICS_TOKEN": METRICS_TOKEN, "METRICS_PORT": str(listener)}
    async with serving(tmp_path, **metered) as served:
        helper = await _helper(served)
        await _until(lambda: served.log.read_text().count("Running on") >= 2, "the helper to listen")
        os.kill(served.process.pid, signal.SIGSTOP)  # only the helper can accept now
        try:
            answered_by_helper = [await _get(served.base + "/readyz") for _ in range(5)]
        finally:
            os.kill(served.process.pid, signal.SIGCONT)
        assert [status for status, _ in answered_by_helper] == [200] * 5
        assert is_running(helper)
        for _ in range(15):
            assert (await _get(served.base + "/readyz"))[0] == 200
        counts = [_readyz_count((await _get(served.base + "/metrics", **bearer))[1]) for _ in range(6)]
        from_listener = _readyz_count((await _get(f"http://127.0.0.1:{listener}/metrics", **bearer))[1])
        refused = await _get(served.base + "/metrics")
    assert counts == [20.0] * 6 and from_listener == 20.0  # the primary's listener sums both processes too
    assert refused == (401, "")


async def test_a_dead_helper_is_replaced_and_stopping_the_primary_stops_it(
    tmp_path: Path, two_processes: dict[str, str]
) -> None:
    async with serving(tmp_path, **two_processes) as served:
        first = await _helper(served)
        os.kill(first, signal.SIGKILL)
        replaced = await _helper(served, other_than=first)
        assert (await _get(served.base + "/healthz"))[0] == 200
        served.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(served.process.wait(), timeout=90)
    assert code == 0
    assert not is_running(replaced)
    log = served.log.read_text()
    assert '"serve.helper_exited"' in log and "Traceback" not in log


async def test_helpers_stop_by_themselves_when_the_primary_is_killed(
    tmp_path: Path, two_processes: dict[str, str]
) -> None:
    async with serving(tmp_path, **two_processes) as served:
        helper = await _helper(served)
        os.kill(served.process.pid, signal.SIGKILL)
        await served.process.wait()
        await _until(lambda: not is_running(helper), "the orphaned helper to stop")
        port = int(served.base.rsplit(":", 1)[1])
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))  # nobody holds the port any more


def test_web_concurrency_out_of_range_is_a_clear_configuration_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=csbot_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, WEB_CONCURRENCY="0"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "WEB_CONCURRENCY" in result.stderr and "1 to 16" in result.stderr
