"""The async face of linode-api4: whole operations run in one dedicated thread and return plain dicts.

linode-api4 is synchronous (requests + ``time.sleep``) and its objects lazily do network I/O when a
property is read, so no SDK object ever leaves the worker thread. One thread also keeps the
``requests.Session`` single-threaded and naturally paces creates. Each call is bounded by
``asyncio.wait_for``; the SDK itself has no timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import requests
from linode_api4 import Instance, LinodeClient
from linode_api4.errors import ApiError, UnexpectedResponseError

from bot.linode.catalogue_cache import CatalogueCache
from bot.linode.errors import LinodeError, LinodeFailure, from_api_error

log = logging.getLogger(__name__)
T = TypeVar("T")
TokenSource = Callable[[], Awaitable[str | None]]

#: Shown to Linode as the instance group/tag, as the panel does ("containerstacks").
TAG = "containerstacks"


@dataclass(frozen=True)
class CreateSpec:
    """Everything a create sends; ``authorized_keys`` must already be validated (see ``keys``)."""

    label: str
    type: str
    region: str
    image: str
    root_pass: str
    authorized_keys: tuple[str, ...] = ()
    backups: bool = False
    private_ip: bool = False
    stackscript_id: int | None = None
    stackscript_data: dict[str, str] = field(default_factory=dict)


def instance_view(raw: dict[str, Any]) -> dict[str, Any]:
    """The fields the bot uses, from a Linode Instance JSON object."""
    ipv4 = [str(a) for a in raw.get("ipv4") or []]
    public = [a for a in ipv4 if not _private(a)]
    return {
        "id": int(raw["id"]),
        "label": str(raw.get("label") or ""),
        "status": str(raw.get("status") or "unknown"),
        "type": raw.get("type"),
        "region": raw.get("region"),
        "image": raw.get("image"),
        "ipv4": public + [a for a in ipv4 if a not in public],
    }


def _private(address: str) -> bool:
    return address.startswith(("192.168.", "10.")) or address.startswith(tuple(f"172.{n}." for n in range(16, 32)))


class LinodeGateway:
    """One per process; ``close()`` shuts the worker thread down."""

    def __init__(
        self,
        base_url: str,
        token_source: TokenSource,
        *,
        timeout_seconds: float = 60.0,
        retry_interval: float = 1.0,
        retry_max: int = 3,
        poll_seconds: float = 5.0,
        max_wait_seconds: float = 900.0,
        catalogue_ttl_seconds: float = 600.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._token_source = token_source
        self.timeout_seconds = timeout_seconds
        self._retry_interval = retry_interval
        self._retry_max = retry_max
        self.poll_seconds = poll_seconds  # between single status GETs while following an action
        self.max_wait_seconds = max_wait_seconds
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linode")
        self._client: LinodeClient | None = None  # only touched in the worker thread
        self._catalogue = CatalogueCache(catalogue_ttl_seconds)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            self._client.session.close()

    async def configured(self) -> bool:
        return bool(await self._token_source())

    # --- the event-loop side ---------------------------------------------------------------------

    async def _call(self, operation: Callable[[LinodeClient], T], *, limit: float | None = None) -> T:
        token = await self._token_source()
        if not token:
            raise LinodeError(LinodeFailure.NOT_CONFIGURED)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, partial(self._run, token, operation))
        try:
            return await asyncio.wait_for(future, timeout=limit or self.timeout_seconds)
        except TimeoutError as exc:
            log.warning("linode.timeout", extra={"operation": getattr(operation, "__name__", "?")})
            raise LinodeError(LinodeFailure.UNAVAILABLE) from exc

    # --- the worker-thread side ------------------------------------------------------------------

    def _run(self, token: str, operation: Callable[[LinodeClient], T]) -> T:
        client = self._client_for(token)
        try:
            return operation(client)
        except ApiError as exc:
            raise from_api_error(exc.status, exc.json, list(exc.errors or [])) from exc
        except (requests.RequestException, UnexpectedResponseError) as exc:
            raise LinodeError(LinodeFailure.UNAVAILABLE) from exc

    def _client_for(self, token: str) -> LinodeClient:
        if self._client is None or self._client.token != token:
            if self._client is not None:
                self._client.session.close()
            # 502/408/429 are retried by the SDK (also for POST): a create that succeeded behind a 502
            # is re-sent and fails on the unique label, which create_instance() turns into adoption.
            self._client = LinodeClient(
                token,
                base_url=self._base_url,
                user_agent="containerstacks-slack-bot",
                retry_rate_limit_interval=self._retry_interval,
                retry_max=self._retry_max,
            )
        return self._client

    # --- operations ------------------------------------------------------------------------------

    async def create_instance(self, spec: CreateSpec) -> dict[str, Any]:
        """Create, or adopt the instance that already carries ``spec.label`` (a retried create)."""

        def create(client: LinodeClient) -> dict[str, Any]:
            try:
                inst = client.linode.instance_create(
                    spec.type,
                    spec.region,
                    image=spec.image,
                    root_pass=spec.root_pass,
                    authorized_keys=list(spec.authorized_keys) or None,
                    label=spec.label,
                    tags=[TAG],
                    group=TAG,
                    backups_enabled=spec.backups,
                    private_ip=spec.private_ip,
                    stackscript=spec.stackscript_id,
                    stackscript_data=spec.stackscript_data or None,
                )
                return {**instance_view(inst._raw_json), "adopted": False}
            except ApiError as exc:
                error = from_api_error(exc.status, exc.json, list(exc.errors or []))
                if not error.label_taken:
                    raise error from exc
                found = _by_label(client, spec.label)
                if found is None:
                    raise error from exc
                return {**found, "adopted": True}

        return await self._call(create)

    async def get_instance(self, linode_id: int) -> dict[str, Any]:
        return await self._call(lambda c: instance_view(c.get(f"/linode/instances/{int(linode_id)}")))

    async def find_by_label(self, label: str) -> dict[str, Any] | None:
        return await self._call(lambda c: _by_label(c, label))

    async def list_instances(self) -> list[dict[str, Any]]:
        def walk(client: LinodeClient) -> list[dict[str, Any]]:
            return [instance_view(i._raw_json) for i in client.linode.instances()]

        return await self._call(walk)

    async def power(self, linode_id: int, action: str) -> None:
        if action not in ("boot", "shutdown", "reboot"):
            raise ValueError(f"unknown power action {action!r}")

        def act(client: LinodeClient) -> None:
            getattr(Instance(client, int(linode_id)), action)()

        await self._call(act)

    async def rebuild(self, linode_id: int, image: str, root_pass: str) -> dict[str, Any]:
        def rebuild(client: LinodeClient) -> dict[str, Any]:
            inst = Instance(client, int(linode_id))
            inst.rebuild(image, root_pass=root_pass)
            return instance_view(inst._raw_json)

        return await self._call(rebuild)

    async def resize(self, linode_id: int, linode_type: str) -> None:
        await self._call(lambda c: Instance(c, int(linode_id)).resize(linode_type))

    async def delete(self, linode_id: int) -> None:
        await self._call(lambda c: Instance(c, int(linode_id)).delete())

    async def set_rdns(self, address: str, rdns: str | None) -> dict[str, Any]:
        return await self._call(lambda c: dict(c.put(f"/networking/ips/{address}", data={"rdns": rdns})))

    # --- the server page: measurements, backups, firewalls, label ----------------------------------

    async def instance_detail(self, linode_id: int) -> dict[str, Any]:
        """The whole Instance JSON (specs, backups state, created…), for the server page."""
        return await self._call(lambda c: dict(c.get(f"/linode/instances/{int(linode_id)}")))

    async def stats(self, linode_id: int) -> dict[str, Any] | None:
        """The last 24 hours of statistics, or None while Linode has none yet (a new server)."""
        try:
            raw = await self._call(lambda c: dict(c.get(f"/linode/instances/{int(linode_id)}/stats")))
        except LinodeError as error:
            if error.category is LinodeFailure.VALIDATION and any("unavailable" in r.lower() for r in error.reasons):
                return None
            raise
        data = raw.get("data")
        return dict(data) if isinstance(data, dict) else raw

    async def transfer(self, linode_id: int) -> dict[str, Any]:
        return await self._call(lambda c: dict(c.get(f"/linode/instances/{int(linode_id)}/transfer")))

    async def backups(self, linode_id: int) -> dict[str, Any]:
        return await self._call(lambda c: dict(c.get(f"/linode/instances/{int(linode_id)}/backups")))

    async def enable_backups(self, linode_id: int) -> None:
        await self._call(lambda c: c.post(f"/linode/instances/{int(linode_id)}/backups/enable"))

    async def cancel_backups(self, linode_id: int) -> None:
        await self._call(lambda c: c.post(f"/linode/instances/{int(linode_id)}/backups/cancel"))

    async def snapshot(self, linode_id: int, label: str) -> dict[str, Any]:
        path = f"/linode/instances/{int(linode_id)}/backups"
        return await self._call(lambda c: dict(c.post(path, data={"label": label})))

    async def restore_backup(self, linode_id: int, backup_id: int, *, overwrite: bool) -> None:
        path = f"/linode/instances/{int(linode_id)}/backups/{int(backup_id)}/restore"
        await self._call(lambda c: c.post(path, data={"linode_id": int(linode_id), "overwrite": overwrite}))

    async def set_backup_schedule(self, linode_id: int, day: str | None, window: str | None) -> None:
        """PUT the instance with only ``backups.schedule`` (the panel's way; null lets Linode choose)."""
        body = {"backups": {"schedule": {"day": day, "window": window}}}
        await self._call(lambda c: c.put(f"/linode/instances/{int(linode_id)}", data=body))

    async def set_label(self, linode_id: int, label: str) -> dict[str, Any]:
        """The hostname change: PUT the instance with its new ``label``."""
        return await self._call(lambda c: dict(c.put(f"/linode/instances/{int(linode_id)}", data={"label": label})))

    async def firewalls(self) -> list[dict[str, Any]]:
        return await self._call(lambda c: _every_page(c, "/networking/firewalls"))

    async def instance_firewalls(self, linode_id: int) -> list[dict[str, Any]]:
        return await self._call(lambda c: _every_page(c, f"/linode/instances/{int(linode_id)}/firewalls"))

    async def firewall_devices(self, firewall_id: int) -> list[dict[str, Any]]:
        return await self._call(lambda c: _every_page(c, f"/networking/firewalls/{int(firewall_id)}/devices"))

    async def attach_firewall(self, firewall_id: int, linode_id: int) -> dict[str, Any]:
        path = f"/networking/firewalls/{int(firewall_id)}/devices"
        return await self._call(lambda c: dict(c.post(path, data={"type": "linode", "id": int(linode_id)})))

    async def detach_firewall(self, firewall_id: int, device_id: int) -> None:
        await self._call(lambda c: c.delete(f"/networking/firewalls/{int(firewall_id)}/devices/{int(device_id)}"))

    async def ip_address(self, address: str) -> dict[str, Any]:
        return await self._call(lambda c: dict(c.get(f"/networking/ips/{address}")))

    async def _catalogue_read(self, key: str, operation: Callable[[LinodeClient], T]) -> T:
        """A catalogue read through the shared cache; keyed by token too, as accounts differ."""
        token = await self._token_source()
        result: T = await self._catalogue.get((token, key), lambda: self._call(operation))
        return result

    async def regions(self) -> list[dict[str, Any]]:
        return await self._catalogue_read(
            "regions", lambda c: [{"id": r.id, "label": r._raw_json.get("label")} for r in c.regions()]
        )

    async def types(self) -> list[dict[str, Any]]:
        """The instance types this account can create (a plan whose type is not here cannot be created)."""
        return await self._catalogue_read("types", lambda c: [{"id": t.id} for t in c.linode.types()])

    async def images(self) -> list[dict[str, Any]]:
        def public(client: LinodeClient) -> list[dict[str, Any]]:
            return [
                {"id": i.id, "label": i._raw_json.get("label") or i.id}
                for i in client.images()
                if i._raw_json.get("is_public") and not i._raw_json.get("deprecated")
            ]

        return await self._catalogue_read("images", public)

    async def stackscript(self, stackscript_id: int) -> dict[str, Any] | None:
        def load(client: LinodeClient) -> dict[str, Any] | None:
            try:
                raw = client.get(f"/linode/stackscripts/{int(stackscript_id)}")
            except ApiError as exc:
                if exc.status == 404:
                    return None
                raise
            return {
                "id": int(raw["id"]),
                "label": raw.get("label"),
                "description": raw.get("description"),
                "images": list(raw.get("images") or []),
                "user_defined_fields": list(raw.get("user_defined_fields") or []),
            }

        return await self._catalogue_read(f"stackscript:{int(stackscript_id)}", load)


def _every_page(client: LinodeClient, path: str) -> list[dict[str, Any]]:
    """Every item of a paginated collection (500 per page, Linode's largest)."""
    items: list[dict[str, Any]] = []
    page, pages = 1, 1
    while page <= pages and page <= 20:
        found = client.get(f"{path}?page={page}&page_size=500")
        items.extend(dict(i) for i in found.get("data") or [])
        pages = int(found.get("pages") or 1)
        page += 1
    return items


def _by_label(client: LinodeClient, label: str) -> dict[str, Any] | None:
    """A fresh listing filtered on the label (labels are unique per account)."""
    found = client.get("/linode/instances", filters={"label": label})
    for raw in found.get("data") or []:
        if raw.get("label") == label:
            return instance_view(raw)
    return None
