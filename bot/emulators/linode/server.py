"""An in-process Linode: a real aiohttp server speaking API v4 for the unchanged linode-api4 SDK.

``LinodeClient(token, base_url=emulator.base_url)`` works against it as against api.linode.com,
so tests and the sandbox exercise the SDK's real HTTP paths, including its silent retries. State
lives in ``state``/``network``/``events``; this module owns the HTTP edge: auth, routing, faults,
rate-limit headers and recording.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.emulators.base import CallLog, EmulatorServer, FaultPlan, retry_after_header
from bot.emulators.base.recording import WAIT_TIMEOUT
from bot.emulators.linode.faults import LinodeFault
from bot.emulators.linode.fixtures import Catalogue
from bot.emulators.linode.listing import parse_filter
from bot.emulators.linode.recording import Call, describe
from bot.emulators.linode.routes import ROUTE_KEYS, UNKNOWN_ROUTE, ApiRequest, Route, resolve
from bot.emulators.linode.state import Account, Durations
from bot.emulators.linode.wire import Clock, LinodeApiError, error_body

RATE_LIMIT = 800  # requests per RATE_WINDOW seconds, the documented account-wide limit
RATE_WINDOW = 120.0
_INVALID = object()  # a body that is not JSON at all, told apart from a JSON null


@dataclass(frozen=True)
class Incoming:
    """The parts of a request every answer is recorded with."""

    route_key: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class LinodeEmulator(EmulatorServer):
    """A stateful fake Linode account served on 127.0.0.1 at an ephemeral port."""

    def __init__(
        self,
        *,
        token: str = "emu-linode-token",  # noqa: S107 - a fake account's fake token
        clock: Clock = time.time,
        boot_seconds: float = 2.0,
        shutdown_seconds: float = 1.0,
        reboot_seconds: float = 2.0,
        rebuild_seconds: float = 3.0,
        resize_seconds: float = 3.0,
        provision_seconds: float = 1.0,
        backup_seconds: float = 3.0,
        restore_seconds: float = 3.0,
        stats_delay_seconds: float = 300.0,
    ) -> None:
        super().__init__(base_path="/v4")
        self.clock = clock
        self.catalogue = Catalogue()
        durations = Durations(
            provision=provision_seconds,
            boot=boot_seconds,
            shutdown=shutdown_seconds,
            reboot=reboot_seconds,
            rebuild=rebuild_seconds,
            resize=resize_seconds,
            backup=backup_seconds,
            restore=restore_seconds,
            stats_delay=stats_delay_seconds,
        )
        self._account = Account(clock, durations, self.catalogue)
        self._token = token
        #: What X-OAuth-Scopes says about the token: "*" (all, as a full-access personal token) or a
        #: space-separated list such as "linodes:read_write ips:read_only". Reported, not enforced.
        self.scopes = "*"
        self._faults: FaultPlan[LinodeFault] = FaultPlan(ROUTE_KEYS)
        self._recent: deque[float] = deque()
        self.calls: CallLog[Call] = CallLog(lambda call: call.route_key, describe)

    def build_app(self) -> web.Application:
        """Every path goes to one handler, which routes like the API (``base_url`` ends in ``/v4``)."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    @property
    def token(self) -> str:
        return self._token

    def set_token(self, token: str) -> None:
        """Rotate the accepted token; requests with the old one now get 401."""
        self._token = token

    def advance(self, seconds: float) -> None:
        """Move an injected fake clock (one with ``advance``) forward."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError("advance() needs a clock with an advance(seconds) method, e.g. FakeClock")
        advance(seconds)

    # --- faults --------------------------------------------------------------------------------

    def fail(
        self,
        route_key: str,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: float | None = None,
        delay: float = 0.0,
        body: dict[str, Any] | None = None,
        after_effect: bool = False,
    ) -> None:
        """Answer the next ``times`` requests of ``route_key`` with ``status`` after ``delay`` s.

        Args:
            route_key: one of ``ROUTE_KEYS`` (``"instances.create"``, ``"ips.rdns"``, …).
            status: the HTTP status; a 429 always carries ``Retry-After`` (default 1 s).
            retry_after: seconds for ``Retry-After``, rounded up (urllib3 only parses integers).
            body: the JSON answered; defaults to ``{"errors": [{"reason": <status phrase>}]}``.
            after_effect: perform the real action first, then answer with the fault, as a
                gateway error on a create that did create the server looks to the client.
        """
        if status == 429 and retry_after is None:
            retry_after = 1.0
        fault = LinodeFault(
            status=status, retry_after=retry_after, delay=delay, remaining=times, body=body, after_effect=after_effect
        )
        self._faults.add(route_key, fault)

    def slow(self, route_key: str, seconds: float) -> None:
        """Delay every request of ``route_key`` by ``seconds`` (real time) until ``clear_faults``."""
        self._faults.slow(route_key, seconds)

    def clear_faults(self) -> None:
        self._faults.clear()
        self._account.network.rdns_resolves = True

    def set_rdns_resolves(self, resolves: bool) -> None:
        """When False, setting rDNS fails with 400 on ``rdns``, as when forward DNS is missing."""
        self._account.network.rdns_resolves = resolves

    # --- state inspection and test hooks -------------------------------------------------------

    @property
    def instances(self) -> dict[int, dict[str, Any]]:
        """Every instance by id, as ``GET /linode/instances/{id}`` would show it now."""
        self._account.tick()
        return {i: inst.to_api() for i, inst in self._account.instances.items()}

    def instance_by_label(self, label: str) -> dict[str, Any] | None:
        found = self._account.by_label(label)
        return found.to_api() if found else None

    @property
    def events(self) -> list[dict[str, Any]]:
        """Visible events, newest first (the API's default order)."""
        now = self._account.tick()
        return sorted(self._account.events.visible(now), key=lambda e: e["id"], reverse=True)

    def ip(self, address: str) -> dict[str, Any] | None:
        found = self._account.network.ips.get(address)
        return found.to_api() if found else None

    def set_status(self, linode_id: int, status: str) -> None:
        """Force ``status`` (e.g. ``billing_suspension``), cancelling any transition in flight."""
        self._account.set_status(linode_id, status)

    def remove_instance(self, linode_id: int) -> None:
        """Delete an instance behind the bot's back: no event, its label and IPs are freed."""
        self._account.remove(linode_id)

    def seed_instance(
        self,
        label: str,
        *,
        type: str = "g6-nanode-1",
        region: str = "us-east",
        image: str | None = "linode/debian12",
        status: str = "running",
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        """An instance that already exists, without requests, transitions or events."""
        body: dict[str, Any] = {"label": label, "type": type, "region": region, "tags": tags or []}
        if image is not None:
            body |= {"image": image, "root_pass": "Seeded-Instance-Pass-1"}
        return self._account.seed(body, status)

    def restore_instance(
        self,
        linode_id: int,
        *,
        label: str,
        type: str,
        region: str,
        image: str | None,
        status: str = "running",
        ipv4: str | None = None,
    ) -> dict[str, Any]:
        """Bring back an instance by its id, as it was (the sandbox restarts its in-memory Linode with
        the servers its database remembers). Later creates get higher ids."""
        body = {"label": label, "type": type, "region": region, "image": image}
        return self._account.restore(linode_id, body, status, ipv4)

    def add_firewall(self, label: str, *, status: str = "enabled") -> dict[str, Any]:
        """A Cloud Firewall on the account (default rules: SSH and web in, everything out)."""
        return self._account.firewalls.add(label, status=status).to_api()

    @property
    def firewalls(self) -> dict[int, dict[str, Any]]:
        return {i: f.to_api() for i, f in self._account.firewalls.firewalls.items()}

    def add_backup(
        self, linode_id: int, *, label: str | None = None, kind: str = "auto", age: float = 3600.0,
        failed: bool = False,
    ) -> dict[str, Any]:  # fmt: skip
        """A backup that finished ``age`` seconds ago (Linode takes automatic ones on its schedule)."""
        return self._account.add_backup(linode_id, label=label, kind=kind, age=age, failed=failed)

    def backups(self, linode_id: int) -> dict[str, Any]:
        """``GET …/backups`` as it would answer now."""
        return self._account.backups_list(linode_id)

    def age_instance(self, linode_id: int, seconds: float) -> None:
        """Move an instance's creation ``seconds`` into the past (its statistics then cover that time)."""
        self._account.get(linode_id).created -= seconds

    def set_stats_delay(self, seconds: float) -> None:
        """How long after creation ``GET …/stats`` still answers "Stats are unavailable at this time."."""
        self._account.durations = dataclasses.replace(self._account.durations, stats_delay=seconds)

    def set_transfer_used(self, linode_id: int, used_bytes: int) -> None:
        self._account.get(linode_id).transfer_used = used_bytes

    def stats(self, linode_id: int) -> dict[str, Any]:
        """``GET …/stats`` as it would answer now (raises LinodeApiError while unavailable)."""
        return self._account.stats(linode_id)

    # --- recording -----------------------------------------------------------------------------

    def calls_to(self, route_key: str) -> list[Call]:
        return self.calls.to(route_key)

    async def wait_for(
        self,
        route_key: str,
        count: int = 1,
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109 - a deadline for polling recorded calls, not for I/O
        predicate: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until ``count`` requests of ``route_key`` (matching ``predicate``) were answered."""
        return await self.calls.wait_for(route_key, count, timeout, predicate or (lambda call: True))

    # --- HTTP edge -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        route, params, path_known = resolve(request.method, request.path)
        raw = await request.read()
        incoming = Incoming(
            route.key if route else UNKNOWN_ROUTE,
            request.method,
            request.path,
            dict(request.query),
            {k.lower(): v for k, v in request.headers.items()},
            _parse_json(raw),
        )
        if seconds := self._faults.slowness(incoming.route_key):
            await asyncio.sleep(seconds)
        if incoming.headers.get("authorization", "") != f"Bearer {self._token}":
            return self._answer(incoming, 401, error_body("Invalid Token"))
        scopes = {"X-OAuth-Scopes": self.scopes}  # Linode sends the token's scopes with every answer
        if route is None:
            if path_known:
                return self._answer(incoming, 405, error_body("Method Not Allowed"), extra=scopes)
            return self._answer(incoming, 404, error_body("Not found"), extra=scopes)
        fault = self._faults.take(route.key)
        if fault is not None and not fault.after_effect:
            await fault.hold()
            return self._answer(incoming, fault.status, fault.answer(), fault, extra=scopes)
        status, payload = self._serve(route, params, incoming)
        if fault is not None:  # after_effect: the action happened, the client hears otherwise
            await fault.hold()
            return self._answer(incoming, fault.status, fault.answer(), fault, extra=scopes)
        return self._answer(incoming, status, payload, extra=scopes)

    def _serve(self, route: Route, params: dict[str, str], incoming: Incoming) -> tuple[int, Any]:
        body = incoming.body
        if body is _INVALID or (body is not None and not isinstance(body, dict)):
            return 400, error_body("Request body must be a JSON object")
        try:
            filters = parse_filter(incoming.headers.get("x-filter"))
            api_request = ApiRequest(params, body or {}, incoming.query, filters)
            return 200, route.handler(self._account, api_request)
        except LinodeApiError as exc:
            return exc.status, exc.to_body()

    def _answer(
        self,
        incoming: Incoming,
        status: int,
        payload: Any,
        fault: LinodeFault | None = None,
        *,
        extra: dict[str, str] | None = None,
    ) -> web.Response:
        now = self.clock()
        headers = {**self._rate_headers(now), **(extra or {})}
        if fault is not None and (fault.retry_after is not None or status == 429):
            headers.update(retry_after_header(fault.retry_after, floor=1))
        self.calls.append(
            Call(
                route_key=incoming.route_key,
                method=incoming.method,
                path=incoming.path,
                query=incoming.query,
                headers=incoming.headers,
                body=None if incoming.body is _INVALID else copy.deepcopy(incoming.body),
                status=status,
                response=copy.deepcopy(payload),
                at=now,
                faulted=fault is not None,
            )
        )
        return web.json_response(payload, status=status, headers=headers)

    def _rate_headers(self, now: float) -> dict[str, str]:
        """``X-RateLimit-*`` over a sliding window; informative only, never enforced."""
        while self._recent and self._recent[0] <= now - RATE_WINDOW:
            self._recent.popleft()
        self._recent.append(now)
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(max(0, RATE_LIMIT - len(self._recent))),
            "X-RateLimit-Reset": str(int(self._recent[0] + RATE_WINDOW)),
        }


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _INVALID
