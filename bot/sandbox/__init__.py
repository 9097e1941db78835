"""`csbot sandbox`: the whole bot on one machine, with no Slack, PayPal or Linode account.

``world`` starts embedded PostgreSQL, the three emulators and the real bot; ``seed`` writes the demo
data; ``console`` is the REPL a person types into; ``render`` turns Block Kit into text;
``browser`` plays the link page and PayPal's checkout; ``script`` replays a conversation from a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sys
import threading
from pathlib import Path

from bot.sandbox import seed as demo

__all__ = ["run_sandbox"]


def run_sandbox(
    data_dir: Path, *, script: Path | None = None, reset: bool = False, database_url_ignored: bool = False
) -> int:
    """Start everything, run the console (or the script), stop everything; returns the exit code."""
    lines = None
    if script is not None:
        from bot.sandbox.script import load_script  # noqa: PLC0415

        try:
            lines = load_script(script)
        except OSError as error:
            print(f"csbot sandbox: cannot read {script}: {error.strerror or error}", file=sys.stderr)
            return 2
    try:
        return asyncio.run(_main(data_dir.resolve(), lines, reset, database_url_ignored))
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
        return 130


def _write(line: str) -> None:
    print(line, flush=True)


async def _main(data_dir: Path, lines: list[str] | None, reset: bool, database_url_ignored: bool) -> int:
    from bot.sandbox.console import Console  # noqa: PLC0415 - heavy imports after argument parsing
    from bot.sandbox.world import World, configure_file_logging  # noqa: PLC0415

    world = World(data_dir, reset=reset, fresh=lines is not None)
    configure_file_logging(world.log_file)
    _write("Starting the ContainerStacks sandbox (embedded PostgreSQL, Slack/PayPal/Linode emulators, the bot)…")
    try:
        await world.start()
    except Exception as error:
        await world.stop()
        _write(f"csbot sandbox: could not start: {error}")
        _write(f"(details in {world.log_file})")
        return 1
    console = Console(world, _write)
    try:
        _banner(world, database_url_ignored)
        if lines is not None:
            from bot.sandbox.script import play  # noqa: PLC0415

            return await play(console, lines, _write)
        await _repl(console)
        return 0
    finally:
        await console.close()
        await world.stop()


def _banner(world: object, database_url_ignored: bool) -> None:
    from bot.sandbox.world import World  # noqa: PLC0415

    assert isinstance(world, World)
    _write("")
    _write("ContainerStacks sandbox — the real bot against emulated Slack, PayPal and Linode.")
    _write(f"  database  embedded PostgreSQL in {world.root / 'postgres'}")
    if database_url_ignored:
        _write("            (DATABASE_URL is set, but the sandbox always uses its own embedded server)")
    _write(f"  bot       {world.bot_url}   log: {world.log_file}")
    if world.fresh:
        _write("  note      a script plays in a fresh world of its own; the console's data is untouched")
    else:
        _write("  note      the database persists between runs (--reset starts afresh); Slack and PayPal start empty")
    if world.restored:
        _write(f"  linode    {len(world.restored)} server(s) from the database are back in the Linode emulator")
    if world.clock.offset:
        _write(f"  clock     sandbox time is {world.clock.now():%Y-%m-%d %H:%M} UTC (moved with :clock)")
    _write("  slack     two workspaces: Acme Corp (alice, bob: a customer) and ContainerStacks Support (sam:")
    _write("            staff, where the app is installed); `:install` adds the app to yours, `:as sam@support`")
    _write("  you are   @alice in #general of Acme Corp; demo accounts (Slack user → panel sign-in):")
    for user in demo.USERS:
        _write(f"    {user.handle:<6} {user.email:<34} password {user.password:<13} {user.blurb}")
    _write("  Type /cs help to start, :help for console commands, :quit to leave.")
    _write("  (For your own Slack workspace instead: `csbot manifest`, set the .env values, `csbot doctor`.)")


async def _repl(console: object) -> None:
    from bot.sandbox.console import Console  # noqa: PLC0415

    assert isinstance(console, Console)
    reader = _StdinReader(asyncio.get_running_loop(), echo=not sys.stdin.isatty())
    while True:
        _write("")
        line = await reader.read(console.prompt())
        if line is None or not await console.handle(line, reader.read):
            _write("Bye.")
            return


class _StdinReader:
    """``input()`` on a daemon thread (line editing and history on a terminal), awaited by the loop.

    A daemon thread never holds up shutdown, so Ctrl-C or :quit stop everything at once.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, *, echo: bool) -> None:
        self._loop = loop
        self._echo = echo
        self._requests: queue.SimpleQueue[tuple[str, asyncio.Future[str | None]]] = queue.SimpleQueue()
        if not echo:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401, PLC0415 - gives input() editing and history
        threading.Thread(target=self._serve, name="sandbox-stdin", daemon=True).start()

    def _serve(self) -> None:
        while True:
            prompt, future = self._requests.get()
            try:
                line: str | None = input(prompt)
            except (EOFError, KeyboardInterrupt):
                line = None
            if line is not None and self._echo:
                print(line, flush=True)
            try:
                self._loop.call_soon_threadsafe(_resolve, future, line)
            except RuntimeError:  # the loop has closed: the sandbox is stopping
                return

    async def read(self, prompt: str) -> str | None:
        future: asyncio.Future[str | None] = self._loop.create_future()
        self._requests.put((prompt, future))
        return await future


def _resolve(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)
