"""Cloud Firewalls of the account and their devices (the services each one protects).

Rules as Linode documents them: a firewall may protect many services, a service may have one
*enabled* firewall at a time, devices are ``linode`` entities here. A deleted instance leaves
every firewall it was on. Reasons Linode does not publish are our own wording.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.emulators.linode.wire import api_time, bad_request, not_found

ALREADY_PROTECTED = "Linode {id} already has an active firewall"


@dataclass
class Device:
    id: int
    entity: dict[str, Any]
    created: float

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "entity": dict(self.entity), "created": api_time(self.created),
                "updated": api_time(self.created)}  # fmt: skip


@dataclass
class Firewall:
    id: int
    label: str
    status: str
    rules: dict[str, Any]
    tags: list[str]
    created: float
    devices: dict[int, Device] = field(default_factory=dict)

    def protects(self, linode_id: int) -> Device | None:
        return next((d for d in self.devices.values() if d.entity["id"] == linode_id), None)

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "status": self.status,
            "rules": dict(self.rules),
            "tags": list(self.tags),
            "created": api_time(self.created),
            "updated": api_time(self.created),
            "entities": [dict(d.entity) for d in self.devices.values()],
        }


def default_rules(label: str) -> dict[str, Any]:
    inbound = [
        {"action": "ACCEPT", "protocol": "TCP", "ports": "22, 80, 443", "label": "accept-web-ssh",
         "description": None, "addresses": {"ipv4": ["0.0.0.0/0"], "ipv6": ["::/0"]}},
    ]  # fmt: skip
    fingerprint = hashlib.sha1(label.encode()).hexdigest()[:8]  # noqa: S324 - an id, not security
    return {"inbound": inbound, "inbound_policy": "DROP", "outbound": [], "outbound_policy": "ACCEPT",
            "fingerprint": fingerprint, "version": 1}  # fmt: skip


class Firewalls:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.firewalls: dict[int, Firewall] = {}
        self._next_id = 9_100_001
        self._next_device = 7_000_001

    def add(self, label: str, *, status: str = "enabled", rules: dict[str, Any] | None = None) -> Firewall:
        firewall = Firewall(self._next_id, label, status, rules or default_rules(label), [], self._clock())
        self.firewalls[firewall.id] = firewall
        self._next_id += 1
        return firewall

    def get(self, firewall_id: int) -> Firewall:
        found = self.firewalls.get(firewall_id)
        if found is None:
            raise not_found()
        return found

    def attach(self, firewall_id: int, body: dict[str, Any], entity_of: Callable[[int], dict[str, Any]]) -> Device:
        firewall = self.get(firewall_id)
        if body.get("type") != "linode":
            raise bad_request("type must be linode", "type")
        linode_id = body.get("id")
        if not isinstance(linode_id, int) or isinstance(linode_id, bool):
            raise bad_request("id is required", "id")
        entity = entity_of(linode_id)  # 404 when the Linode is not on this account
        if firewall.protects(linode_id):
            raise bad_request(f"Linode {linode_id} is already assigned to this firewall", "id")
        if firewall.status == "enabled" and any(
            other.status == "enabled" and other.protects(linode_id) for other in self.firewalls.values()
        ):
            raise bad_request(ALREADY_PROTECTED.format(id=linode_id), "id")
        device = Device(self._next_device, entity, self._clock())
        self._next_device += 1
        firewall.devices[device.id] = device
        return device

    def detach(self, firewall_id: int, device_id: int) -> None:
        if self.get(firewall_id).devices.pop(device_id, None) is None:
            raise not_found()

    def of_instance(self, linode_id: int) -> list[dict[str, Any]]:
        return [f.to_api() for f in self.firewalls.values() if f.protects(linode_id)]

    def forget_instance(self, linode_id: int) -> None:
        for firewall in self.firewalls.values():
            firewall.devices = {k: d for k, d in firewall.devices.items() if d.entity["id"] != linode_id}

    def relabel(self, linode_id: int, label: str) -> None:
        for firewall in self.firewalls.values():
            for device in firewall.devices.values():
                if device.entity["id"] == linode_id:
                    device.entity["label"] = label
