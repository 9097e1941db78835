"""HTTP details every emulator needs: integer ``Retry-After`` headers and dropped connections."""

from __future__ import annotations

import asyncio
import math
from typing import NoReturn

from aiohttp import web


def retry_after_header(seconds: float | None, *, floor: int = 0) -> dict[str, str]:
    """``Retry-After`` in whole seconds (clients such as urllib3 only parse integers); 1 s by default."""
    return {"Retry-After": str(max(floor, math.ceil(1 if seconds is None else seconds)))}


def drop_connection(request: web.Request) -> NoReturn:
    """Close the socket without answering; the client sees a server disconnect.

    aiohttp treats a ``CancelledError`` from a handler as a premature disconnection and drops the
    connection quietly, which is exactly the fault being simulated.
    """
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError
