"""Shared plumbing for benchmarks: a throwaway migrated database, server processes, load, stats."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.db.engine import create_engine, plain_url, with_database
from bot.db.migrate import migrate


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A migrated database on TEST_DATABASE_URL/DATABASE_URL's server (or 127.0.0.1), dropped after."""
    server = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    server = with_database(server or "postgresql://postgres@127.0.0.1:5432/postgres", "postgres")
    name = f"csbot_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(plain_url(server))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server, name)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    await migrate(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def server_process(args: Sequence[str], env: dict[str, str], port: int) -> AsyncIterator[str]:
    """Start a server subprocess and wait for its /healthz."""
    process = await asyncio.create_subprocess_exec(
        *args, env={**os.environ, **env}, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    async with session.get(base + "/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"server {args} never became healthy")
        yield base
    finally:
        process.terminate()
        await process.wait()


@dataclass(frozen=True)
class LoadResult:
    label: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000

    def line(self) -> str:
        return (
            f"{self.label:<28} {self.throughput:8.0f} req/s   p50 {self.percentile(0.50):6.1f} ms   "
            f"p99 {self.percentile(0.99):6.1f} ms   max {max(self.latencies) * 1000:6.1f} ms   errors {self.errors}"
        )


async def run_load(
    label: str, url: str, make_request: Callable[[int], tuple[bytes, dict[str, str]]], total: int, concurrency: int
) -> LoadResult:
    """Send `total` POSTs with `concurrency` workers; the request builder gets the request number."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for n in counter:
            body, headers = make_request(n)
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(label, total, elapsed, latencies, errors)


def summary(values: Sequence[float]) -> str:
    return f"median {statistics.median(values):.1f}"
