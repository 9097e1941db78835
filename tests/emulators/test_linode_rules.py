"""The Linode emulator's API rules as the real SDK meets them: validation, rDNS and the catalogue."""

from __future__ import annotations

from typing import Any

import pytest
from linode_api4 import Image, Instance, IPAddress, LinodeClient, Region
from linode_api4.objects import ExplicitNullValue

from bot.emulators.linode import WEAK_PASSWORD, LinodeEmulator
from tests.emulators.test_linode_emulator import (  # noqa: F401 - the fixtures register by import
    STRONG_PASSWORD,
    api_error,
    client_fixture,
    clock_fixture,
    emulator_fixture,
    fields,
    sdk,
    ssh_key,
)

BASE_BODY: dict[str, Any] = {
    "type": "g6-nanode-1",
    "region": "us-east",
    "image": "linode/debian12",
    "root_pass": STRONG_PASSWORD,
}


async def post_create(client: LinodeClient, **changes: Any) -> Any:
    """The SDK's raw POST, to send bodies its helpers would refuse or rewrite client-side."""
    body = {k: v for k, v in {**BASE_BODY, **changes}.items() if v is not None}
    return await sdk(client.post, "/linode/instances", data=body)


# --- create validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt!", "root_pass must be between 7 and 128 characters"),
        ("Abcdef12!", WEAK_PASSWORD),  # three classes but under 11 characters
        ("alllowercaseletters", WEAK_PASSWORD),  # long but one class
        ("lowercase-and-digits-123", None),
    ],
)
async def test_create_checks_root_pass_strength(client: LinodeClient, password: str, reason: str | None) -> None:
    if reason is None:
        assert (await post_create(client, root_pass=password))["status"] == "provisioning"
        return
    error = await api_error(lambda: client.post("/linode/instances", data={**BASE_BODY, "root_pass": password}))
    assert (error.status, error.errors, fields(error)) == (400, [reason], ["root_pass"])


@pytest.mark.parametrize("label", ["ab", "1starts-with-digit", "has space", "double--dash", "a__b", "x" * 65])
async def test_create_rejects_labels_breaking_linode_rules(client: LinodeClient, label: str) -> None:
    error = await api_error(lambda: client.post("/linode/instances", data={**BASE_BODY, "label": label}))
    assert error.status == 400 and fields(error) == ["label"]


async def test_create_reports_every_invalid_field_at_once(client: LinodeClient) -> None:
    body = {"type": "g9-huge", "region": "mars-1", "image": "linode/debian12"}

    error = await api_error(client.post, "/linode/instances", data=body)

    assert fields(error) == ["type", "region", "root_pass"]


async def test_create_rejects_unknown_image_and_malformed_ssh_keys(client: LinodeClient) -> None:
    keys = [ssh_key(), "ssh-rsa not*base64", "ssh-rsa " + ssh_key().split()[1]]
    body = {**BASE_BODY, "image": "linode/debian1", "authorized_keys": keys}

    error = await api_error(client.post, "/linode/instances", data=body)

    assert fields(error) == ["image", "authorized_keys", "authorized_keys"]
    assert error.errors[1:] == ["SSH Key 2 is not valid base64", "SSH Key 3 does not match its key-type"]


async def test_create_from_stackscript_requires_its_udfs_and_a_supported_image(client: LinodeClient) -> None:
    missing = await api_error(client.post, "/linode/instances", data={**BASE_BODY, "stackscript_id": 10079})
    not_a_choice = await api_error(
        client.post,
        "/linode/instances",
        data={**BASE_BODY, "stackscript_id": 10079, "stackscript_data": {"DB_PASSWORD": "x", "DB_ENGINE": "pg"}},
    )
    wrong_image = await api_error(
        client.post,
        "/linode/instances",
        data={
            **BASE_BODY,
            "image": "linode/fedora26",
            "stackscript_id": 10079,
            "stackscript_data": {"DB_PASSWORD": "x"},
        },
    )
    unknown = await api_error(client.post, "/linode/instances", data={**BASE_BODY, "stackscript_id": 1})

    assert fields(missing) == ["stackscript_data.DB_PASSWORD"]
    assert fields(not_a_choice) == ["stackscript_data.DB_ENGINE"]
    assert fields(wrong_image) == ["image"]
    assert fields(unknown) == ["stackscript_id"]


async def test_create_without_image_needs_no_password_and_stays_offline(
    em: LinodeEmulator, client: LinodeClient
) -> None:
    created = await post_create(client, image=None, root_pass=None, label=None, private_ip=True)

    assert created["label"] == f"linode{created['id']}"
    assert created["image"] is None and created["ipv4"][1].startswith("192.168.")
    em.advance(5)
    assert em.instances[created["id"]]["status"] == "offline"


async def test_update_through_save_enforces_label_rules_and_uniqueness(
    em: LinodeEmulator, client: LinodeClient
) -> None:
    em.seed_instance("taken")
    inst = await sdk(client.load, Instance, em.seed_instance("mine")["id"])

    inst.label = "taken"
    clash = await api_error(inst.save)
    inst.label = "renamed"
    inst.tags = ["prod"]
    assert await sdk(inst.save) is True

    assert clash.status == 400 and fields(clash) == ["label"]
    assert em.instances[inst.id]["label"] == "renamed" and em.instances[inst.id]["tags"] == ["prod"]


async def test_unknown_instance_and_out_of_range_page_size_are_api_errors(
    em: LinodeEmulator, client: LinodeClient
) -> None:
    em.seed_instance("web-1")  # fields are checked against the objects listed
    missing = await api_error(client.load, Instance, 123)
    bad_page = await api_error(client.get, "/linode/instances?page_size=10")
    bad_filter = await api_error(client.get, "/linode/instances", filters={"colour": "red"})

    assert (missing.status, missing.errors) == (404, ["Not found"])
    assert (bad_page.status, fields(bad_page)) == (400, ["page_size"])
    assert (bad_filter.status, fields(bad_filter)) == (400, ["X-Filter"])


# --- rDNS ---------------------------------------------------------------------------------------


async def test_rdns_save_updates_the_ip_and_null_resets_it(em: LinodeEmulator, client: LinodeClient) -> None:
    address = em.seed_instance("web-1")["ipv4"][0]
    ip = await sdk(client.load, IPAddress, address)
    default = ip.rdns

    ip.rdns = "web-1.example.com"
    assert await sdk(ip.save) is True
    assert em.ip(address)["rdns"] == "web-1.example.com"
    assert em.calls_to("ips.rdns")[0].body["rdns"] == "web-1.example.com"

    ip.rdns = ExplicitNullValue
    await sdk(ip.save)
    assert em.ip(address)["rdns"] == default == address.replace(".", "-") + ".ip.linodeusercontent.com"


async def test_rdns_failure_switch_and_invalid_names_fail_on_rdns_field(
    em: LinodeEmulator, client: LinodeClient
) -> None:
    address = em.seed_instance("web-1")["ipv4"][0]
    ip = await sdk(client.load, IPAddress, address)

    em.set_rdns_resolves(False)
    ip.rdns = "web-1.example.com"
    unresolved = await api_error(ip.save)
    em.set_rdns_resolves(True)
    ip.rdns = "not a hostname"
    invalid = await api_error(ip.save)

    assert (unresolved.status, fields(unresolved)) == (400, ["rdns"])
    assert (invalid.status, fields(invalid)) == (400, ["rdns"])
    assert em.ip(address)["rdns"].endswith(".ip.linodeusercontent.com")


async def test_instance_ips_have_the_shape_the_sdk_expects(em: LinodeEmulator, client: LinodeClient) -> None:
    seeded = em.seed_instance("web-1")
    inst = Instance(client, seeded["id"])

    ips = await sdk(lambda: inst.ips)

    assert [ip.address for ip in ips.ipv4.public] == seeded["ipv4"]
    assert ips.ipv6.slaac.address == seeded["ipv6"].removesuffix("/128")


# --- catalogue ----------------------------------------------------------------------------------


async def test_types_carry_price_and_region_prices(client: LinodeClient) -> None:
    types = {t.id: t for t in await sdk(lambda: list(client.linode.types()))}

    nanode = types["g6-nanode-1"]
    assert (nanode.price.hourly, nanode.price.monthly) == (0.0075, 5)
    assert {(p.id, p.monthly) for p in nanode.region_prices} == {("us-east", 20), ("ap-northeast", 20)}
    assert types["g6-standard-2"].region_prices == [] and types["g6-standard-1"].type_class == "standard"


async def test_images_with_slashes_load_by_id(em: LinodeEmulator, client: LinodeClient) -> None:
    debian = await sdk(client.load, Image, "linode/debian12")
    listed = await sdk(lambda: [i.id for i in client.images()])

    assert debian.label == "Debian 12" and em.calls_to("images.get")[0].path == "/v4/images/linode/debian12"
    assert {"linode/debian12", "linode/ubuntu24.04", "private/123"} <= set(listed)


async def test_stackscripts_mine_only_and_regions(client: LinodeClient) -> None:
    mine = await sdk(lambda: list(client.linode.stackscripts(mine_only=True)))
    every = await sdk(lambda: list(client.linode.stackscripts()))
    newark = await sdk(client.load, Region, "us-east")

    assert [s.id for s in mine] == [10079] and len(every) == 2
    assert [f.name for f in mine[0].user_defined_fields] == ["DB_PASSWORD", "DB_ENGINE"]
    assert newark.country == "us"
