"""IP addresses: unique allocation from documentation ranges, per-instance views and reverse DNS.

Public IPv4 come from 203.0.113.0/24 then 198.51.100.0/24 (RFC 5737), so an emulated address
can never be mistaken for, or reach, a real host. Released addresses are only reused once both
ranges have been handed out, which keeps "the IP of the server we just deleted" distinguishable.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from bot.emulators.linode.validation import rdns_problem
from bot.emulators.linode.wire import LinodeApiError, bad_request, not_found

RDNS_NOT_RESOLVING = "Unable to verify rDNS: the domain does not resolve to this IP address"
_PUBLIC_NETS = (ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("198.51.100.0/24"))
_PRIVATE_NET = ipaddress.ip_network("192.168.128.0/17")
_SLAAC_BASE = int(ipaddress.IPv6Address("2600:3c03::f03c:95ff:fe00:0"))
_LINK_LOCAL_BASE = int(ipaddress.IPv6Address("fe80::f03c:95ff:fe00:0"))


@dataclass
class IpAddress:
    """One address as ``/networking/ips/{address}`` shows it."""

    address: str
    linode_id: int
    region: str
    public: bool
    version: int = 4
    rdns: str | None = None

    def default_rdns(self) -> str | None:
        if not self.public:
            return None
        if self.version == 4:
            return self.address.replace(".", "-") + ".ip.linodeusercontent.com"
        return None

    def to_api(self) -> dict[str, Any]:
        if self.version == 6:
            gateway, prefix, mask = "fe80::1", 64, "ffff:ffff:ffff:ffff::"
        elif self.public:
            gateway = str(next(ipaddress.ip_network(self.address + "/24", strict=False).hosts()))
            prefix, mask = 24, "255.255.255.0"
        else:
            gateway, prefix, mask = None, 17, "255.255.128.0"
        return {
            "address": self.address,
            "gateway": gateway,
            "subnet_mask": mask,
            "prefix": prefix,
            "type": f"ipv{self.version}",
            "public": self.public,
            "rdns": self.rdns,
            "linode_id": self.linode_id,
            "interface_id": None,
            "region": self.region,
            "vpc_nat_1_1": None,
        }


@dataclass(frozen=True)
class Assignment:
    """The addresses one instance holds."""

    public: str
    private: str | None
    slaac: str
    link_local: str


class Network:
    def __init__(self) -> None:
        self.ips: dict[str, IpAddress] = {}
        self._public = [str(h) for net in _PUBLIC_NETS for h in net.hosts() if not str(h).endswith(".1")]
        self._private = [str(h) for h in _PRIVATE_NET.hosts()]
        self._public_cursor = 0
        self._private_cursor = 0
        self.rdns_resolves = True

    def assign(self, linode_id: int, region: str, *, private: bool, public: str | None = None) -> Assignment:
        """New addresses for an instance; `public` asks for that IPv4 (a restored instance keeps its own)."""
        if public is None or public in self.ips:
            public = self._take(self._public, "_public_cursor")
        self._add(IpAddress(public, linode_id, region, public=True))
        self.ips[public].rdns = self.ips[public].default_rdns()
        private_ip = None
        if private:
            private_ip = self._take(self._private, "_private_cursor")
            self._add(IpAddress(private_ip, linode_id, region, public=False))
        slaac = str(ipaddress.IPv6Address(_SLAAC_BASE + linode_id % 0xFFFFFF))
        self._add(IpAddress(slaac, linode_id, region, public=True, version=6))
        link_local = str(ipaddress.IPv6Address(_LINK_LOCAL_BASE + linode_id % 0xFFFFFF))
        return Assignment(public, private_ip, slaac, link_local)

    def release(self, linode_id: int) -> None:
        for address in [a for a, ip in self.ips.items() if ip.linode_id == linode_id]:
            del self.ips[address]

    def get(self, address: str) -> dict[str, Any]:
        ip = self.ips.get(address)
        if ip is None:
            raise not_found()
        return ip.to_api()

    def set_rdns(self, address: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PUT /networking/ips/{address}``: null resets to the default name, else it must verify."""
        ip = self.ips.get(address)
        if ip is None:
            raise not_found()
        if "rdns" not in body:
            return ip.to_api()
        rdns = body["rdns"]
        if (reason := rdns_problem(rdns)) is not None:
            raise bad_request(reason, "rdns")
        if not ip.public:
            raise bad_request("rdns can only be set on public addresses", "rdns")
        if rdns is not None and not self.rdns_resolves:
            raise LinodeApiError(400, RDNS_NOT_RESOLVING, "rdns")
        ip.rdns = ip.default_rdns() if rdns is None else rdns
        return ip.to_api()

    def instance_view(self, linode_id: int, assignment: Assignment) -> dict[str, Any]:
        """``GET /linode/instances/{id}/ips`` in the shape the SDK's ``Instance.ips`` expects."""
        mine = [ip for ip in self.ips.values() if ip.linode_id == linode_id and ip.version == 4]
        slaac = self.ips[assignment.slaac].to_api()
        link_local = {**slaac, "address": assignment.link_local, "public": False, "rdns": None}
        return {
            "ipv4": {
                "public": [ip.to_api() for ip in mine if ip.public],
                "private": [ip.to_api() for ip in mine if not ip.public],
                "shared": [],
                "reserved": [],
                "vpc": [],
            },
            "ipv6": {"slaac": slaac, "link_local": link_local, "global": []},
        }

    def _add(self, ip: IpAddress) -> None:
        self.ips[ip.address] = ip

    def _take(self, pool: list[str], cursor_name: str) -> str:
        cursor: int = getattr(self, cursor_name)
        for offset in range(len(pool)):
            candidate = pool[(cursor + offset) % len(pool)]
            if candidate not in self.ips:
                setattr(self, cursor_name, cursor + offset + 1)
                return candidate
        raise bad_request("No IP addresses are available in this region")
