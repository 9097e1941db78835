"""`csbot serve` as a real child process: its environment, a free port, waiting for health, its children."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.conftest import BOT_SECRET, BOT_TOKEN, SIGNING_SECRET


def csbot_env(**overrides: str) -> dict[str, str]:
    """This environment without the bot's own settings, plus `overrides` (so only the test's apply)."""
    skipped = ("SLACK_", "PAYPAL_", "PUBLIC_URL", "DATABASE_URL", "BOT_SECRET", "WEB_CONCURRENCY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    env.update(overrides)
    return env


def serve_settings(database_url: str, slack_api_url: str, **extra: str) -> dict[str, str]:
    """What `csbot serve` needs against the test database and the Slack emulator."""
    return {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "BOT_SECRET": BOT_SECRET,
        "SLACK_API_URL": slack_api_url,
        "LOG_FORMAT": "json",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_healthy(url: str, deadline: float) -> None:
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server never became healthy")


def is_running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may linger where PID 1 does not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children_of(pid: int) -> list[int]:
    """Running processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid and fields[0] != "Z":
                    found.append(int(entry.name))
    return sorted(found)


@dataclass
class Served:
    process: asyncio.subprocess.Process
    base: str
    log: Path


@contextlib.asynccontextmanager
async def serving(cwd: Path, **env: str) -> AsyncIterator[Served]:
    """`csbot serve` on a free port with `env`; killed on exit if the test left it running."""
    port = free_port()
    log = cwd / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
            env=csbot_env(**env), cwd=cwd, stdout=sink, stderr=sink,
        )  # fmt: skip
    served = Served(process, f"http://127.0.0.1:{port}", log)
    try:
        await wait_until_healthy(served.base, time.monotonic() + 30)
        yield served
    finally:
        if process.returncode is None:
            for child in children_of(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, 9)
            process.kill()
            await process.wait()
