"""The read-only catalogue the emulator serves: plans (types), regions, images and StackScripts.

Derived from the real response bodies in ``shared/data/linode`` (prices and ``region_prices`` as
recorded there) plus the images the bot deploys (``linode/debian12``, ``linode/ubuntu24.04``).
Functions return fresh copies, so an emulator can never leak mutations into another one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

_BACKUP_REGION_PRICES = [
    {"id": "ap-west", "hourly": 0.02, "monthly": 20},
    {"id": "ap-northeast", "hourly": 0.02, "monthly": 20},
]
_RECORDED_REGION_PRICES = [
    {"id": "us-east", "hourly": 0.02, "monthly": 20},
    {"id": "ap-northeast", "hourly": 0.02, "monthly": 20},
]


def _type(
    type_id: str,
    label: str,
    type_class: str,
    *,
    disk: int,
    memory: int,
    vcpus: int,
    transfer: int,
    network_out: int,
    price: tuple[float, float],
    backups: tuple[float, float],
    region_prices: list[dict[str, Any]],
    gpus: int = 0,
) -> dict[str, Any]:
    backups_addon = {
        "price": {"hourly": backups[0], "monthly": backups[1]},
        "region_prices": copy.deepcopy(_BACKUP_REGION_PRICES),
    }
    return {
        "id": type_id,
        "label": label,
        "class": type_class,
        "disk": disk,
        "memory": memory,
        "vcpus": vcpus,
        "gpus": gpus,
        "transfer": transfer,
        "network_out": network_out,
        "accelerated_devices": 0,
        "price": {"hourly": price[0], "monthly": price[1]},
        "region_prices": copy.deepcopy(region_prices),
        "addons": {"backups": backups_addon},
        "successor": None,
    }


_TYPES: list[dict[str, Any]] = [
    _type(
        "g6-nanode-1",
        "Linode 1024",
        "nanode",
        disk=20480,
        memory=1024,
        vcpus=1,
        transfer=1000,
        network_out=1000,
        price=(0.0075, 5),
        backups=(0.003, 2),
        region_prices=_RECORDED_REGION_PRICES,
    ),
    _type(
        "g6-standard-1",
        "Linode 2048",
        "standard",
        disk=30720,
        memory=2048,
        vcpus=1,
        transfer=2000,
        network_out=1000,
        price=(0.015, 10),
        backups=(0.004, 2.5),
        region_prices=_RECORDED_REGION_PRICES,
    ),
    # Not in the recorded list: scaled from g6-standard-1 at today's list price, no overrides.
    _type(
        "g6-standard-2",
        "Linode 4096",
        "standard",
        disk=81920,
        memory=4096,
        vcpus=2,
        transfer=4000,
        network_out=4000,
        price=(0.036, 24),
        backups=(0.008, 5),
        region_prices=[],
    ),
    _type(
        "g5-highmem-1",
        "Linode 16384",
        "highmem",
        disk=20480,
        memory=16384,
        vcpus=1,
        transfer=5000,
        network_out=1000,
        price=(0.09, 60),
        backups=(0.008, 5),
        region_prices=_RECORDED_REGION_PRICES,
    ),
    _type(
        "g6-gpu-2",
        "Linode 4096",
        "gpu",
        disk=49152,
        memory=4096,
        vcpus=2,
        transfer=3000,
        network_out=1000,
        price=(0.03, 20),
        backups=(0.008, 5),
        region_prices=_RECORDED_REGION_PRICES,
        gpus=1,
    ),
]

# (id, label, country, has object storage) from regions.json; labels are the real city names.
_REGIONS = [
    ("ap-west", "Mumbai, IN", "in", False),
    ("ca-central", "Toronto, CA", "ca", False),
    ("ap-southeast", "Sydney, AU", "au", False),
    ("us-central", "Dallas, TX", "us", False),
    ("us-west", "Fremont, CA", "us", False),
    ("us-southeast", "Atlanta, GA", "us", False),
    ("us-east", "Newark, NJ", "us", True),
    ("eu-west", "London, UK", "uk", False),
    ("ap-south", "Singapore, SG", "sg", True),
    ("eu-central", "Frankfurt, DE", "de", True),
    ("ap-northeast", "Tokyo, JP", "jp", False),
]


def _region(region_id: str, label: str, country: str, object_storage: bool) -> dict[str, Any]:
    capabilities = ["Linodes", "NodeBalancers", "Block Storage", "Linode Interfaces"]
    if object_storage:
        capabilities.insert(3, "Object Storage")
    return {
        "id": region_id,
        "label": label,
        "country": country,
        "capabilities": capabilities,
        "status": "ok",
        "resolvers": {"ipv4": "192.0.2.53,192.0.2.54", "ipv6": "2001:db8::53,2001:db8::54"},
        "site_type": "core",
        "placement_group_limits": {"maximum_pgs_per_customer": 5, "maximum_linodes_per_pg": 5},
    }


def _image(
    image_id: str,
    label: str,
    vendor: str | None,
    *,
    size: int,
    created_by: str = "linode",
    is_public: bool = True,
    capabilities: tuple[str, ...] = (),
    created: str = "2017-01-01T00:01:01",
) -> dict[str, Any]:
    return {
        "id": image_id,
        "label": label,
        "vendor": vendor,
        "description": None,
        "created": created,
        "updated": "2020-07-01T04:00:00",
        "created_by": created_by,
        "deprecated": False,
        "status": "available",
        "type": "manual",
        "is_public": is_public,
        "is_shared": False,
        "size": size,
        "total_size": size,
        "eol": "2026-07-01T04:00:00",
        "expiry": None,
        "capabilities": list(capabilities),
        "tags": [],
        "regions": [{"region": "us-east", "status": "available"}],
        "image_sharing": None,
    }


_IMAGES: list[dict[str, Any]] = [
    _image("linode/debian9", "Debian 9", "Debian", size=1100),
    _image("linode/ubuntu17.04", "Ubuntu 17.04", "Ubuntu", size=1500),
    _image("linode/fedora26", "Fedora 26", "Fedora", size=1500),
    _image(
        "linode/debian12",
        "Debian 12",
        "Debian",
        size=1300,
        capabilities=("cloud-init", "distributed-sites"),
        created="2023-06-12T00:00:00",
    ),
    _image(
        "linode/ubuntu24.04",
        "Ubuntu 24.04 LTS",
        "Ubuntu",
        size=2500,
        capabilities=("cloud-init", "distributed-sites"),
        created="2024-04-25T00:00:00",
    ),
    _image(
        "private/123",
        "Gold Master",
        None,
        size=650,
        created_by="testguy",
        is_public=False,
        capabilities=("cloud-init",),
        created="2017-08-20T14:01:01",
    ),
]

# From linode_stackscripts_10079.json, made deployable on the images the bot uses. DB_PASSWORD has
# no default, so it is required; DB_ENGINE shows a constrained, optional field.
_STACKSCRIPTS: list[dict[str, Any]] = [
    {
        "id": 10079,
        "label": "a-stackscript",
        "description": "This StackScript installs and configures MySQL\n",
        "images": ["linode/debian9", "linode/debian12", "linode/ubuntu24.04"],
        "is_public": True,
        "mine": True,
        "rev_note": "Set up MySQL",
        "script": "#!/bin/bash\n",
        "created": "2018-01-01T00:01:01",
        "updated": "2018-01-01T00:01:01",
        "deployments_active": 1,
        "deployments_total": 12,
        "user_defined_fields": [
            {"name": "DB_PASSWORD", "label": "Enter the password", "example": "hunter2"},
            {
                "name": "DB_ENGINE",
                "label": "Database engine",
                "oneOf": "mysql,mariadb",
                "default": "mysql",
            },
        ],
        "user_gravatar_id": "a445b305abda30ebc766bc7fda037c37",
        "username": "myuser",
    },
    {
        "id": 10080,
        "label": "community-hello",
        "description": "A public StackScript written by someone else\n",
        "images": ["linode/debian12", "linode/ubuntu24.04"],
        "is_public": True,
        "mine": False,
        "rev_note": "",
        "script": "#!/bin/sh\necho hello\n",
        "created": "2019-01-01T00:01:01",
        "updated": "2019-01-01T00:01:01",
        "deployments_active": 40,
        "deployments_total": 310,
        "user_defined_fields": [],
        "user_gravatar_id": "0" * 32,
        "username": "someone-else",
    },
]


def types() -> dict[str, dict[str, Any]]:
    return {t["id"]: copy.deepcopy(t) for t in _TYPES}


def regions() -> dict[str, dict[str, Any]]:
    return {r[0]: _region(*r) for r in _REGIONS}


def images() -> dict[str, dict[str, Any]]:
    return {i["id"]: copy.deepcopy(i) for i in _IMAGES}


def stackscripts() -> dict[int, dict[str, Any]]:
    return {s["id"]: copy.deepcopy(s) for s in _STACKSCRIPTS}


@dataclass
class Catalogue:
    """Everything an account can deploy from; tests may add entries before starting the bot."""

    types: dict[str, dict[str, Any]] = field(default_factory=types)
    regions: dict[str, dict[str, Any]] = field(default_factory=regions)
    images: dict[str, dict[str, Any]] = field(default_factory=images)
    stackscripts: dict[int, dict[str, Any]] = field(default_factory=stackscripts)
