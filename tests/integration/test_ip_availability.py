"""Network IP availability over real HTTP (``network-ip-availability``, ``-details``): the
figures as neutron-tempest-plugin's test_network_ip_availability computes them (each test names
the one it mirrors) and as the reference Neutron counts pools, addresses outside them and
subnets without pools; admins only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.neutron import assert_error, create_network, create_port, create_subnet
from tests.servers import ServerProcess

URL = "/network-ip-availabilities"


def availability(api: httpx.Client, network_id: str) -> dict[str, Any]:
    response = api.get(f"{URL}/{network_id}")
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()["network_ip_availability"]
    return shown


def listed(api: httpx.Client, network_id: str) -> dict[str, Any]:
    response = api.get(URL)
    assert response.status_code == 200, response.text
    return next(
        a for a in response.json()["network_ip_availabilities"] if a["network_id"] == network_id
    )


@pytest.fixture
def member_api(server: ServerProcess) -> Iterator[httpx.Client]:
    headers = {"X-Project-Id": f"ipa-{uuid.uuid4().hex[:8]}", "X-Roles": "member,reader"}
    with httpx.Client(base_url=server.url + "/v2.0", headers=headers, timeout=30.0) as client:
        yield client


def test_list_and_show_ip_availability_before_subnet(api: httpx.Client) -> None:
    """Mirrors neutron-tempest-plugin test_network_ip_availability
    .NetworksIpAvailabilityIPv4Test.test_list_ip_availability_before_subnet and the first half
    of .test_show_ip_availability_after_subnet_and_ports_create: a network without subnets
    has 0 of 0; the body has Neutron's keys."""
    network = create_network(api, name="ipa-empty")
    shown = availability(api, network["id"])
    assert shown == {
        "network_id": network["id"],
        "network_name": "ipa-empty",
        "project_id": "admin",
        "subnet_ip_availability": [],
        "used_ips": 0,
        "total_ips": 0,
        "ip_availability_details": {
            "total_ips_in_subnet": 0,
            "total_ips_in_allocation_pool": 0,
            "used_ips_in_subnet": 0,
            "used_ips_in_allocation_pool": 0,
        },
        "tenant_id": "admin",
    }
    assert listed(api, network["id"]) == shown


@pytest.mark.parametrize(("cidr", "reserved"), [("10.90.0.0/24", 3), ("2001:db8:90::/64", 2)])
def test_ip_availability_after_subnet_ports_and_port_delete(
    api: httpx.Client, member_api: httpx.Client, cidr: str, reserved: int
) -> None:
    """Mirrors neutron-tempest-plugin test_network_ip_availability
    .NetworksIpAvailabilityIPv4Test.test_list_ip_availability_after_subnet_and_ports,
    .test_show_ip_availability_after_subnet_and_ports_create, .test_list_ip_availability_after
    _port_delete, .test_show_ip_availability_after_port_delete and
    .NetworksIpAvailabilityIPv6Test.test_list_ipv6_ip_availability_after_subnet_and_ports:
    total is the pool (the CIDR less 3 for IPv4, less 2 for IPv6), used counts ports' addresses,
    a member's own network included."""
    network = create_network(member_api)
    subnet = create_subnet(member_api, network["id"], cidr, enable_dhcp=False)
    size = 2 ** ((32 if ":" not in cidr else 128) - int(cidr.split("/")[1]))
    before = availability(api, network["id"])
    assert (before["used_ips"], before["total_ips"]) == (0, size - reserved)
    port = create_port(member_api, network["id"])
    after = availability(api, network["id"])
    assert (after["used_ips"], after["total_ips"]) == (1, size - reserved)
    assert listed(api, network["id"]) == after
    assert after["project_id"] == member_api.headers["X-Project-Id"]
    (one,) = after["subnet_ip_availability"]
    assert (one["subnet_id"], one["cidr"], one["used_ips"]) == (subnet["id"], cidr, 1)
    assert one["ip_version"] == (4 if reserved == 3 else 6)
    assert member_api.delete(f"/ports/{port['id']}").status_code == 204
    assert availability(api, network["id"])["used_ips"] == 0


def test_details_count_addresses_in_and_outside_the_pools(api: httpx.Client) -> None:
    """``network-ip-availability-details``, as the reference Neutron counts: the subnet's
    usable addresses, its pools', and the addresses held in and outside the pools; a network's
    figures are its subnets' sums, subnets in id order."""
    network = create_network(api)
    whole = create_subnet(api, network["id"], "10.91.0.0/24", enable_dhcp=False)
    pools = [{"start": "10.92.0.2", "end": "10.92.0.4"}, {"start": "10.92.0.8", "end": "10.92.0.9"}]
    split = create_subnet(
        api, network["id"], "10.92.0.0/28", enable_dhcp=False, allocation_pools=pools
    )
    outside = {"subnet_id": split["id"], "ip_address": "10.92.0.12"}
    create_port(api, network["id"], fixed_ips=[outside, {"subnet_id": whole["id"]}])
    create_port(api, network["id"], fixed_ips=[{"subnet_id": split["id"]}])
    shown = availability(api, network["id"])
    assert (shown["total_ips"], shown["used_ips"]) == (253 + 5, 3)
    assert shown["ip_availability_details"] == {
        "total_ips_in_subnet": 254 + 14,
        "total_ips_in_allocation_pool": 253 + 5,
        "used_ips_in_subnet": 3,
        "used_ips_in_allocation_pool": 2,
    }
    by_id = {s["subnet_id"]: s for s in shown["subnet_ip_availability"]}
    assert [s["subnet_id"] for s in shown["subnet_ip_availability"]] == sorted(by_id)
    assert by_id[split["id"]]["ip_availability_details"] == {
        "total_ips_in_subnet": 14,
        "total_ips_in_allocation_pool": 5,
        "used_ips_in_subnet": 2,
        "used_ips_in_allocation_pool": 1,
    }


def test_filters_and_fields(api: httpx.Client) -> None:
    """The filters Neutron takes (``network_id``, ``network_name``, ``project_id``,
    ``ip_version``: networks without subnets of that version are left out), ``fields``, and
    any other filter a 400."""
    name = f"ipa-{uuid.uuid4().hex[:6]}"
    network = create_network(api, name=name)
    create_subnet(api, network["id"], "10.93.0.0/24", enable_dhcp=False)
    v4 = api.get(URL, params={"network_name": name, "ip_version": 4}).json()
    assert [a["network_id"] for a in v4["network_ip_availabilities"]] == [network["id"]]
    v6 = api.get(URL, params={"network_id": network["id"], "ip_version": 6}).json()
    assert v6["network_ip_availabilities"] == []
    picked = api.get(URL, params={"network_id": network["id"], "fields": ["used_ips"]}).json()
    assert picked["network_ip_availabilities"] == [{"used_ips": 0}]
    shown = api.get(f"{URL}/{network['id']}", params={"fields": "total_ips"}).json()
    assert shown == {"network_ip_availability": {"total_ips": 253}}
    assert_error(api.get(URL, params={"bogus": "1"}), 400)


def test_members_see_nothing_and_unknown_networks_are_404(
    api: httpx.Client, member_api: httpx.Client
) -> None:
    """Mirrors neutron-tempest-plugin test_network_ip_availability_negative
    .test_network_availability_nonexistent_network_id; as Neutron's policy, a member's list is
    empty and its show a 404, even of its own network."""
    assert_error(api.get(f"{URL}/{uuid.uuid4()}"), 404, "NetworkNotFound")
    network = create_network(member_api)
    assert member_api.get(URL).json() == {"network_ip_availabilities": []}
    assert_error(member_api.get(f"{URL}/{network['id']}"), 404, "HTTPNotFound")
