"""Shared plumbing for benchmarks: a throwaway migrated database, server processes, load, stats."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
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


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:<port>
    pid: int


@asynccontextmanager
async def server_process(args: Sequence[str], env: dict[str, str], port: int) -> AsyncIterator[Server]:
    """Start a server subprocess and wait for its /healthz (its log goes to $CSBENCH_SERVER_LOG if set)."""
    log_path = os.environ.get("CSBENCH_SERVER_LOG")
    log = open(log_path, "ab") if log_path else None  # noqa: ASYNC230, SIM115 - once, before serving; closed below
    process = await asyncio.create_subprocess_exec(
        *args,
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log or asyncio.subprocess.DEVNULL,
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
        yield Server(base, process.pid)
    finally:
        process.terminate()
        await process.wait()
        if log is not None:
            log.close()


WRK_SCRIPT = r"""
-- Replays pre-built requests (each thread its own contiguous slice, wrapping) and prints a summary.
-- The request file holds, per request: "<header count> <body length>\n", "Name: value\n" lines, body, "\n".
local threads, created, counter = tonumber(os.getenv("CSBENCH_THREADS")), 0, 0

local function load_requests(path)
  local file = assert(io.open(path, "rb"))
  local blob = file:read("*a")
  file:close()
  local pos, items = 1, {}
  while pos <= #blob do
    local eol = blob:find("\n", pos, true)
    local header_count, body_length = blob:sub(pos, eol - 1):match("^(%d+) (%d+)$")
    pos = eol + 1
    local headers = {}
    for _ = 1, tonumber(header_count) do
      eol = blob:find("\n", pos, true)
      local name, value = blob:sub(pos, eol - 1):match("^(.-): (.*)$")
      headers[name] = value
      pos = eol + 1
    end
    body_length = tonumber(body_length)
    items[#items + 1] = {headers = headers, body = blob:sub(pos, pos + body_length - 1)}
    pos = pos + body_length + 1
  end
  return items
end

function setup(thread) thread:set("slot", created); created = created + 1 end

function init(args)
  local items = load_requests(os.getenv("CSBENCH_REQUESTS"))
  local size = math.floor(#items / threads)
  formatted = {}
  for i = 1, size do
    local item = items[slot * size + i]
    formatted[i] = wrk.format("POST", nil, item.headers, item.body)
  end
end

-- With CSBENCH_PACE_MS, each connection waits that long before each request (users, not a flood).
local pace = tonumber(os.getenv("CSBENCH_PACE_MS") or "0")
if pace > 0 then function delay() return pace end end

function request()
  counter = counter + 1
  return formatted[(counter - 1) % #formatted + 1]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("CSBENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d bad_status=%d socket=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class LoadResult:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (
            f"{self.label:<32} {self.throughput:8.0f} req/s   p50 {self.p50_ms:6.1f} ms   "
            f"p99 {self.p99_ms:6.1f} ms   max {self.max_ms:6.1f} ms   errors {self.errors}"
        )


def ensure_wrk() -> str:
    """The load tool: Debian's wrk, installed with apt-get when missing (needs root, as on CI)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (apt-get) ...", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    installed = subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env, capture_output=True)
    if installed.returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def _write_requests(path: Path, requests: Sequence[tuple[bytes, dict[str, str]]]) -> None:
    """The request file WRK_SCRIPT reads (headers must not contain newlines; bodies may)."""
    with path.open("wb") as out:
        for body, headers in requests:
            out.write(f"{len(headers)} {len(body)}\n".encode())
            for name, value in headers.items():
                out.write(f"{name}: {value}\n".encode())
            out.write(body + b"\n")


async def run_wrk(
    label: str,
    url: str,
    requests: Sequence[tuple[bytes, dict[str, str]]],
    *,
    seconds: float,
    connections: int = 32,
    threads: int = 2,
    pace_ms: int = 0,
) -> LoadResult:
    """POST the given requests with wrk for `seconds` (each wrk thread replays its own slice).

    `pace_ms` > 0: every connection pauses that long between requests, so the offered rate is at
    most connections × 1000 / pace_ms per second instead of as fast as the server answers.
    """
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory() as scratch:
        data, script = Path(scratch) / "requests.bin", Path(scratch) / "replay.lua"
        _write_requests(data, requests)
        script.write_text(WRK_SCRIPT)
        env = {
            **os.environ,
            "CSBENCH_REQUESTS": str(data),
            "CSBENCH_THREADS": str(threads),
            "CSBENCH_PACE_MS": str(pace_ms),
        }
        args = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url]
        process = await asyncio.create_subprocess_exec(*args, env=env, stdout=asyncio.subprocess.PIPE)
        output, _ = await process.communicate()
    line = next((row for row in output.decode().splitlines() if row.startswith("CSBENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{output.decode()}")
    figures = {key: int(value) for key, value in (field.split("=") for field in line.split()[1:])}
    return LoadResult(
        label=label,
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
        errors=figures["bad_status"] + figures["socket"],
    )


def child_pids(pid: int) -> list[int]:
    """The processes `pid` started (a multi-process `csbot serve`'s helpers)."""
    listed = subprocess.run(["ps", "--ppid", str(pid), "-o", "pid="], capture_output=True, text=True, check=False)
    return [int(word) for word in listed.stdout.split()]


def rss_mib(pid: int) -> float:
    """Resident memory of a process (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
