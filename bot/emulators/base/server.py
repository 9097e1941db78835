"""``EmulatorServer``: a real aiohttp app on 127.0.0.1 at an ephemeral port, started and stopped.

Emulators subclass it and supply ``build_app``; tests and the sandbox then point the real client
libraries at ``base_url``, so nothing on the client side knows it is not talking to the provider.
"""

from __future__ import annotations

from typing import Self

from aiohttp import web

SHUTDOWN_TIMEOUT = 0.5


class EmulatorServer:
    """Lifecycle and addresses of one emulator; ``base_path`` is appended to form ``base_url``."""

    def __init__(self, *, base_path: str = "") -> None:
        self._base_path = base_path
        self._runner: web.AppRunner | None = None
        self._origin: str | None = None

    def build_app(self) -> web.Application:
        """The provider's routes; called once per ``start``."""
        raise NotImplementedError

    async def start(self) -> None:
        runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        self._runner = runner
        self._origin = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``, without the provider's path prefix."""
        if self._origin is None:
            raise RuntimeError(f"{type(self).__name__} is not started; call await start() first")
        return self._origin

    @property
    def base_url(self) -> str:
        return self.origin + self._base_path
