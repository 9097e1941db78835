"""`csbot serve`: the one aiohttp app on one port, answered by one process or several.

A Python process uses one core, and a busy bot is CPU-bound in its own process long before
PostgreSQL is. With WEB_CONCURRENCY=N the first process (the primary) binds the port and runs
everything: HTTP, the scheduler, the outbox and inbox workers and Socket Mode. It then starts
N−1 helpers that accept HTTP connections on the same listening socket (inherited, as gunicorn
does: the port fails fast when taken, and a restarting helper loses no queued connection).
Helpers run no workers (nor the METRICS_PORT listener); everything they hand to the workers
goes through PostgreSQL anyway.

The primary restarts a helper that dies (with a growing delay), and on shutdown closes the
lifeline pipe every helper watches: each then stops gracefully, as it also does when the primary
is killed outright. Metrics of every process are summed (`bot.metrics.share_across_processes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.app import AppOptions, create_app
from bot.metrics import SHARED_DIRECTORY_ENV, forget_process, share_across_processes
from bot.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 30.0
#: How long the primary waits for stopping helpers (their own shutdown plus listener drain).
HELPER_STOP_SECONDS = 60.0
#: Restart delays for a helper that exits on its own: doubling from the first, reset after a healthy run.
RESTART_DELAY_SECONDS = (1.0, 30.0)
HEALTHY_RUN_SECONDS = 60.0
LISTEN_BACKLOG = 1024


@dataclass(frozen=True)
class HelperHandles:
    """What a helper inherits from its primary: the listening socket and the lifeline's read end."""

    listening_fd: int
    lifeline_fd: int


def serve(settings: Settings, database_url: str, host: str, port: int, helper: HelperHandles | None = None) -> None:
    """Serve until SIGTERM/SIGINT (the primary) or until the primary stops or dies (a helper)."""
    if helper is not None:
        _serve_helper(settings, database_url, helper)
    elif settings.web_concurrency == 1:
        _run(create_app(settings, database_url), host=host, port=port)
    else:
        _serve_primary(settings, database_url, host, port)


def _run(app: web.Application, **where: object) -> None:
    app.on_startup.append(_freeze_startup_heap)
    web.run_app(
        app,
        shutdown_timeout=SHUTDOWN_SECONDS,
        access_log=None,
        print=lambda message: print(message, file=sys.stderr),
        **where,  # type: ignore[arg-type] - host/port, or sock (+ handle_signals)
    )


async def _freeze_startup_heap(_app: object) -> None:
    """Keep what exists once the app has started (modules, Bolt, SQLAlchemy, clients: ~150k objects)
    out of the garbage collector's full passes. Each pass walked them all, a ~60 ms pause in the
    middle of serving; the benchmark's slowest acks were those pauses. The server's own process only."""
    gc.collect()
    gc.freeze()


def _serve_primary(settings: Settings, database_url: str, host: str, port: int) -> None:
    metrics_directory = tempfile.mkdtemp(prefix="csbot-metrics-")
    try:
        share_across_processes(metrics_directory)
        with _listening_socket(host, port) as listening:
            app = create_app(settings, database_url)
            helpers = Helpers(settings.web_concurrency - 1, listening.fileno(), database_url, host, port)
            app.cleanup_ctx.append(helpers.running)
            app.on_shutdown.append(helpers.release)
            _run(app, sock=listening)
    finally:
        shutil.rmtree(metrics_directory, ignore_errors=True)


def _listening_socket(host: str, port: int) -> socket.socket:
    """Bound like aiohttp's TCPSite (SO_REUSEADDR, no SO_REUSEPORT: a taken port is an error)."""
    family, kind, protocol, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, protocol)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Helpers:
    """The primary's helper processes: started with the app, restarted when they die, released at shutdown."""

    def __init__(self, count: int, listening_fd: int, database_url: str, host: str, port: int) -> None:
        self.count = count
        self.listening_fd = listening_fd
        self.env = {**os.environ, "DATABASE_URL": database_url}
        self.where = ["--host", host, "--port", str(port)]
        self.stopping = asyncio.Event()
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self._lifeline_read, self._lifeline_write = -1, -1

    async def running(self, app: web.Application) -> AsyncIterator[None]:
        self._lifeline_read, self._lifeline_write = os.pipe()
        keepers = [asyncio.create_task(self._keep_running(n), name=f"serve-helper-{n}") for n in range(self.count)]
        log.info("serve.helpers_started", extra={"helpers": self.count})
        try:
            yield
        finally:
            await self.release(app)
            _, pending = await asyncio.wait(keepers, timeout=HELPER_STOP_SECONDS)
            if pending:
                for process in self.processes.values():
                    log.warning("serve.helper_killed", extra={"pid": process.pid})
                    process.kill()
                await asyncio.wait(pending, timeout=5.0)
            for keeper in keepers:
                keeper.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)
            os.close(self._lifeline_read)

    async def release(self, _app: web.Application) -> None:
        """Shutdown has begun: restart nothing more, and let every helper see its lifeline close."""
        self.stopping.set()
        if self._lifeline_write >= 0:
            os.close(self._lifeline_write)
            self._lifeline_write = -1

    async def _keep_running(self, slot: int) -> None:
        delay = RESTART_DELAY_SECONDS[0]
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                process = await self._start()
            except OSError as error:  # out of processes or memory: try again later
                log.error("serve.helper_not_started", extra={"error": str(error), "restart_in": delay})
            else:
                self.processes[slot] = process
                code = await process.wait()
                del self.processes[slot]
                forget_process(process.pid)
                if self.stopping.is_set():
                    return
                if time.monotonic() - started > HEALTHY_RUN_SECONDS:
                    delay = RESTART_DELAY_SECONDS[0]
                log.warning("serve.helper_exited", extra={"pid": process.pid, "code": code, "restart_in": delay})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=delay)
            delay = min(delay * 2, RESTART_DELAY_SECONDS[1])

    async def _start(self) -> asyncio.subprocess.Process:
        handles = ["--listening-fd", str(self.listening_fd), "--lifeline-fd", str(self._lifeline_read)]
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", *self.where, *handles,
            env=self.env, pass_fds=(self.listening_fd, self._lifeline_read),
        )  # fmt: skip


def _serve_helper(settings: Settings, database_url: str, handles: HelperHandles) -> None:
    share_across_processes(os.environ[SHARED_DIRECTORY_ENV])
    app = create_app(settings, database_url, AppOptions(run_workers=False, socket_mode=False, metrics_listener=False))
    app.cleanup_ctx.append(_stop_once(handles.lifeline_fd))
    listening = socket.socket(fileno=handles.listening_fd)
    _run(app, sock=listening, handle_signals=False)


def _stop_once(lifeline_fd: int) -> Callable[[web.Application], AsyncIterator[None]]:
    """A helper stops gracefully once, on SIGTERM/SIGINT or when its lifeline closes, whichever is
    first. (aiohttp's own handler raises again on a second signal, cutting its cleanup short, and
    a helper is told twice when the whole process group is signalled.)"""
    requested = False

    def stop() -> None:
        nonlocal requested
        if not requested:
            requested = True
            raise web.GracefulExit()

    class Lifeline(asyncio.Protocol):
        def connection_lost(self, exc: Exception | None) -> None:
            if not requested:
                log.info("serve.lifeline_closed")  # the primary is stopping, or was killed
            stop()

    async def watching(_app: web.Application) -> AsyncIterator[None]:
        nonlocal requested
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, stop)
        transport, _ = await loop.connect_read_pipe(Lifeline, os.fdopen(lifeline_fd, "rb", buffering=0))
        yield
        requested = True  # from here on, signals and the lifeline closing change nothing
        transport.close()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)

    return watching
