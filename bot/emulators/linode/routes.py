"""The route table: (method, path pattern) → route key → handler over the account state.

Route keys name operations the way tests think about them (``instances.create``, ``ips.rdns``);
faults, slowness and recorded calls are all addressed by them. The table is data, so the list of
supported endpoints and the list of fault keys cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.emulators.linode.listing import paginate, select
from bot.emulators.linode.state import Account
from bot.emulators.linode.wire import not_found

UNKNOWN_ROUTE = "unknown"


@dataclass(frozen=True)
class ApiRequest:
    """The parsed parts of one request a handler may use."""

    params: dict[str, str]
    body: dict[str, Any]
    query: Mapping[str, str]
    filters: dict[str, Any] | None


Handler = Callable[[Account, ApiRequest], Any]


@dataclass(frozen=True)
class Route:
    key: str
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def _id(req: ApiRequest) -> int:
    raw = req.params["id"]
    if not raw.isdigit():
        raise not_found()
    return int(raw)


def _page(records: list[dict[str, Any]], req: ApiRequest, order: tuple[str, bool] | None) -> dict[str, Any]:
    return paginate(select(records, req.filters, default_order=order), req.query)


def _catalogue_item(table: Mapping[Any, dict[str, Any]], key: Any) -> dict[str, Any]:
    item = table.get(key)
    if item is None:
        raise not_found()
    return item


def _list_instances(account: Account, req: ApiRequest) -> dict[str, Any]:
    account.tick()
    return _page([i.to_api() for i in account.instances.values()], req, ("id", False))


def _action(name: str) -> Handler:
    """Boot, shutdown, reboot, resize and delete answer 200 ``{}``: the SDK does ``"error" in resp``."""

    def handle(account: Account, req: ApiRequest) -> dict[str, Any]:
        operation = getattr(account, name)
        if name == "resize":
            operation(_id(req), req.body)
        else:
            operation(_id(req))
        return {}

    return handle


def _list_events(account: Account, req: ApiRequest) -> dict[str, Any]:
    return _page(account.events.visible(account.tick()), req, ("id", True))


def _get_event(account: Account, req: ApiRequest) -> dict[str, Any]:
    now = account.tick()
    return account.events.get(_id(req), now).to_api(now)


def _mark_seen(account: Account, req: ApiRequest) -> dict[str, Any]:
    """Marks the event and every earlier one seen, as the real endpoint does."""
    target = account.events.get(_id(req), account.tick())
    for event in account.events.events:
        if event.id <= target.id:
            event.seen = True
    return {}


def _profile(account: Account, req: ApiRequest) -> dict[str, Any]:
    """The token owner's profile; the token's scopes travel in the X-OAuth-Scopes header of every answer."""
    return {
        "username": "csbot-emulator",
        "email": "owner@emulator.linode.test",
        "uid": 1234,
        "restricted": False,
        "two_factor_auth": False,
        "timezone": "UTC",
        "email_notifications": True,
        "ip_whitelist_enabled": False,
        "lish_auth_method": "keys_only",
        "authorized_keys": None,
        "referrals": {"code": "", "url": "", "total": 0, "completed": 0, "pending": 0, "credit": 0},
        "authentication_type": "password",
        "verified_phone_number": None,
    }


def _create(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.create(req.body)


def _get_instance(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.get(_id(req)).to_api()


def _update_instance(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.update(_id(req), req.body)


def _rebuild(account: Account, req: ApiRequest) -> dict[str, Any]:
    """Unlike the other actions, rebuild answers with the Instance: the SDK repopulates from it."""
    return account.rebuild(_id(req), req.body)


def _instance_ips(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.instance_ips(_id(req))


def _get_ip(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.network.get(req.params["address"])


def _set_rdns(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.network.set_rdns(req.params["address"], req.body)


def _backups(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.backups_list(_id(req))


def _backup_action(name: str) -> Handler:
    """Enabling and cancelling backups answer 200 ``{}`` like the power actions."""

    def handle(account: Account, req: ApiRequest) -> dict[str, Any]:
        getattr(account, name)(_id(req))
        return {}

    return handle


def _snapshot(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.snapshot(_id(req), req.body)


def _restore(account: Account, req: ApiRequest) -> dict[str, Any]:
    account.restore_backup(_id(req), req.params["backup"], req.body)
    return {}


def _stats(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.stats(_id(req))


def _transfer(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.transfer(_id(req))


def _instance_firewalls(account: Account, req: ApiRequest) -> dict[str, Any]:
    return _page(account.firewalls.of_instance(account.get(_id(req)).id), req, ("id", False))


def _firewalls(account: Account, req: ApiRequest) -> dict[str, Any]:
    return _page([f.to_api() for f in account.firewalls.firewalls.values()], req, ("id", False))


def _firewall(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.firewalls.get(_id(req)).to_api()


def _devices(account: Account, req: ApiRequest) -> dict[str, Any]:
    devices = account.firewalls.get(_id(req)).devices.values()
    return _page([d.to_api() for d in devices], req, ("id", False))


def _attach(account: Account, req: ApiRequest) -> dict[str, Any]:
    return account.attach_firewall(_id(req), req.body)


def _detach(account: Account, req: ApiRequest) -> dict[str, Any]:
    device = req.params["device"]
    if not device.isdigit():
        raise not_found()
    account.firewalls.detach(_id(req), int(device))
    return {}


def _catalogue_list(table: str, order: tuple[str, bool] | None = None) -> Handler:
    def handle(account: Account, req: ApiRequest) -> dict[str, Any]:
        return _page(list(getattr(account.catalogue, table).values()), req, order)

    return handle


def _catalogue_get(table: str, numeric: bool = False) -> Handler:
    def handle(account: Account, req: ApiRequest) -> dict[str, Any]:
        key: Any = _id(req) if numeric else req.params["id"]
        return _catalogue_item(getattr(account.catalogue, table), key)

    return handle


_INSTANCE = r"/linode/instances/(?P<id>[^/]+)"
_FIREWALL = r"/networking/firewalls/(?P<id>[^/]+)"
_TABLE: list[tuple[str, str, str, Handler]] = [
    ("instances.list", "GET", r"/linode/instances", _list_instances),
    ("instances.create", "POST", r"/linode/instances", _create),
    ("instances.get", "GET", _INSTANCE, _get_instance),
    ("instances.update", "PUT", _INSTANCE, _update_instance),
    ("instances.delete", "DELETE", _INSTANCE, _action("delete")),
    ("instances.boot", "POST", _INSTANCE + "/boot", _action("boot")),
    ("instances.shutdown", "POST", _INSTANCE + "/shutdown", _action("shutdown")),
    ("instances.reboot", "POST", _INSTANCE + "/reboot", _action("reboot")),
    ("instances.rebuild", "POST", _INSTANCE + "/rebuild", _rebuild),
    ("instances.resize", "POST", _INSTANCE + "/resize", _action("resize")),
    ("instances.ips", "GET", _INSTANCE + "/ips", _instance_ips),
    ("instances.stats", "GET", _INSTANCE + "/stats", _stats),
    ("instances.transfer", "GET", _INSTANCE + "/transfer", _transfer),
    ("instances.firewalls", "GET", _INSTANCE + "/firewalls", _instance_firewalls),
    ("backups.list", "GET", _INSTANCE + "/backups", _backups),
    ("backups.snapshot", "POST", _INSTANCE + "/backups", _snapshot),
    ("backups.enable", "POST", _INSTANCE + "/backups/enable", _backup_action("backups_enable")),
    ("backups.cancel", "POST", _INSTANCE + "/backups/cancel", _backup_action("backups_cancel")),
    ("backups.restore", "POST", _INSTANCE + r"/backups/(?P<backup>[^/]+)/restore", _restore),
    ("firewalls.list", "GET", r"/networking/firewalls", _firewalls),
    ("firewalls.get", "GET", _FIREWALL, _firewall),
    ("firewalls.devices", "GET", _FIREWALL + "/devices", _devices),
    ("firewalls.attach", "POST", _FIREWALL + "/devices", _attach),
    ("firewalls.detach", "DELETE", _FIREWALL + r"/devices/(?P<device>[^/]+)", _detach),
    ("ips.get", "GET", r"/networking/ips/(?P<address>[^/]+)", _get_ip),
    ("ips.rdns", "PUT", r"/networking/ips/(?P<address>[^/]+)", _set_rdns),
    ("types.list", "GET", r"/linode/types", _catalogue_list("types")),
    ("types.get", "GET", r"/linode/types/(?P<id>[^/]+)", _catalogue_get("types")),
    ("regions.list", "GET", r"/regions", _catalogue_list("regions")),
    ("regions.get", "GET", r"/regions/(?P<id>[^/]+)", _catalogue_get("regions")),
    ("images.list", "GET", r"/images", _catalogue_list("images")),
    # Image ids contain a slash ("linode/debian12") that the SDK leaves unencoded in the path.
    ("images.get", "GET", r"/images/(?P<id>.+)", _catalogue_get("images")),
    ("stackscripts.list", "GET", r"/linode/stackscripts", _catalogue_list("stackscripts", ("id", False))),
    ("stackscripts.get", "GET", r"/linode/stackscripts/(?P<id>[^/]+)", _catalogue_get("stackscripts", numeric=True)),
    ("events.list", "GET", r"/account/events", _list_events),
    ("events.get", "GET", r"/account/events/(?P<id>[^/]+)", _get_event),
    ("events.seen", "POST", r"/account/events/(?P<id>[^/]+)/seen", _mark_seen),
    ("profile.get", "GET", r"/profile", _profile),
]

ROUTES: tuple[Route, ...] = tuple(Route(key, m, re.compile(f"/v4{p}/?"), h) for key, m, p, h in _TABLE)
ROUTE_KEYS: tuple[str, ...] = tuple(route.key for route in ROUTES)


def resolve(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """The route for ``method path`` and its parameters; the flag says the path exists at all."""
    path_known = False
    for route in ROUTES:
        if (match := route.pattern.fullmatch(path)) is None:
            continue
        path_known = True
        if route.method == method:
            return route, match.groupdict(), True
    return None, {}, path_known
